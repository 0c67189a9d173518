"""Closed station-months as they were at close (county_frozen_month, county_frozen_rollup): saved
by the close, read by the rollups, the poor-village sums and the subsidy claims, dropped by the
reopen. Reads and writes run inside the caller's transaction."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import clock, db
from backend.county.store.rollup_rows import FIGURES, chunks, delete_months, insert_rows
from backend.ledger.months import month_key

_COLUMNS = ", ".join(FIGURES)


class FrozenMonth(msgspec.Struct, frozen=True):
    station: uuid.UUID
    month: str
    poor_village: bool
    fen_per_parcel: int
    farm_only: bool
    monthly_cap_fen: int
    claim: str  # JSON, "" when the station had no claim that month


class FrozenLine(msgspec.Struct, frozen=True):
    station: uuid.UUID
    day: datetime.date
    kind: str
    values: tuple[int, ...]  # rollup_rows.FIGURES, in order


async def save(
    county_id: uuid.UUID,
    month: FrozenMonth,
    lines: dict[tuple[datetime.date, str], list[int]],
) -> None:
    await db.execute(
        "INSERT INTO county_frozen_month (station, county, month, poor_village, "
        "subsidy_fen_per_parcel, subsidy_farm_only, subsidy_monthly_cap_fen, claim, frozen_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        month.station, county_id, month.month, month.poor_village, month.fen_per_parcel,
        month.farm_only, month.monthly_cap_fen, month.claim, clock.utcnow(),
    )  # fmt: skip
    await db.executemany(
        f"INSERT INTO county_frozen_rollup (station, month, day, kind, {_COLUMNS}) "
        f"VALUES ({', '.join(f'${n}' for n in range(1, len(FIGURES) + 5))})",
        [
            (month.station, month.month, day, kind, *values)
            for (day, kind), values in sorted(lines.items())
            if any(values)
        ],
    )


async def drop(station_id: uuid.UUID, month: str) -> None:
    await db.execute(
        "DELETE FROM county_frozen_rollup WHERE station = $1 AND month = $2", station_id, month
    )
    await db.execute(
        "DELETE FROM county_frozen_month WHERE station = $1 AND month = $2", station_id, month
    )


async def is_frozen(station_id: uuid.UUID, month: str) -> bool:
    rows = await db.fetch(
        "SELECT 1 FROM county_frozen_month WHERE station = $1 AND month = $2", station_id, month
    )
    return bool(rows)


async def months_of(stations: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """Each of these stations' frozen months (stations with none left out)."""
    frozen: dict[uuid.UUID, set[str]] = {}
    for chunk in chunks(stations):
        rows = await db.fetch(
            "SELECT station, month FROM county_frozen_month "
            f"WHERE station IN ({db.in_list(chunk)})",
            *chunk,
        )
        for row in rows:
            frozen.setdefault(db.as_uuid(row["station"]), set()).add(row["month"])
    return frozen


async def lines(stations: list[uuid.UUID], days: set[datetime.date] | None) -> list[FrozenLine]:
    """The frozen rollup rows of these stations (of these days only, unless None)."""
    wanted = sorted(days) if days is not None else [None]
    found: list[FrozenLine] = []
    for chunk in chunks(stations, 100):
        for some_days in chunks(wanted, 300):
            where = f"station IN ({db.in_list(chunk)})"
            if days is not None:
                where += f" AND day IN ({db.in_list(some_days, len(chunk) + 1)})"
            rows = await db.fetch(
                f"SELECT station, day, kind, {_COLUMNS} FROM county_frozen_rollup WHERE {where}",
                *chunk,
                *(some_days if days is not None else ()),
            )
            found += [
                FrozenLine(
                    station=db.as_uuid(row["station"]),
                    day=db.as_date(row["day"]),
                    kind=row["kind"],
                    values=tuple(int(row[key]) for key in FIGURES),
                )
                for row in rows
            ]
    return found


async def of_county(county_id: uuid.UUID, months: list[str]) -> list[FrozenMonth]:
    """The county's frozen station-months among `months`."""
    if not months:
        return []
    rows = await db.fetch(
        "SELECT station, month, poor_village, subsidy_fen_per_parcel, subsidy_farm_only, "
        "subsidy_monthly_cap_fen, claim FROM county_frozen_month "
        f"WHERE county = $1 AND month IN ({db.in_list(months, 2)})",
        county_id,
        *months,
    )
    return [
        FrozenMonth(
            station=db.as_uuid(row["station"]),
            month=row["month"],
            poor_village=bool(row["poor_village"]),
            fen_per_parcel=int(row["subsidy_fen_per_parcel"]),
            farm_only=bool(row["subsidy_farm_only"]),
            monthly_cap_fen=int(row["subsidy_monthly_cap_fen"]),
            claim=row["claim"],
        )
        for row in rows
    ]


async def keep_frozen(
    stations: list[uuid.UUID], days: set[datetime.date] | None, figures: dict
) -> None:
    """Inside the write: the days of a station's closed months keep the figures frozen at close,
    whatever was just computed for them (the county's values may have changed since)."""
    frozen = await months_of(stations)
    if not frozen:
        return
    for station, kept in frozen.items():
        own = figures[station]
        for key in [key for key in own if month_key(key[0]) in kept]:
            del own[key]
    await _add_frozen_lines(figures, list(frozen), days)


async def put_back(county_id: uuid.UUID, stations: list[uuid.UUID]) -> None:
    """The days of a station's closed months keep the rows frozen at close (`keep_frozen`)."""
    frozen = await months_of(stations)
    if not frozen:
        return
    for station, months in frozen.items():
        await delete_months(station, sorted(months))
    figures: dict[uuid.UUID, dict] = {station: {} for station in frozen}
    await _add_frozen_lines(figures, list(frozen), None)
    await insert_rows(list(frozen), county_id, figures)


async def _add_frozen_lines(
    figures: dict, stations: list[uuid.UUID], days: set[datetime.date] | None
) -> None:
    """The stations' rows frozen at close (of `days`, all when None) into `figures`."""
    for line in await lines(stations, days):
        figures[line.station][(line.day, line.kind)] = list(line.values)
