"""county_rollup_household: the households each station sold for, bought for or sent a parcel
for on a county-local day (its standing sales, purchases and dispatches naming one), kept by the
rollups' refresh and rebuild beside the daily rows. 惠及脱贫户 counts the distinct 脱贫户 among
them: a year of a county is ~150,000 such entries, read here from an index, not from the log's
JSON."""

from __future__ import annotations

import datetime
import uuid

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


async def by_station(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> dict[uuid.UUID, set[str]]:
    """Inside a read: per station, the distinct households it served over [first, last]."""
    rows = await db.fetch(
        "SELECT DISTINCT station, household_code FROM county_rollup_household "
        "WHERE county = $1 AND day >= $2 AND day <= $3",
        county_id,
        first,
        last,
    )
    served: dict[uuid.UUID, set[str]] = {}
    for row in rows:
        served.setdefault(db.as_uuid(row["station"]), set()).add(row["household_code"])
    return served
