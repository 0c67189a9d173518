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
from backend.county.store.rollup_rows import delete_station_days

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


async def codes(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    stations: Collection[uuid.UUID] | None = None,
) -> set[str]:
    """Inside a read: the distinct households the county's stations (or these of them) served
    over [first, last]. At most the registry's households, where the (station, household)
    pairs of a year were ~46,000 rows at 300 stations."""
    sql = (
        "SELECT DISTINCT household_code FROM county_rollup_household "
        "WHERE county = $1 AND day >= $2 AND day <= $3"
    )
    if stations is not None:
        if not stations:
            return set()
        sql += f" AND station IN ({db.in_list(list(stations), 4)})"
    rows = await db.fetch(sql, county_id, first, last, *(stations or ()))
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
