"""The county's reads of its rollups search only the rows they need.

Nothing runs ANALYZE, so SQLite plans without statistics. For the county's sums of the days a
catch-up recounted it then took the (county, kind, day) index, bound by the county alone, and read
the county's whole history of rows: 160–190 ms at a year of 600 stations, inside the writer's
turn that every push waits for, at each staff page's catch-up (300 phones' p95 225 ms beside five
staff, 77 ms after; docs/performance.md, eighth session). The dashboard's check-ins read every
kind of eight weeks by the covering (county, day, …) index, and its stations' last days grouped
the county's whole window (84.7 → 54.7 ms of reads a dashboard; ninth session). The parcels a
catch-up's new entries touched were probed by (station, received day) through a year of each
station's parcels (4.5 s for 100 stations' 20 entries at 5 M events, 10 ms by tracking number;
tenth session)."""

from __future__ import annotations

import datetime
import uuid

import pytest

from backend import db
from backend.county.store import ledger_reads, rollup_rows

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize("days", [1, 3])
async def test_the_county_sums_of_a_catch_up_read_only_its_days(client, days):
    first = datetime.date(2026, 12, 6)
    touched = [first - datetime.timedelta(days=n) for n in range(days)]
    async with db.read_transaction():
        plan = await db.fetch(
            "EXPLAIN QUERY PLAN " + rollup_rows.totals_of_days(days), uuid.uuid4(), *touched
        )
    steps = [row["detail"] for row in plan]
    assert any("county_rollup_county_day (county=? AND day=?)" in step for step in steps), steps
    assert not any("county_kind_day" in step for step in steps), steps


async def test_the_dashboards_check_ins_are_read_by_their_kind(client):
    """Eight weeks of one kind read by (county, kind, day), not every kind of those days."""
    day = datetime.date(2026, 12, 6)
    async with db.read_transaction():
        plan = await db.fetch(
            "EXPLAIN QUERY PLAN " + rollup_rows.days_of_kind_sql(),
            uuid.uuid4(),
            "checkin_recorded",
            day - datetime.timedelta(weeks=8),
            day,
        )
    steps = [row["detail"] for row in plan]
    assert any("county_rollup_county_kind_day (county=? AND kind=?" in s for s in steps), steps


@pytest.mark.parametrize("negated", [False, True])
async def test_each_stations_last_day_is_searched_by_its_own_key(client, negated):
    """Each station from its last day back by (station, day, …), not the county's whole window."""
    kinds = ("checkin_recorded", "parcel_overdue")
    async with db.read_transaction():
        plan = await db.fetch(
            "EXPLAIN QUERY PLAN " + rollup_rows.last_days_sql(len(kinds), negated),
            uuid.uuid4(),
            datetime.date(2026, 11, 7),
            *kinds,
        )
    steps = [row["detail"] for row in plan]
    assert any("county_rollup_key (station=? AND day>?)" in step for step in steps), steps
    assert not any("county_rollup_county_day" in step for step in steps), steps


async def test_the_parcels_a_catch_up_touched_are_found_by_their_tracking_number(client):
    """Each new entry's parcel looked up by (station, tracking number), not through every parcel
    its station received before the cutoff."""
    stations = 3
    seq_ranges = [value for _ in range(stations) for value in (uuid.uuid4(), 10, 30)]
    async with db.read_transaction():
        plan = await db.fetch(
            "EXPLAIN QUERY PLAN " + ledger_reads.parcels_touched_sql(stations),
            *seq_ranges,
            datetime.date(2026, 12, 4),
        )
    steps = [row["detail"] for row in plan]
    assert any("(station=? AND tracking_no=?)" in step for step in steps), steps
    assert not any("received_date<?" in step for step in steps), steps
