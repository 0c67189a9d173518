"""A county's rebuild after a rule change writes only the rollup rows that changed
(county/store/rollup_rebuild.py), and what it leaves is what a rebuild into empty tables counts."""

from __future__ import annotations

import datetime

from backend import db
from backend.county import rollups
from backend.registry.tables import County
from tests.rollup_tables import snapshot
from tests.support import event, push, tracking
from tests.test_county_rollups import SHANGHAI, _overdue, at


async def test_a_new_return_rule_moves_the_overdue_days_as_a_rebuild_from_nothing_would(
    client, world
):
    """The rebuild after a rule change writes only the rows that changed: a day's row that
    changed is updated, a day that no longer has any is deleted, a new one inserted; the result
    is what a rebuild into empty tables counts."""

    def parcel(days_ago: int) -> dict:
        data = {"tracking_no": tracking(), "carrier": "SF", "recipient_phone": "13812345678"}
        return event("parcel.received", data, at(days_ago))

    await push(client, world.keeper_a, [parcel(9), parcel(9), parcel(7)])
    await rollups.refresh()
    today = datetime.datetime.now(SHANGHAI).date()
    days = [today - datetime.timedelta(days=n) for n in (4, 2, 0)]
    assert [await _overdue(client, world, day) for day in days] == [0, 2, 1]  # after 7 days

    await County.update({County.parcel_return_days: 5}).where(County.id == world.county_id)
    await rollups.refresh()  # the rule changed: the county rebuilt
    assert [await _overdue(client, world, day) for day in days] == [2, 1, 0]  # after 5 days
    rebuilt = await snapshot()
    async with db.write_transaction():
        await db.execute("DELETE FROM county_rollup")
    await rollups.rebuild()
    assert await snapshot() == rebuilt
