"""惠及脱贫户 counted as distinct households wherever they are served: a 脱贫户 served by two
stations of one 贫困村 counts once for it, a household that is no 脱贫户 counts nowhere, and one
served only outside the 贫困村 counts for the county and its township but not for the 贫困村.
Counted by hand on the test county with a second station (B002) in 西村 and two more
households; the kpis API, the township's API and the coverage page agree."""

from __future__ import annotations

import datetime

from backend.registry import service as registry
from backend.registry.schemas import HouseholdCreate
from tests.support import _actor, _station, push
from tests.test_county_pages import html_as
from tests.test_county_poor_villages import _sale
from tests.test_county_poverty import _page_row

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


async def test_households_served_are_distinct_per_village_township_and_county(client, world):
    b002 = await _station(world.county_id, world.poor_village_id, "B002")
    keeper = await _actor(client, world.county_id, "13700000003", "keeper", b002.id)
    for village, code in ((world.poor_village_id, "T-0003"), (world.village_id, "T-0004")):
        await registry.create_household(
            None, world.county_id, HouseholdCreate(village_id=village, code=code, poverty=True)
        )
    # An hour ago (county-local): this month's, so this year's too.
    at = datetime.datetime.now(SHANGHAI) - datetime.timedelta(hours=1)
    month, when = f"{at:%Y-%m}", at.isoformat()
    poor, other = world.household_code, world.non_poverty_household_code  # T-0001, T-0002
    sales = (
        (world.keeper_b, [_sale(1000, when, poor), _sale(1000, when, poor)]),  # B001, 西村
        (keeper, [_sale(1000, when, poor), _sale(1000, when, "T-0003"), _sale(1000, when, other)]),
        (world.keeper_a, [_sale(1000, when, "T-0004"), _sale(1000, when, other)]),  # A001, 东村
    )
    for actor, events in sales:
        assert {r["status"] for r in await push(client, actor, events)} == {"accepted"}

    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert kpis.status_code == 200, kpis.text
    year = kpis.json()["year_to_date"]
    # The county: T-0001, T-0003 and T-0004 (T-0002 is no 脱贫户), this month and this year.
    assert kpis.json()["poor_households"]["served"] == 3
    assert year["poor_households"]["served"] == 3
    # The 贫困村 西村: T-0001 (by B001 and B002, once) and T-0003; T-0004 was served in 东村.
    assert year["poor_villages"]["households_served"] == 2
    (xicun,) = year["poor_villages"]["villages"]
    assert (xicun["name"], xicun["stations"], xicun["households_served"]) == ("西村", 2, 2)

    overview = await client.get(
        f"/api/v1/townships/{world.township_id}/overview?month={month}",
        headers=world.staff.headers,
    )
    assert overview.status_code == 200, overview.text
    assert (overview.json()["month_households"], overview.json()["year_households"]) == (3, 3)
    assert {s["code"] for s in overview.json()["stations"]} == {"A001", "B001", "B002"}

    page = await client.get(
        f"/county/coverage?month={month}&lang=zh-CN", headers=html_as(world.staff)
    )
    assert page.status_code == 200, page.text
    assert _page_row(page.text, "data-village", "西村")[:4] == ["测试县镇", "西村", "2 个", "2 户"]
