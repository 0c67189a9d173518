"""Read-only: the ledger's dispatches (代发) as the subsidy claims need them (the ledger owns the
table; nothing here writes).

"Qualifying" is the county's rule: not reversed, and farm produce when the rule says so. The
claims page counts in SQL and reads whole rows only for what it lists (one station's parcels and
the duplicates); the JSON API and the workbook read every parcel of the month.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from backend import db
from backend.county.store.ledger_reads import IN_CHUNK


# Not followed by the garbage collector (gc=False: it holds no container), and its id is text, not
# a uuid.UUID (which the collector follows): a month's 30,000 of each made it sweep the whole
# heap more than once per workbook.
class Dispatch(msgspec.Struct, frozen=True, gc=False):
    id: str  # the dispatch's (its event's) id in its canonical text, which orders as the UUID does
    station: uuid.UUID
    tracking_no: str
    received_at: datetime.datetime
    carrier: str = ""
    weight_g: int | None = None
    fee_fen: int = 0
    destination: str = ""
    farm_product: bool = False
    household_code: str | None = None
    business_date: datetime.date | None = None
    late_for: str | None = None  # 补报: dated in this closed month, counted in a later one


# A dispatch's id as its text on both engines (PostgreSQL writes a uuid in the same canonical form).
ID_TEXT = "CAST(d.id AS TEXT)"


def _plain(column: str) -> str:
    """A column as SQLite's own value (text, an integer), not through Piccolo's converters: they
    run in Python for every UUID, DATE, TIMESTAMPTZ, BOOLEAN and INTEGER cell (~0.12 s of a
    month's 30,000 dispatches); PostgreSQL's driver decodes the values natively."""
    return f"CAST({column} AS TEXT)" if db.is_sqlite() else column


def _detail_columns(sheet: bool = False) -> str:
    """Every column a claim lists but the 补报 month, which lives on the event (`_late_months`):
    a join to the wide ledger_event row of each dispatch cost more than the rest of the read.
    For the workbook's sheet (`sheet`) without the fee and the destination it never shows."""
    shown = (
        "0 AS fee_fen, '' AS destination"
        if sheet
        else "CAST(d.fee_fen AS INTEGER) AS fee_fen, d.destination"
    )
    return (
        f"{ID_TEXT} AS id, {_plain('d.station')} AS station, d.tracking_no, d.carrier, "
        f"CAST(d.weight_g AS INTEGER) AS weight_g, {shown}, "
        "CAST(d.farm_product AS INTEGER) AS farm_product, d.household_code, "
        f"{_plain('d.business_date')} AS business_date, {_plain('d.received_at')} AS received_at"
    )


def _details(rows: Sequence[Sequence[Any]], late: dict[str, str]) -> list[Dispatch]:
    """The rows (`_detail_columns`, in order) as Dispatches, made positionally in the struct's
    field order: a station's id and a day converted once, not once per parcel."""
    stations: dict = {}
    days: dict = {}
    found: list[Dispatch] = []
    add = found.append
    late_for = late.get
    moment = db.as_moment
    for (dispatch_id, station, tracking_no, carrier, weight_g, fee_fen, destination, farm,
         household, day, received_at) in rows:  # fmt: skip
        if station not in stations:
            stations[station] = db.as_uuid(station)
        if day not in days:
            days[day] = db.as_date(day)
        add(
            Dispatch(
                dispatch_id, stations[station], tracking_no, moment(received_at), carrier,
                weight_g, fee_fen, destination, bool(farm), household, days[day],
                late_for(dispatch_id),
            )
        )  # fmt: skip
    return found


async def _late_months(county_id: uuid.UUID, first: datetime.date, last: datetime.date) -> dict:
    """The 补报 months of the county's events counted in [first, last] (a dispatch's business day
    is its event's): the few entries dated in a closed month, by the partial index
    ledger_event_adjustment."""
    rows = await db.fetch(
        "SELECT CAST(e.id AS TEXT) AS id, e.adjusts_month FROM ledger_event e WHERE e.county = $1 "
        "AND e.business_date >= $2 AND e.business_date <= $3 AND e.adjusts_month IS NOT NULL",
        county_id,
        first,
        last,
    )
    return {row["id"]: row["adjusts_month"] for row in rows}


def _brief(row: dict) -> Dispatch:
    return Dispatch(
        id=row["id"],
        station=db.as_uuid(row["station"]),
        tracking_no=row["tracking_no"],
        received_at=db.as_moment(row["received_at"]),
        household_code=row.get("household_code"),
        business_date=db.as_date(row["business_date"]) if "business_date" in row else None,
    )


def _of_month(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date, farm_only: bool
) -> tuple[str, list]:
    """The county's qualifying dispatches whose business day is in [first, last] (alias d;
    $1–$4, and $5 when farm produce only)."""
    condition = (
        "d.county = $1 AND d.reversed = $2 AND d.business_date >= $3 AND d.business_date <= $4"
    )
    args: list = [county_id, False, first, last]
    if farm_only:
        condition += " AND d.farm_product = $5"
        args.append(True)
    return condition, args


async def live_dispatches(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    farm_only: bool,
    stations: list[uuid.UUID] | None = None,
    sheet: bool = False,
) -> list[Dispatch]:
    """The county's qualifying dispatches whose business day is in [first, last] (of these
    stations only, when given), every column (but the fee and the destination for the
    workbook's `sheet`), in the order they happened: by day, then as the server received them,
    then by id (the order the cap pays a station's parcels in). The one read of a month's
    claims, for the JSON API, the claims page's chosen station, a close and the workbook's
    补贴明细 alike.

    Sorted by the database: in Python the sort keys held ~30,000 tuples of a date, a moment and
    a UUID, and made the garbage collector sweep the whole heap. On SQLite the columns are
    their text (`_plain`), which orders as their values do: days and UTC moments in ISO form,
    ids in their canonical lower-case form."""
    condition, args = _of_month(county_id, first, last, farm_only)
    if stations is not None:
        condition += f" AND d.station IN ({db.in_list(stations, len(args) + 1)})"
        args += stations
    rows = await db.fetch_tuples(
        f"SELECT {_detail_columns(sheet)} FROM ledger_dispatch d WHERE {condition} "
        "ORDER BY d.business_date, d.received_at, d.id",  # ledger_dispatch_claim's order: no sort
        *args,
    )
    return _details(rows, await _late_months(county_id, first, last))


async def details(ids: list[str]) -> list[Dispatch]:
    """These dispatches (by their ids' text), every column."""
    found: list[Dispatch] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = [uuid.UUID(text) for text in ids[start : start + IN_CHUNK]]
        listed = db.in_list(chunk)
        rows = await db.fetch_tuples(
            f"SELECT {_detail_columns()} FROM ledger_dispatch d WHERE d.id IN ({listed})", *chunk
        )
        late = await db.fetch(
            "SELECT CAST(e.id AS TEXT) AS id, e.adjusts_month FROM ledger_event e "
            f"WHERE e.id IN ({listed}) AND e.adjusts_month IS NOT NULL",
            *chunk,
        )
        found += _details(rows, {row["id"]: row["adjusts_month"] for row in late})
    return found


async def counts_by_station(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date, farm_only: bool
) -> dict[uuid.UUID, int]:
    """How many qualifying dispatches each station has in [first, last]."""
    condition, args = _of_month(county_id, first, last, farm_only)
    rows = await db.fetch(
        f"SELECT d.station, COUNT(*) AS n FROM ledger_dispatch d WHERE {condition} "
        "GROUP BY d.station",
        *args,
    )
    return {db.as_uuid(row["station"]): int(row["n"]) for row in rows}


async def contested_numbers(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    farm_only: bool,
    stations: list[uuid.UUID] | None = None,
) -> list[str]:
    """The tracking numbers dispatched in [first, last] (at these stations, when given) that have
    another qualifying dispatch in the county, at any station and on any day: only their
    dispatches can be duplicates (a number dispatched once is its own first claim). Read from
    the indexes alone (ledger_dispatch_claim, ledger_dispatch_tracking_claim)."""
    condition, args = _of_month(county_id, first, last, farm_only)
    if stations is not None:
        condition += f" AND d.station IN ({db.in_list(stations, len(args) + 1)})"
        args += stations
    farm = " AND o.farm_product = $5" if farm_only else ""
    rows = await db.fetch(
        f"SELECT DISTINCT d.tracking_no FROM ledger_dispatch d WHERE {condition} "
        "AND (SELECT COUNT(*) FROM ledger_dispatch o WHERE o.tracking_no = d.tracking_no "
        f"AND o.county = d.county AND o.reversed = $2{farm}) > 1",
        *args,
    )
    return sorted(row["tracking_no"] for row in rows)


async def of_households(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    farm_only: bool,
    codes: list[str],
) -> list[Dispatch]:
    """The qualifying dispatches of [first, last] that name one of these households."""
    condition, base = _of_month(county_id, first, last, farm_only)
    found: list[Dispatch] = []
    for start in range(0, len(codes), IN_CHUNK):
        chunk = codes[start : start + IN_CHUNK]
        rows = await db.fetch(
            f"SELECT {ID_TEXT} AS id, d.station, d.tracking_no, d.received_at, d.household_code, "
            f"d.business_date FROM ledger_dispatch d WHERE {condition} "
            f"AND d.household_code IN ({db.in_list(chunk, len(base) + 1)})",
            *base,
            *chunk,
        )
        found += [_brief(row) for row in rows]
    return found


async def dispatches_of(
    county_id: uuid.UUID, tracking_numbers: list[str], farm_only: bool
) -> list[Dispatch]:
    """Every qualifying dispatch of these tracking numbers in the county, ever."""
    found: list[Dispatch] = []
    farm = " AND d.farm_product = $3" if farm_only else ""
    offset = 4 if farm_only else 3
    for start in range(0, len(tracking_numbers), IN_CHUNK):
        chunk = tracking_numbers[start : start + IN_CHUNK]
        rows = await db.fetch(
            f"SELECT {ID_TEXT} AS id, d.station, d.tracking_no, d.received_at, d.business_date "
            f"FROM ledger_dispatch d WHERE d.county = $1 AND d.reversed = $2{farm} "
            f"AND d.tracking_no IN ({db.in_list(chunk, offset)})",
            county_id,
            False,
            *([True] if farm_only else []),
            *chunk,
        )
        found += [_brief(row) for row in rows]
    return found
