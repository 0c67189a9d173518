"""County notices: staff write one to the county, a township or a station; exactly the keepers in
scope see it in their inbox until they read it; bad input is a localized problem."""

from __future__ import annotations

import pytest


async def post_notice(client, world, staff=None, county_id=None, **body):
    body = {"scope": "county", "title": "县中心通知", "body": "本周五开展电商培训。"} | body
    return await client.post(
        f"/api/v1/counties/{county_id or world.county_id}/notices",
        json=body,
        headers={**(staff or world.staff).headers, "accept-language": "en"},
    )


async def inbox(client, actor) -> list[dict]:
    response = await client.get("/api/v1/inbox", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def titles(client, actor) -> list[str]:
    return [item["title"] for item in await inbox(client, actor)]


async def test_a_county_notice_reaches_every_keeper_of_the_county_only(client, world):
    response = await post_notice(client, world, title="全县通知")
    assert response.status_code == 201, response.text
    assert await titles(client, world.keeper_a) == ["全县通知"]
    assert await titles(client, world.keeper_b) == ["全县通知"]
    assert await titles(client, world.foreign_keeper) == []
    [item] = await inbox(client, world.keeper_a)
    assert item["kind"] == "notice" and item["body"] == "本周五开展电商培训。"
    assert item["url"].startswith("/app/")


async def test_a_station_notice_reaches_that_station_only(client, world):
    response = await post_notice(
        client, world, scope="station", target_id=str(world.station_b), title="B站通知"
    )
    assert response.status_code == 201, response.text
    assert await titles(client, world.keeper_b) == ["B站通知"]
    assert await titles(client, world.keeper_a) == []


async def test_a_township_notice_reaches_its_stations(client, world):
    response = await post_notice(
        client, world, scope="township", target_id=str(world.township_id), title="镇通知"
    )
    assert response.status_code == 201, response.text
    assert await titles(client, world.keeper_a) == ["镇通知"]
    assert await titles(client, world.keeper_b) == ["镇通知"]
    assert await titles(client, world.foreign_keeper) == []


async def test_reading_marks_it_once_and_only_for_its_keeper(client, world):
    await post_notice(client, world)
    [item] = await inbox(client, world.keeper_a)
    other = await client.post(f"/api/v1/inbox/{item['id']}/read", headers=world.keeper_b.headers)
    assert other.status_code == 404  # another keeper's item does not exist for them
    first = await client.post(f"/api/v1/inbox/{item['id']}/read", headers=world.keeper_a.headers)
    assert first.status_code == 204
    [read] = await inbox(client, world.keeper_a)
    assert read["read_at"] is not None
    again = await client.post(f"/api/v1/inbox/{item['id']}/read", headers=world.keeper_a.headers)
    assert again.status_code == 204
    [still] = await inbox(client, world.keeper_a)
    assert still["read_at"] == read["read_at"]  # idempotent: the first read stays
    [unread] = await inbox(client, world.keeper_b)
    assert unread["read_at"] is None

    listed = await client.get(
        f"/api/v1/counties/{world.county_id}/notices", headers=world.staff.headers
    )
    [notice] = listed.json()
    assert (notice["recipients"], notice["read"]) == (2, 1)
    assert notice["author_name"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"title": ""}, "notice_title_invalid", "title"),
        ({"title": "   "}, "notice_title_invalid", "title"),
        ({"title": "长" * 41}, "notice_title_invalid", "title"),
        ({"body": ""}, "notice_body_invalid", "body"),
        ({"body": "字" * 501}, "notice_body_invalid", "body"),
        ({"title": "停\x00电"}, "notice_title_invalid", "title"),  # PostgreSQL refuses NUL
        ({"body": "周五\x00停电"}, "notice_body_invalid", "body"),
        ({"scope": "township"}, "notice_target_missing", "target_id"),
        ({"scope": "station", "target_id": "not-a-uuid"}, "invalid_input", None),
        ({"scope": "province"}, "invalid_input", None),
    ],
)
async def test_bad_notices_are_refused_with_a_localized_problem(client, world, body, code, field):
    response = await post_notice(client, world, **body)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    if field:
        assert problem["field"] == field
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"])  # English, as asked
    assert await titles(client, world.keeper_a) == []


async def test_targets_of_another_county_are_refused(client, world):
    for scope, target in (("station", world.foreign_station), ("township", world.county_id)):
        response = await post_notice(client, world, scope=scope, target_id=str(target))
        assert response.status_code == 422
        assert response.json()["code"] == "notice_target_invalid"
    assert await titles(client, world.foreign_keeper) == []


async def test_the_title_limit_is_inclusive_and_chinese_first(client, world):
    response = await client.post(
        f"/api/v1/counties/{world.county_id}/notices",
        json={"scope": "county", "title": "长" * 41, "body": "x"},
        headers=world.staff.headers,
    )
    assert response.json()["detail"] == "通知标题不能为空，最多40个字。"
    ok = await post_notice(client, world, title="长" * 40, body="字" * 500)
    assert ok.status_code == 201


async def test_staff_of_another_county_cannot_send_or_list(client, world):
    response = await post_notice(client, world, staff=world.foreign_staff)
    assert response.status_code == 403
    listed = await client.get(
        f"/api/v1/counties/{world.county_id}/notices", headers=world.foreign_staff.headers
    )
    assert listed.status_code == 403
    assert await titles(client, world.keeper_a) == []


async def test_closed_stations_and_inactive_keepers_get_nothing(client, world):
    response = await client.patch(
        f"/api/v1/users/{world.keeper_b.id}", json={"active": False}, headers=world.staff.headers
    )
    assert response.status_code == 200, response.text
    created = await post_notice(client, world)
    assert created.status_code == 201
    listed = await client.get(
        f"/api/v1/counties/{world.county_id}/notices", headers=world.staff.headers
    )
    assert listed.json()[0]["recipients"] == 1


async def test_sending_a_notice_is_audited(client, world):
    from backend import db

    response = await post_notice(client, world)
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT actor, target_id FROM accounts_audit WHERE action = 'notice.created'"
        )
    assert [(str(r["actor"]), r["target_id"]) for r in rows] == [
        (str(world.staff.id), response.json()["id"])
    ]
