"""The rollups (county_rollup per station, county-local day and kind; county_rollup_total per
county, day and kind) and how far each station is rolled up (county_rollup_mark): read, replaced,
marked. Rows that leave are msgspec Structs. What the rollups were counted with: rollup_state.py."""

from __future__ import annotations

import datetime
import operator
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from backend import db
from backend.county.store import rollup_months

FIGURES = rollup_months.FIGURES  # a rollup row's figures, in their columns' order
OVERDUE_KIND = "parcel_overdue"
REVERSED_KIND = "entry_reversed"
IN_CHUNK = 400


def chunks(values: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def delete_station_days(
    table: str, stations: list[uuid.UUID], days: set[datetime.date] | None
) -> None:
    """Inside the caller's write: a per-station-day table's rows of these stations on these days
    (all their days when None)."""
    listed = db.in_list(stations)
    if days is None:
        await db.execute(f"DELETE FROM {table} WHERE station IN ({listed})", *stations)
        return
    for chunk in chunks(sorted(days)):
        await db.execute(
            f"DELETE FROM {table} WHERE station IN ({listed}) "
            f"AND day IN ({db.in_list(chunk, len(stations) + 1)})",
            *stations,
            *chunk,
        )


class KindLine(msgspec.Struct, frozen=True):
    """What one kind of entry added up to (the shapes below say where and when)."""

    kind: str
    count: int
    amount_fen: int
    fee_fen: int
    farm_count: int
    poverty_count: int
    poverty_amount_fen: int
    farm_amount_fen: int  # the farm-produce sales' amounts (农产品网络零售额)
    poverty_fee_fen: int  # the fees and commissions of the entries for a 脱贫户

    def figures(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in FIGURES}

    def counts(self) -> Counts:
        """The FIGURES in order, for a caller building its own rows (a month of a county's
        station-days is ~17,000 lines: a dict each was a third of the rollup API's CPU)."""
        return _line_counts(self)


class DayLine(KindLine, frozen=True):
    """The county's figures of a kind on a day."""

    day: datetime.date


class StationDayLine(KindLine, frozen=True):
    """A station's figures of a kind on a day."""

    day: datetime.date
    station: uuid.UUID


class StationSumLine(KindLine, frozen=True):
    """A station's figures of a kind summed over a range of days."""

    station: uuid.UUID


Counts = tuple[int, int, int, int, int, int, int, int]  # FIGURES' values, in order

# A row's FIGURES, in order, read by C: the stored columns are integers NOT NULL, and the sums
# below are of groups (never empty, so never NULL) cast to integers (PostgreSQL's SUM of a bigint is
# a numeric). Calling int() on each in Python was a tenth of the workbook's request thread.
_stored_counts: Callable[[dict[str, Any]], Counts] = operator.itemgetter(*FIGURES)
_line_counts: Callable[[KindLine], Counts] = operator.attrgetter(*FIGURES)


_COLUMNS = ", ".join(FIGURES)
_SUMS = rollup_months.SUMS


# Reads (inside the caller's read transaction) ---------------------------------------------------


async def county_days(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[DayLine]:
    """The county's lines per day and kind over [first, last]."""
    rows = await db.fetch(
        f"SELECT day, kind, {_COLUMNS} FROM county_rollup_total "
        "WHERE county = $1 AND day >= $2 AND day <= $3 ORDER BY day, kind",
        county_id,
        first,
        last,
    )
    return [DayLine(row["kind"], *_stored_counts(row), day=db.as_date(row["day"])) for row in rows]


async def first_day(county_id: uuid.UUID) -> datetime.date | None:
    """The first county-local day the county's ledger counts anything on (None: nothing yet)."""
    rows = await db.fetch(
        "SELECT MIN(day) AS day FROM county_rollup_total WHERE county = $1", county_id
    )
    return db.as_date(rows[0]["day"]) if rows and rows[0]["day"] is not None else None


async def county_kind_sums(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[KindLine]:
    """The county's lines of [first, last] summed per kind by the database (a year is ~6,000
    daily lines; the headline figures are sums of them, kind by kind)."""
    rows = await db.fetch(
        f"SELECT kind, {_SUMS} FROM county_rollup_total "
        "WHERE county = $1 AND day >= $2 AND day <= $3 GROUP BY kind ORDER BY kind",
        county_id,
        first,
        last,
    )
    return [KindLine(row["kind"], *_stored_counts(row)) for row in rows]


class MonthKindLine(KindLine, frozen=True):
    """The county's figures of a kind over a month (YYYY-MM)."""

    month: str


async def county_month_sums(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[MonthKindLine]:
    """The county's lines of [first, last] summed per month and kind by the database (twelve
    months are ~6,000 daily lines)."""
    month = "strftime('%Y-%m', day)" if db.is_sqlite() else "to_char(day, 'YYYY-MM')"
    rows = await db.fetch(
        f"SELECT {month} AS month, kind, {_SUMS} FROM county_rollup_total "
        "WHERE county = $1 AND day >= $2 AND day <= $3 GROUP BY 1, 2 ORDER BY 1, 2",
        county_id,
        first,
        last,
    )
    return [MonthKindLine(row["kind"], *_stored_counts(row), month=row["month"]) for row in rows]


async def station_days(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[StationDayLine]:
    """Per station, day and kind, by day, station and kind. A month of a county is ~100,000
    rows of a few hundred stations and days: on SQLite they come back as text (no per-row
    converter) and each distinct one is converted once."""
    station, day = (
        ("CAST(station AS TEXT)", "CAST(day AS TEXT)")
        if db.is_sqlite()
        else (
            "station",
            "day",
        )
    )
    rows = await db.fetch(
        f"SELECT {station} AS station, {day} AS day, kind, {_COLUMNS} FROM county_rollup "
        "WHERE county = $1 AND day >= $2 AND day <= $3 ORDER BY 2, 1, kind",
        county_id,
        first,
        last,
    )
    stations: dict[Any, uuid.UUID] = {}
    days: dict[Any, datetime.date] = {}
    lines = []
    for row in rows:
        station_id = stations.get(row["station"])
        if station_id is None:
            station_id = stations[row["station"]] = db.as_uuid(row["station"])
        on = days.get(row["day"])
        if on is None:
            on = days[row["day"]] = db.as_date(row["day"])
        lines.append(StationDayLine(row["kind"], *_stored_counts(row), day=on, station=station_id))
    return lines


async def one_station_days(
    station_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[StationDayLine]:
    """One station's rows per day and kind, by day and kind (read by the station's own index: a
    year of one station is a few thousand rows, of its county a million)."""
    rows = await db.fetch(
        f"SELECT day, kind, {_COLUMNS} FROM county_rollup "
        "WHERE station = $1 AND day >= $2 AND day <= $3 ORDER BY day, kind",
        station_id,
        first,
        last,
    )
    return [
        StationDayLine(
            row["kind"], *_stored_counts(row), day=db.as_date(row["day"]), station=station_id
        )
        for row in rows
    ]


async def station_sums(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    stations: set[uuid.UUID] | None = None,
) -> list[StationSumLine]:
    """Per station (of `stations` only, when given) and kind, the sums over [first, last]
    (summed by the database: the whole months from their month rows, store/rollup_months.py)."""
    rows = await rollup_months.station_sums(county_id, first, last, stations)
    ids = {key: db.as_uuid(key) for key in {row["station"] for row in rows}}  # each once
    return [
        StationSumLine(row["kind"], *_stored_counts(row), station=ids[row["station"]])
        for row in rows
    ]


async def days_of_kind(
    county_id: uuid.UUID, kind: str, first: datetime.date, last: datetime.date
) -> list[tuple[uuid.UUID, datetime.date]]:
    """(station, day) pairs with an entry of this kind that still stands."""
    rows = await db.fetch(days_of_kind_sql(), county_id, kind, first, last)
    return [(db.as_uuid(row["station"]), db.as_date(row["day"])) for row in rows]


def days_of_kind_sql() -> str:
    """By (county, kind, day): SQLite's planner took the covering (county, day, …) index and
    read every kind of the days (the dashboard's eight weeks of check-ins at 600 stations: 21 ms
    of SQLite, 4.7 this way; docs/performance.md, ninth session)."""
    return (
        f"SELECT station, day FROM county_rollup{db.indexed_by('county_rollup_county_kind_day')} "
        "WHERE county = $1 AND kind = $2 AND day >= $3 AND day <= $4 AND count > 0"
    )


async def last_days(
    county_id: uuid.UUID,
    since: datetime.date,
    kinds: tuple[str, ...] = (),
    except_kinds: tuple[str, ...] = (),
) -> dict[uuid.UUID, datetime.date]:
    """Each station's last day since `since` with an entry of one of `kinds` (any kind but
    `except_kinds` when no kinds are given)."""
    named = kinds or except_kinds
    rows = await db.fetch(last_days_sql(len(named), negated=not kinds), county_id, since, *named)
    return {
        db.as_uuid(row["station"]): db.as_date(row["day"]) for row in rows if row["day"] is not None
    }


def last_days_sql(kinds: int, negated: bool) -> str:
    """Each station of the county ($1, its day NULL when it has none) searched from its last
    day back to $2 by (station, day, kind), stopping at the first day with an entry of the
    `kinds` kinds ($3…; of any other kind when `negated`). A station never changes county, so
    its rows are the county's. Grouping the county's rows of the window read all of them instead
    (the dashboard's 14 days at 600 stations: 20.5 ms, 3.6 this way; 30 days' ~100,000 rows: 42
    ms, 1.6 this way; docs/performance.md, ninth session)."""
    kind_in = f"r.kind {'NOT IN' if negated else 'IN'} ({db.in_list(range(kinds), 3)})"
    return (
        "SELECT s.id AS station, (SELECT r.day FROM county_rollup r "
        "WHERE r.station = s.id AND r.day >= $2 "
        f"AND {kind_in} AND r.count > 0 ORDER BY r.day DESC LIMIT 1) AS day "
        "FROM registry_station s WHERE s.county = $1"
    )


class StationActivity(msgspec.Struct, frozen=True):
    """A station's activity over a window of days (the stations overview): its last day with an
    entry of an activity kind, whether it checked in since a day, and its sums over the last 7
    and 30 days of the activity kinds."""

    station: uuid.UUID
    last_day: datetime.date | None
    checked_in: bool
    count_7d: int
    amount_7d_fen: int
    fee_7d_fen: int
    count_30d: int
    amount_30d_fen: int
    fee_30d_fen: int


async def station_activity(
    county_id: uuid.UUID,
    days: tuple[datetime.date, datetime.date, datetime.date, datetime.date],
    checkin_kind: str,
    not_activity: tuple[str, ...],
    stations: list[uuid.UUID] | None = None,
) -> list[StationActivity]:
    """Per station with rows over [window, today] (`days`: window, seven days back, this week's
    Monday, today), summed in the database (a month of a county is ~100,000 rows); of these
    stations only when given (a township's: read from their own (station, day) keys)."""
    window, seven, monday, today = days
    only = ""
    if stations is not None:
        if not stations:
            return []
        only = f" AND station IN ({db.in_list(stations, 7 + len(not_activity))})"
    skip = db.in_list(not_activity, 7)
    active = f"kind NOT IN ({skip})"
    sums = ", ".join(
        f"SUM(CASE WHEN {active} AND day >= ${since} THEN {column} ELSE 0 END) AS {name}"
        for since, suffix in ((3, "7d"), (2, "30d"))
        for column, name in (
            ("count", f"count_{suffix}"),
            ("amount_fen", f"amount_{suffix}_fen"),
            ("fee_fen", f"fee_{suffix}_fen"),
        )
    )
    rows = await db.fetch(
        f"SELECT station, MAX(CASE WHEN {active} THEN day END) AS last_day, "
        "MAX(CASE WHEN kind = $6 AND day >= $4 AND count > 0 THEN 1 ELSE 0 END) AS checked_in, "
        f"{sums} FROM county_rollup WHERE county = $1 AND day >= $2 AND day <= $5{only} "
        "GROUP BY station",
        county_id,
        window,
        seven,
        monday,
        today,
        checkin_kind,
        *not_activity,
        *(stations or ()),
    )
    return [
        StationActivity(
            station=db.as_uuid(row["station"]),
            last_day=db.as_date(row["last_day"]) if row["last_day"] else None,
            checked_in=bool(row["checked_in"]),
            count_7d=int(row["count_7d"] or 0),
            amount_7d_fen=int(row["amount_7d_fen"] or 0),
            fee_7d_fen=int(row["fee_7d_fen"] or 0),
            count_30d=int(row["count_30d"] or 0),
            amount_30d_fen=int(row["amount_30d_fen"] or 0),
            fee_30d_fen=int(row["fee_30d_fen"] or 0),
        )
        for row in rows
    ]


async def last_days_before(
    station_ids: list[uuid.UUID], before: datetime.date, except_kinds: tuple[str, ...]
) -> dict[uuid.UUID, datetime.date]:
    """Each of these stations' last day before `before` with an entry of another kind."""
    if not station_ids:
        return {}
    skip = db.in_list(except_kinds, 2)
    rows = await db.fetch(
        f"SELECT station, MAX(day) AS last FROM county_rollup WHERE day < $1 "
        f"AND kind NOT IN ({skip}) "
        f"AND station IN ({db.in_list(station_ids, 2 + len(except_kinds))}) GROUP BY station",
        before,
        *except_kinds,
        *station_ids,
    )
    return {db.as_uuid(row["station"]): db.as_date(row["last"]) for row in rows if row["last"]}


async def stations_with_lines(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date, except_kinds: tuple[str, ...]
) -> set[uuid.UUID]:
    """The stations with a line of a kind other than `except_kinds` over [first, last]: each
    station asked by its own key, which stops at its first such line (30 days of a county are
    ~150,000 lines, nearly all of them of active stations)."""
    rows = await db.fetch(
        "SELECT s.id AS station FROM registry_station s WHERE s.county = $1 AND EXISTS ("
        "SELECT 1 FROM county_rollup r WHERE r.station = s.id "
        "AND r.day >= $2 AND r.day <= $3 AND r.count > 0 "
        f"AND r.kind NOT IN ({db.in_list(except_kinds, 4)}))",
        county_id,
        first,
        last,
        *except_kinds,
    )
    return {db.as_uuid(row["station"]) for row in rows}


async def active_station_count(county_id: uuid.UUID, day: datetime.date) -> int:
    """How many stations have any line on that day."""
    rows = await db.fetch(
        "SELECT COUNT(DISTINCT station) AS n FROM county_rollup WHERE county = $1 AND day = $2",
        county_id,
        day,
    )
    return int(rows[0]["n"])


# Writes (inside the caller's write transaction) -------------------------------------------------


async def replace_station_days(
    stations: list[uuid.UUID],
    county_id: uuid.UUID,
    days: set[datetime.date] | None,
    figures: dict[uuid.UUID, dict[tuple[datetime.date, str], list[int]]],
) -> None:
    """Replace the stations' rows of these days (all their rows when None) with `figures`."""
    await delete_station_days("county_rollup", stations, days)
    await insert_rows(stations, county_id, figures)
    await rollup_months.replace(stations, days)


async def insert_rows(
    stations: list[uuid.UUID],
    county_id: uuid.UUID,
    figures: dict[uuid.UUID, dict[tuple[datetime.date, str], list[int]]],
) -> None:
    """The stations' rows of `figures` (a row whose figures are all 0 is no row)."""
    await db.executemany(
        "INSERT INTO county_rollup (station, county, day, kind, count, amount_fen, fee_fen, "
        "farm_count, poverty_count, poverty_amount_fen, farm_amount_fen, poverty_fee_fen) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        [
            (station, county_id, day, kind, *values)
            for station in stations
            for (day, kind), values in sorted(figures[station].items())
            if any(values)
        ],
    )


async def delete_months(station_id: uuid.UUID, months: list[str]) -> None:
    """The station's daily rows of these months ('YYYY-MM')."""
    for month in months:
        first = datetime.date(int(month[:4]), int(month[5:7]), 1)
        following = (first + datetime.timedelta(days=31)).replace(day=1)
        await db.execute(
            "DELETE FROM county_rollup WHERE station = $1 AND day >= $2 AND day < $3",
            station_id,
            first,
            following,
        )


async def station_day_count(county_id: uuid.UUID) -> int:
    """How many (station, day) pairs of the county have a row."""
    rows = await db.fetch(
        "SELECT COUNT(*) AS n FROM (SELECT DISTINCT station, day FROM county_rollup "
        "WHERE county = $1) pairs",
        county_id,
    )
    return int(rows[0]["n"])


_TOTALS = (
    "INSERT INTO county_rollup_total (county, day, kind, count, amount_fen, fee_fen, "
    "farm_count, poverty_count, poverty_amount_fen, farm_amount_fen, poverty_fee_fen) "
    "SELECT county, day, kind, SUM(count), SUM(amount_fen), SUM(fee_fen), SUM(farm_count), "
    "SUM(poverty_count), SUM(poverty_amount_fen), SUM(farm_amount_fen), "
    "SUM(poverty_fee_fen) "
    "FROM county_rollup{index} WHERE county = $1"
)


async def write_totals(county_id: uuid.UUID, days: set[datetime.date] | None) -> None:
    """The county's sums for the given days (all when None), from the station rows."""
    if days is None:
        await db.execute("DELETE FROM county_rollup_total WHERE county = $1", county_id)
        select = _TOTALS.format(index="")
        await db.execute(f"{select} GROUP BY county, day, kind", county_id)
        return
    for chunk in chunks(sorted(days)):
        where = f"day IN ({db.in_list(chunk, 2)})"
        await db.execute(
            f"DELETE FROM county_rollup_total WHERE county = $1 AND {where}", county_id, *chunk
        )
        await db.execute(totals_of_days(len(chunk)), county_id, *chunk)


def totals_of_days(days: int) -> str:
    """The statement writing the county's sums ($1) of `days` days ($2…), by the (county, day, …)
    index: for `county = ? AND day IN (…)` reading columns outside it, SQLite's planner without
    statistics took (county, kind, day) and read the county's whole history, 160–190 ms at a
    year of 600 stations, inside the writer's turn, at every catch-up a staff page starts
    (docs/performance.md, eighth session)."""
    where = f"day IN ({db.in_list(range(days), 2)})"
    select = _TOTALS.format(index=db.indexed_by("county_rollup_county_day"))
    return f"{select} AND {where} GROUP BY county, day, kind"


# Marks and state --------------------------------------------------------------------------------


class StationBehind(msgspec.Struct, frozen=True):
    station: uuid.UUID
    rolled_seq: int  # events up to here are in the rollups
    last_seq: int  # the station's chain head


async def stations_behind(county_id: uuid.UUID) -> list[StationBehind]:
    """The county's stations whose chain head is past their mark (reads the ledger's heads)."""
    rows = await db.fetch(
        "SELECT h.station, h.last_seq, COALESCE(m.rolled_seq, 0) AS rolled_seq "
        "FROM ledger_chain h JOIN registry_station s ON s.id = h.station "
        "LEFT JOIN county_rollup_mark m ON m.station = h.station "
        "WHERE s.county = $1 AND h.last_seq > COALESCE(m.rolled_seq, 0)",
        county_id,
    )
    return [
        StationBehind(db.as_uuid(row["station"]), int(row["rolled_seq"]), int(row["last_seq"]))
        for row in rows
    ]


async def marks(stations: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await db.fetch(
        "SELECT station, rolled_seq FROM county_rollup_mark "
        f"WHERE station IN ({db.in_list(stations)})",
        *stations,
    )
    return {db.as_uuid(row["station"]): int(row["rolled_seq"]) for row in rows}


async def set_marks(county_id: uuid.UUID, rolled: dict[uuid.UUID, int]) -> None:
    await db.executemany(
        "INSERT INTO county_rollup_mark (station, county, rolled_seq) VALUES ($1, $2, $3) "
        "ON CONFLICT (station) DO UPDATE SET rolled_seq = excluded.rolled_seq",
        [(station, county_id, seq) for station, seq in rolled.items()],
    )


async def counties_behind(county_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the counties with a station whose chain head is past its mark."""
    if not county_ids:
        return set()
    rows = await db.fetch(
        "SELECT DISTINCT s.county FROM ledger_chain h JOIN registry_station s ON s.id = h.station "
        "LEFT JOIN county_rollup_mark m ON m.station = h.station "
        f"WHERE s.county IN ({db.in_list(county_ids)}) AND h.last_seq > COALESCE(m.rolled_seq, 0)",
        *county_ids,
    )
    return {db.as_uuid(row["county"]) for row in rows}


async def serialise(county_id: uuid.UUID) -> None:
    """One refresh of a county at a time on PostgreSQL (SQLite has a single writer anyway)."""
    if not db.is_sqlite():
        key = int.from_bytes(county_id.bytes[:8], "big", signed=True)
        await db.fetch("SELECT pg_advisory_xact_lock($1)", key)
