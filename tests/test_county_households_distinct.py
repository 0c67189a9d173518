"""惠及脱贫户 counted as distinct households wherever they are served: a 脱贫户 served by two
stations of one 贫困村 counts once for it, a household that is no 脱贫户 counts nowhere, and one
served only outside the 贫困村 counts for the county and its township but not for the 贫困村.
Counted by hand on the test county with a second station (B002) in 西村 and two more
households; the kpis API, the township's API and the coverage page agree."""

from __future__ import annotations

import datetime

from piccolo.apps.migrations.tables import Migration

from backend import db
from backend.county import rollups
from backend.migrations import known_migrations, migrate
from backend.registry import service as registry
from backend.registry.schemas import HouseholdCreate
from tests.support import _actor, _station, event, push
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


async def test_a_late_entry_in_a_month_already_counted_moves_the_year_to_date(client, world):
    """The year's 惠及脱贫户 reads whole months from the county's month rows: an entry dated in
    a month already counted (a phone back from offline) is in them at the next read, an entry
    reversed leaves them, and a rebuild from the log leaves the same rows."""
    today = datetime.datetime.now(SHANGHAI).date()
    previous = today.replace(day=1) - datetime.timedelta(days=1)  # a whole month, in its year
    month, when = f"{previous:%Y-%m}", f"{previous.replace(day=15):%Y-%m-%d}T12:00:00+08:00"
    await registry.create_household(
        None, world.county_id, HouseholdCreate(village_id=world.village_id, code="T-0004",
                                               poverty=True),
    )  # fmt: skip

    async def served() -> tuple[int, int]:
        kpis = await client.get(
            f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
        )
        assert kpis.status_code == 200, kpis.text
        return (
            kpis.json()["poor_households"]["served"],
            kpis.json()["year_to_date"]["poor_households"]["served"],
        )

    first = _sale(1000, when, world.household_code)  # T-0001, a 脱贫户
    assert [r["status"] for r in await push(client, world.keeper_b, [first])] == ["accepted"]
    assert await served() == (1, 1)
    late = [_sale(1000, when, "T-0004"), _sale(1000, when, world.non_poverty_household_code)]
    assert {r["status"] for r in await push(client, world.keeper_a, late)} == {"accepted"}
    assert await served() == (2, 2)
    undo = event("entry.reversed", {"target_id": first["id"], "reason": "录错"})
    assert [r["status"] for r in await push(client, world.keeper_b, [undo])] == ["accepted"]
    assert await served() == (1, 1)
    await rollups.rebuild()
    assert await served() == (1, 1)


async def test_migrating_fills_the_month_rows_from_the_households_already_rolled_up(client, world):
    """A county rolled up before county_rollup_household_month existed: the migration that makes
    the table fills it from the daily rows, so no rebuild is needed and the figures stand."""
    when = (datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=40)).isoformat()
    sales = [
        _sale(1000, when, world.household_code),
        _sale(1000, when, world.non_poverty_household_code),
    ]
    assert {r["status"] for r in await push(client, world.keeper_b, sales)} == {"accepted"}
    await rollups.refresh()
    made = await _month_rows()
    assert len(made) == 2
    ids = [migration_id for _, migration_id in known_migrations()]
    ours = [i for i in ids if i.startswith("2026-12-06T12:00:0")]
    assert len(ours) == 2
    await db.engine().run_ddl("DROP TABLE county_rollup_household_month")
    await Migration.delete().where(Migration.name.is_in(ours))
    await migrate()
    assert await _month_rows() == made


async def _month_rows() -> list[tuple[str, ...]]:
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT county, month, household_code FROM county_rollup_household_month "
            "ORDER BY county, month, household_code"
        )
    return [tuple(str(value) for value in row.values()) for row in rows]
