"""county_rollup_household: the households each station sold for, bought for or sent a parcel
for on a county-local day (its standing sales, purchases and dispatches naming one), kept by the
rollups' refresh and rebuild beside the daily rows. 惠及脱贫户 counts the distinct 脱贫户 among
them: a year of a county is ~150,000 such entries, read here from an index, not from the log's
JSON."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Collection

from backend import db
from backend.county.calendar_months import next_month
from backend.county.store.rollup_months import date_parameter, month_of, segments
from backend.county.store.rollup_rows import chunks, delete_station_days

# The entries that name the household they served (the other types' household_code, if any,
# counts for no 惠及脱贫户).
SERVING_TYPES = ("sale.recorded", "purchase.ordered", "parcel.dispatched")

Served = dict[uuid.UUID, set[tuple[datetime.date, str]]]  # station → (day, household code)


async def replace(
    stations: list[uuid.UUID], county_id: uuid.UUID, days: set[datetime.date] | None, served: Served
) -> None:
    """Inside the caller's write: the stations' rows of these days (all their days when None)
    replaced by `served`."""
    if not stations:
        return
    await delete_station_days("county_rollup_household", stations, days)
    await db.executemany(
        "INSERT INTO county_rollup_household (station, county, day, household_code) "
        "VALUES ($1, $2, $3, $4)",
        [
            (station, county_id, day, code)
            for station in stations
            for day, code in sorted(served.get(station, ()))
            if days is None or day in days
        ],
    )


async def write_county_months(county_id: uuid.UUID, days: set[datetime.date] | None) -> None:
    """Inside the caller's write, after the stations' daily rows changed: the county's distinct
    households of the months of these days (all its months when None), made again from the daily
    rows (beside the county's sums, rollup_rows.write_totals)."""
    insert = (
        "INSERT INTO county_rollup_household_month (county, month, household_code) "
        "SELECT DISTINCT county, {month}, household_code FROM county_rollup_household "
        "WHERE county = $1"
    )
    if days is None:
        await db.execute("DELETE FROM county_rollup_household_month WHERE county = $1", county_id)
        await db.execute(insert.format(month=month_of("day")), county_id)
        return
    months = sorted({day.replace(day=1) for day in days})
    for chunk in chunks(months):
        await db.execute(
            "DELETE FROM county_rollup_household_month "
            f"WHERE county = $1 AND month IN ({db.in_list(chunk, 2)})",
            county_id,
            *chunk,
        )
    for first in months:
        last = next_month(first) - datetime.timedelta(days=1)
        await db.execute(
            insert.format(month=date_parameter(2)) + " AND day >= $2 AND day <= $3",
            county_id,
            first,
            last,
        )


async def codes(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    stations: Collection[uuid.UUID] | None = None,
) -> set[str]:
    """Inside a read: the distinct households the county's stations (or these of them) served
    over [first, last]. The whole county's whole months from their month rows, the days at
    either end (and some stations' whole range) from the daily rows: a year of a county is
    ~150,000 daily rows at 300 stations."""
    if stations is not None:
        if not stations:
            return set()
        rows = await db.fetch(
            "SELECT DISTINCT household_code FROM county_rollup_household "
            "WHERE county = $1 AND day >= $2 AND day <= $3 "
            f"AND station IN ({db.in_list(list(stations), 4)})",
            county_id,
            first,
            last,
            *stations,
        )
        return {row["household_code"] for row in rows}
    months, days = segments(first, last)
    parts: list[str] = []
    args: list[object] = [county_id]
    if months is not None:
        parts.append(
            "SELECT household_code FROM county_rollup_household_month "
            f"WHERE county = $1 AND month >= ${len(args) + 1} AND month <= ${len(args) + 2}"
        )
        args += months
    for start, end in days:
        parts.append(
            "SELECT household_code FROM county_rollup_household "
            f"WHERE county = $1 AND day >= ${len(args) + 1} AND day <= ${len(args) + 2}"
        )
        args += [start, end]
    rows = await db.fetch(" UNION ".join(parts), *args)  # UNION: each household once
    return {row["household_code"] for row in rows}


# The rows of 脱贫户 (the registry's flag today) served by a station of a 贫困村 (today's flag);
# from the stations first: SQLite then reads each one's days from the (station, day) key, ~4×
# fewer rows than the county's days. The 脱贫户 are a list made once per statement (SQLite's
# LIST SUBQUERY), not a join looking each row's household up in the registry's index: at
# 5 M events that join was half the statement (~36,000 rows a year, 52 → 31 ms).
_POOR_SERVED_BY_POOR_VILLAGES = (
    "FROM registry_station s "
    "JOIN registry_village v ON v.id = s.village AND v.poor = $4 "
    "JOIN county_rollup_household c ON c.station = s.id AND c.day >= $2 AND c.day <= $3 "
    "WHERE s.county = $1 AND c.household_code IN "
    "(SELECT code FROM registry_household WHERE county = $1 AND poverty = $4)"
)


async def poor_villages_served(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> tuple[int, dict[uuid.UUID, int]]:
    """Inside a read: how many distinct 脱贫户 the stations of the 贫困村 served over [first,
    last], and per 贫困村 with any, how many its own stations served (counted in SQL: the pairs
    were ~15,000 rows a year at 300 stations)."""
    rows = await db.fetch(
        "SELECT s.village AS village, COUNT(DISTINCT c.household_code) AS n "
        f"{_POOR_SERVED_BY_POOR_VILLAGES} GROUP BY s.village "
        "UNION ALL "
        f"SELECT NULL AS village, COUNT(DISTINCT c.household_code) AS n "
        f"{_POOR_SERVED_BY_POOR_VILLAGES}",
        county_id,
        first,
        last,
        True,
    )
    total = sum(int(row["n"]) for row in rows if row["village"] is None)
    by_village = {
        db.as_uuid(row["village"]): int(row["n"]) for row in rows if row["village"] is not None
    }
    return total, by_village
