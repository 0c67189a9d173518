"""What a county's catch-up runs inside the writer's turn reads only the days it touched.

Nothing runs ANALYZE, so SQLite plans without statistics. For the county's sums of the days a
catch-up recounted it then took the (county, kind, day) index, bound by the county alone, and read
the county's whole history of rows: 160–190 ms at a year of 600 stations, inside the writer's
turn that every push waits for, at each staff page's catch-up (300 phones' p95 225 ms beside five
staff, 77 ms after; docs/performance.md, eighth session)."""

from __future__ import annotations

import datetime
import uuid

import pytest

from backend import db
from backend.county.store import rollup_rows

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
