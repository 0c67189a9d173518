"""Read-only: the ledger's dispatches (代发) as the subsidy claims need them (the ledger owns the
table; nothing here writes).

"Qualifying" is the county's rule: not reversed, and farm produce when the rule says so. The
claims page counts in SQL and reads whole rows only for what it lists (one station's parcels and
the duplicates); the JSON API and the workbook read every parcel of the month.
"""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db
from backend.county.store.ledger_reads import IN_CHUNK


class Dispatch(msgspec.Struct, frozen=True):
    id: uuid.UUID
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


DETAIL_COLUMNS = (
    "d.id, d.station, d.tracking_no, d.carrier, d.weight_g, d.fee_fen, d.destination, "
    "d.farm_product, d.household_code, d.business_date, d.received_at, e.adjusts_month"
)


def _detail(row: dict) -> Dispatch:
    return Dispatch(
        id=db.as_uuid(row["id"]),
        station=db.as_uuid(row["station"]),
        tracking_no=row["tracking_no"],
        received_at=db.as_moment(row["received_at"]),
        carrier=row["carrier"],
        weight_g=row["weight_g"],
        fee_fen=row["fee_fen"],
        destination=row["destination"],
        farm_product=bool(row["farm_product"]),
        household_code=row["household_code"],
        business_date=db.as_date(row["business_date"]),
        late_for=row["adjusts_month"],
    )


def _brief(row: dict) -> Dispatch:
    return Dispatch(
        id=db.as_uuid(row["id"]),
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
) -> list[Dispatch]:
    """The county's qualifying dispatches whose business day is in [first, last], every column
    (of these stations only, when given)."""
    condition, args = _of_month(county_id, first, last, farm_only)
    if stations is not None:
        condition += f" AND d.station IN ({db.in_list(stations, len(args) + 1)})"
        args += stations
    rows = await db.fetch(
        f"SELECT {DETAIL_COLUMNS} FROM ledger_dispatch d JOIN ledger_event e ON e.id = d.id "
        f"WHERE {condition}",
        *args,
    )
    return [_detail(row) for row in rows]


async def details(ids: list[uuid.UUID]) -> list[Dispatch]:
    """These dispatches, every column."""
    found: list[Dispatch] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        rows = await db.fetch(
            f"SELECT {DETAIL_COLUMNS} FROM ledger_dispatch d JOIN ledger_event e ON e.id = d.id "
            f"WHERE d.id IN ({db.in_list(chunk)})",
            *chunk,
        )
        found += [_detail(row) for row in rows]
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
            "SELECT d.id, d.station, d.tracking_no, d.received_at, d.household_code, "
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
    farm = " AND farm_product = $3" if farm_only else ""
    offset = 4 if farm_only else 3
    for start in range(0, len(tracking_numbers), IN_CHUNK):
        chunk = tracking_numbers[start : start + IN_CHUNK]
        rows = await db.fetch(
            "SELECT id, station, tracking_no, received_at, business_date FROM ledger_dispatch "
            f"WHERE county = $1 AND reversed = $2{farm} "
            f"AND tracking_no IN ({db.in_list(chunk, offset)})",
            county_id,
            False,
            *([True] if farm_only else []),
            *chunk,
        )
        found += [_brief(row) for row in rows]
    return found
