"""county_rollup_month: each station's daily rollup rows summed per month (its first day) and
kind. A year's sums per station (the scorecard's, the township's, the 贫困村's year to date) read
the whole months here and only the days at either end from county_rollup: at 300 stations a year
is ~1.3 million daily rows and ~43,000 month rows.

The month rows are recomputed whole from the daily rows of the months a write touched, in the
same transaction as the daily rows (`replace`), never incremented: they cannot drift from them."""

from __future__ import annotations

import datetime
import uuid

from backend import db
from backend.county.calendar_months import next_month

# The rollup rows' figures, in their order (rollup_rows.FIGURES, which reads them from here:
# rollup_rows imports this module).
FIGURES = (
    "count",
    "amount_fen",
    "fee_fen",
    "farm_count",
    "poverty_count",
    "poverty_amount_fen",
    "farm_amount_fen",
    "poverty_fee_fen",
)
_COLUMNS = ", ".join(FIGURES)
_SUMMED = ", ".join(f"SUM({key})" for key in FIGURES)
# Sums of groups as their figures' columns, cast to integers: PostgreSQL's SUM of a bigint is a
# numeric, read as a Decimal (the groups are never empty, so never NULL).
SUMS = ", ".join(f"CAST(SUM({key}) AS BIGINT) AS {key}" for key in FIGURES)
_INSERT = f"INSERT INTO county_rollup_month (station, county, month, kind, {_COLUMNS}) "


def month_of(column: str) -> str:
    """The first day of the month of a date column."""
    if db.is_sqlite():
        return f"date({column}, 'start of month')"
    return f"CAST(date_trunc('month', {column}) AS date)"


def date_parameter(number: int) -> str:
    """A parameter standing for a date in a SELECT list (PostgreSQL cannot infer its type there;
    SQLite's CAST … AS date would make it a number)."""
    return f"${number}" if db.is_sqlite() else f"${number}::date"


async def replace(stations: list[uuid.UUID], days: set[datetime.date] | None) -> None:
    """Inside the caller's write, after the stations' daily rows of these days (all their days
    when None) were replaced: their month rows of those months, summed again."""
    if not stations:
        return
    listed = db.in_list(stations)
    if days is None:
        await db.execute(f"DELETE FROM county_rollup_month WHERE station IN ({listed})", *stations)
        month = month_of("day")
        await db.execute(
            f"{_INSERT} SELECT station, county, {month}, kind, {_SUMMED} FROM county_rollup "
            f"WHERE station IN ({listed}) GROUP BY station, county, {month}, kind",
            *stations,
        )
        return
    after = len(stations)
    for first in sorted({day.replace(day=1) for day in days}):
        last = next_month(first) - datetime.timedelta(days=1)
        await db.execute(
            f"DELETE FROM county_rollup_month WHERE station IN ({listed}) AND month = ${after + 1}",
            *stations,
            first,
        )
        await db.execute(
            f"{_INSERT} SELECT station, county, {date_parameter(after + 1)}, kind, {_SUMMED} "
            f"FROM county_rollup WHERE station IN ({listed}) "
            f"AND day >= ${after + 1} AND day <= ${after + 2} GROUP BY station, county, kind",
            *stations,
            first,
            last,
        )


def segments(
    first: datetime.date, last: datetime.date
) -> tuple[tuple[datetime.date, datetime.date] | None, list[tuple[datetime.date, datetime.date]]]:
    """[first, last] as the whole months inside it (their first days, from and through; None when
    there is none) and the ranges of days left at either end."""
    months_from = first if first.day == 1 else next_month(first)
    # The month of `last` is whole only when `last` is its last day.
    tail_from = (
        next_month(last)
        if next_month(last) - datetime.timedelta(days=1) == last
        else last.replace(day=1)
    )
    if months_from >= tail_from:
        return None, [(first, last)]
    days = []
    if first < months_from:
        days.append((first, months_from - datetime.timedelta(days=1)))
    if tail_from <= last:
        days.append((tail_from, last))
    return (months_from, tail_from - datetime.timedelta(days=1)), days


def _by_key(stations: set[uuid.UUID] | None, key: str) -> str:
    """Some stations' rows by their own (station, …) key. SQLite's planner otherwise takes the
    (county, …) index and filters the whole county's rows: the 贫困村's year at 5 M events read
    ~53,000 month rows for ~17,000 (33 → 22 ms)."""
    return db.indexed_by(key) if stations is not None else ""


async def station_sums(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    stations: set[uuid.UUID] | None = None,
) -> list[dict]:
    """Per station and kind, the sums over [first, last]: whole months from the month rows, the
    days at either end from the daily rows (summed by the database). `stations`: only those (a
    township's, the 贫困村's), read by their own keys instead of the whole county's rows."""
    if stations is not None and not stations:
        return []
    months, days = segments(first, last)
    parts: list[str] = []
    args: list[object] = [county_id]
    only = ""
    if stations is not None:
        only = f" AND station IN ({db.in_list(sorted(stations, key=str), 2)})"
        args += sorted(stations, key=str)
    if months is not None:
        parts.append(
            f"SELECT station, kind, {_COLUMNS} FROM county_rollup_month"
            f"{_by_key(stations, 'county_rollup_month_key')} "
            f"WHERE county = $1{only} AND month >= ${len(args) + 1} AND month <= ${len(args) + 2}"
        )
        args += list(months)
    for start, end in days:
        parts.append(
            f"SELECT station, kind, {_COLUMNS} FROM county_rollup"
            f"{_by_key(stations, 'county_rollup_key')} "
            f"WHERE county = $1{only} AND day >= ${len(args) + 1} AND day <= ${len(args) + 2}"
        )
        args += [start, end]
    return await db.fetch(
        f"SELECT station, kind, {SUMS} FROM ({' UNION ALL '.join(parts)}) parts "
        "GROUP BY station, kind",
        *args,
    )


async def station_month_count(county_id: uuid.UUID) -> int:
    """How many (station, month) pairs of the county have figures."""
    rows = await db.fetch(
        "SELECT COUNT(*) AS n FROM (SELECT DISTINCT station, month FROM county_rollup_month "
        "WHERE county = $1) pairs",
        county_id,
    )
    return int(rows[0]["n"])
