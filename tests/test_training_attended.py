"""A keeper's village session (`training.attended`, issue 15): synced like any entry, checked like
one, counted by the training figures as a session in the station's township on its business day
(trainees take their household's poor flag), gone when reversed, and never in the cashbook."""

from __future__ import annotations

import pytest

from tests.support import event, push

DAY = "2025-05-06T10:00:00+08:00"


def attended(trainees: list[dict], **data) -> dict:
    body = {"title": "村里的电商普及课", "kind": "ecommerce_basics", "trainees": trainees, **data}
    return event("training.attended", body, occurred_at=DAY)


async def year(client, world) -> dict:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/trainings?year=2025", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_village_session_counts_in_the_stations_township(client, world):
    entry = attended(
        [
            {"name": " 张三 ", "household_code": world.household_code.lower()},  # poor
            {"name": "李四", "household_code": world.non_poverty_household_code},
            {"name": "王五"},
        ]
    )
    assert [r["status"] for r in await push(client, world.keeper_a, [entry])] == ["accepted"]
    figures = await year(client, world)
    (session,) = figures["sessions"]
    assert (session["id"], session["held_on"], session["kind"], session["station_code"]) == (
        entry["id"], "2025-05-06", "ecommerce_basics", "A001"
    )  # fmt: skip
    assert session["township_id"] == str(world.township_id)
    assert [(t["name"], t["household_code"], t["poor"]) for t in session["trainees"]] == [
        ("张三", "T-0001", True), ("李四", "T-0002", False), ("王五", None, False)
    ]  # fmt: skip
    assert (figures["totals"]["trainee_visits"], figures["totals"]["poor_trainee_visits"]) == (3, 1)
    assert [(r["key"], r["totals"]["trainee_visits"]) for r in figures["by_month"]] == [
        ("2025-05", 3)
    ]
    assert figures["by_township"][0]["name"] == "测试县镇"
    cashbook = await client.get(
        f"/api/v1/stations/{world.station_a}/cashbook?date=2025-05-06",
        headers=world.keeper_a.headers,
    )
    assert "training_attended" not in cashbook.text  # no business: not a cashbook line

    reversal = event("entry.reversed", {"target_id": entry["id"], "reason": "记错了"})
    assert [r["status"] for r in await push(client, world.keeper_a, [reversal])] == ["accepted"]
    assert (await year(client, world))["totals"]["sessions"] == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"trainees": []}, "trainees"),
        ({"trainees": [{"name": "   "}]}, "trainees"),
        ({"kind": "cooking"}, "kind"),
        ({"title": ""}, "title"),
        ({"trainees": [{"name": "张三", "phone": "13800000000"}]}, "phone"),
    ],
)
async def test_a_bad_village_session_is_rejected(client, world, data, field):
    entry = attended([{"name": "张三"}])
    entry["data"].update(data)
    (result,) = await push(client, world.keeper_a, [entry])
    assert result["status"] == "rejected", result
    assert result["error"].get("field") == field, result
    assert (await year(client, world))["totals"]["sessions"] == 0


async def test_a_village_session_trainee_is_followed_up_like_any_other(client, world):
    """Staff note a keeper's trainee's outcome (the ledger entry stays as it was): it counts in
    the conversion and shows with the trainee; clearing it takes it back; another county's staff
    cannot reach the trainee."""
    entry = attended([{"name": "张三", "household_code": world.household_code}, {"name": "李四"}])
    assert [r["status"] for r in await push(client, world.keeper_a, [entry])] == ["accepted"]
    (session,) = (await year(client, world))["sessions"]
    zhang = session["trainees"][0]
    url = f"/api/v1/counties/{world.county_id}/trainings/trainees/{zhang['id']}/outcome"
    noted = await client.put(
        url, json={"outcome": "online_shop", "noted_on": "2025-08-01"}, headers=world.staff.headers
    )
    assert noted.status_code in (200, 204), noted.text
    figures = await year(client, world)
    (session,) = figures["sessions"]
    assert (session["trainees"][0]["outcome"], session["trainees"][0]["outcome_on"]) == (
        "online_shop",
        "2025-08-01",
    )
    assert (figures["totals"]["people"], figures["totals"]["people_converted"]) == (2, 1)

    foreign = await client.put(
        f"/api/v1/counties/{world.foreign_county_id}/trainings/trainees/{zhang['id']}/outcome",
        json={"outcome": "employed"},
        headers=world.foreign_staff.headers,
    )
    assert foreign.status_code == 404
    cleared = await client.put(url, json={"outcome": None}, headers=world.staff.headers)
    assert cleared.status_code in (200, 204), cleared.text
    assert (await year(client, world))["totals"]["people_converted"] == 0


async def test_a_village_session_trainee_who_became_leader_counts_for_the_poor_village(
    client, world
):
    """张三 of 西村 (a 贫困村), signed in by the keeper, later became the village's e-commerce
    leader: 西村 has a leader, as it would had staff recorded the session."""
    entry = attended([{"name": "张三", "household_code": world.household_code}])
    assert [r["status"] for r in await push(client, world.keeper_a, [entry])] == ["accepted"]
    (session,) = (await year(client, world))["sessions"]
    trainee = session["trainees"][0]["id"]
    noted = await client.put(
        f"/api/v1/counties/{world.county_id}/trainings/trainees/{trainee}/outcome",
        json={"outcome": "leader", "noted_on": "2025-09-01"},
        headers=world.staff.headers,
    )
    assert noted.status_code in (200, 204), noted.text
    leaders = (await year(client, world))["leaders"]
    counted = (leaders["poor_villages"], leaders["with_leader"], leaders["villages"])
    assert counted == (1, 1, ["西村"])
