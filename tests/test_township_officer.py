"""The township's information officer (乡镇电商信息员, role `township`): one township's coverage,
stations and figures, by API and page; nothing of the county beyond it."""

from __future__ import annotations

import datetime

from tests.support import PASSWORD, bearer, event, login, push
from tests.test_county_pages import HTML, page_login

OFFICER = "13600000077"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def users(world) -> str:
    return f"/api/v1/counties/{world.county_id}/users"


def officer(world, **overrides) -> dict:
    body = {"phone": OFFICER, "name": "乡信息员", "password": PASSWORD, "role": "township",
            "township_id": str(world.township_id)}  # fmt: skip
    body.update(overrides)
    return body


async def make_officer(client, world) -> dict[str, str]:
    made = await client.post(users(world), json=officer(world), headers=world.staff.headers)
    assert made.status_code == 201, made.text
    assert made.json()["township_id"] == str(world.township_id)
    return bearer((await login(client, OFFICER))["token"])


def sale(amount_fen: int) -> dict:
    data = {"product": "苹果", "quantity": 1, "unit": "kg", "amount_fen": amount_fen,
            "commission_fen": 0, "channel": "抖音"}  # fmt: skip
    return event("sale.recorded", data)


async def test_the_officer_sees_the_township_counted_by_hand(client, world):
    headers = await make_officer(client, world)
    purchase = event(
        "purchase.ordered",
        {"item": "化肥", "amount_fen": 5000, "commission_fen": 200, "platform": "pinduoduo"},
    )
    assert {r["status"] for r in await push(client, world.keeper_a, [sale(30000), purchase])} == {
        "accepted"
    }
    assert {r["status"] for r in await push(client, world.keeper_b, [sale(12000)])} == {"accepted"}
    answer = await client.get(f"/api/v1/townships/{world.township_id}/overview", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # The test county's one township: 东村 (A001) and 西村 (poor, B001), both 村级服务点.
    assert body["name"] == "测试县镇"
    assert body["coverage"]["villages_covered"] == 2 and body["coverage"]["villages"] == 2
    assert body["coverage"]["poor_villages_covered"] == 1
    assert body["coverage"]["village_coverage_pct"] == 100.0
    month, year = body["month_figures"], body["year_figures"]
    assert (month["upward_sales_fen"], month["downward_sales_fen"], month["retail_fen"]) == (
        42000,
        5000,
        47000,
    )
    assert year["upward_sales_fen"] == 42000
    assert sorted(s["code"] for s in body["stations"]) == ["A001", "B001"]

    page = await page_login(client, OFFICER)
    assert page.status_code == 303 and page.headers["location"] == "/county/township"
    shown = await client.get("/county/township", headers=HTML)
    assert shown.status_code == 200
    assert "测试县镇" in shown.text and "420.00 元" in shown.text
    assert 'class="mainnav"' not in shown.text  # no county menu for an officer


async def test_the_officer_sees_nothing_beyond_the_township(client, world):
    headers = await make_officer(client, world)
    other = await client.post(
        f"/api/v1/counties/{world.county_id}/townships",
        json={"name": "远山乡"},
        headers=world.staff.headers,
    )
    assert other.status_code == 201, other.text
    elsewhere = await client.get(
        f"/api/v1/townships/{other.json()['id']}/overview", headers=headers
    )
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "township_only"
    for path in (
        f"/api/v1/counties/{world.county_id}/kpis",
        f"/api/v1/counties/{world.county_id}/stations",
        f"/api/v1/counties/{world.county_id}/users",
    ):
        refused = await client.get(path, headers=headers)
        assert refused.status_code == 403, path
    await page_login(client, OFFICER)
    for path in ("/county/", "/county/stations", "/county/coverage", "/county/scorecard"):
        assert (await client.get(path, headers=HTML)).status_code == 403, path
    # Staff of the county see any of its townships; another county's staff none.
    staff = await client.get(
        f"/api/v1/townships/{other.json()['id']}/overview", headers=world.staff.headers
    )
    assert staff.status_code == 200 and staff.json()["name"] == "远山乡"
    foreign = await client.get(
        f"/api/v1/townships/{world.township_id}/overview", headers=world.foreign_staff.headers
    )
    assert foreign.status_code == 403
    keeper = await client.get(
        f"/api/v1/townships/{world.township_id}/overview", headers=world.keeper_a.headers
    )
    assert keeper.status_code == 403


async def test_an_officer_account_names_one_township_of_the_county(client, world):
    cases = [
        (officer(world, township_id=None), "officer_needs_township"),
        (officer(world, township_id=str(world.foreign_county_id)), "unknown_township"),
        (
            officer(world, role="keeper", station_id=str(world.station_a)),
            "only_officers_have_a_township",
        ),
    ]
    for body, code in cases:
        refused = await client.post(users(world), json=body, headers=world.staff.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == code and refused.json()["field"] == "township_id"
    listed = await client.get(users(world), headers=world.staff.headers)
    assert OFFICER not in listed.text  # nothing was created
