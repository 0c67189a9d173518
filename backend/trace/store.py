"""The only code that reads or writes the trace tables; it hands out typed rows."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence

import msgspec

from backend import db
from backend.trace.tables import TraceBatch

_COLUMNS = (
    "id, county, code, product, village, household, station, harvested_on, quantity_milli, "
    "unit, inspection, brand, certification, scans, created_at"
)


class BatchRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county: uuid.UUID
    code: str
    product: str
    village: uuid.UUID | None
    household: uuid.UUID | None  # never leaves for the public page
    station: uuid.UUID | None
    harvested_on: datetime.date | None
    quantity_milli: int | None
    unit: str
    inspection: str
    brand: str
    certification: str
    scans: int
    created_at: datetime.datetime


def _row(row: dict) -> BatchRow:
    def maybe_uuid(value):
        return db.as_uuid(value) if value is not None else None

    return BatchRow(
        id=db.as_uuid(row["id"]),
        county=db.as_uuid(row["county"]),
        code=row["code"],
        product=row["product"],
        village=maybe_uuid(row["village"]),
        household=maybe_uuid(row["household"]),
        station=maybe_uuid(row["station"]),
        harvested_on=db.as_date(row["harvested_on"]) if row["harvested_on"] else None,
        quantity_milli=row["quantity_milli"],
        unit=row["unit"] or "",
        inspection=row["inspection"] or "",
        brand=row["brand"] or "",
        certification=row["certification"] or "",
        scans=int(row["scans"] or 0),
        created_at=db.as_moment(row["created_at"]),
    )


class NewBatch(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county: uuid.UUID
    code: str
    product: str
    village: uuid.UUID | None
    household: uuid.UUID | None
    station: uuid.UUID | None
    harvested_on: datetime.date | None
    quantity_milli: int | None
    unit: str
    inspection: str
    brand: str
    certification: str
    created_by: uuid.UUID | None
    created_at: datetime.datetime


async def insert_batch(new: NewBatch) -> None:
    """Raises the engine's integrity error when the code is taken (the caller draws another)."""
    await TraceBatch.insert(TraceBatch(**msgspec.structs.asdict(new)))


async def batches(county_id: uuid.UUID) -> list[BatchRow]:
    rows = await db.fetch_once(
        f"SELECT {_COLUMNS} FROM trace_batch WHERE county = $1 ORDER BY created_at DESC, code",
        county_id,
    )
    return [_row(row) for row in rows]


async def batch(county_id: uuid.UUID, batch_id: uuid.UUID) -> BatchRow | None:
    rows = await db.fetch_once(
        f"SELECT {_COLUMNS} FROM trace_batch WHERE id = $1 AND county = $2", batch_id, county_id
    )
    return _row(rows[0]) if rows else None


async def batch_by_code(code: str) -> BatchRow | None:
    """The batch a label's code names."""
    rows = await db.fetch_once(f"SELECT {_COLUMNS} FROM trace_batch WHERE code = $1", code)
    return _row(rows[0]) if rows else None


async def existing_codes(county_id: uuid.UUID, codes: list[str] | None) -> set[str]:
    """Those of `codes` that are batches of the county (all its batches' codes when None)."""
    if codes is None:
        rows = await db.fetch_once("SELECT code FROM trace_batch WHERE county = $1", county_id)
    else:
        rows = await db.fetch_once(
            f"SELECT code FROM trace_batch WHERE county = $1 AND code IN ({db.in_list(codes, 2)})",
            county_id,
            *codes,
        )
    return {row["code"] for row in rows}


class Inspection(msgspec.Struct, frozen=True):
    household: uuid.UUID
    result: str  # passed | failed
    day: datetime.date | None  # harvested_on; None: the batch's creation is the only date
    created_at: datetime.datetime


async def inspections(county_id: uuid.UUID) -> list[Inspection]:
    """Every inspected batch of a household of the county (the origin household's record)."""
    rows = await db.fetch(
        "SELECT household, inspection, harvested_on, created_at FROM trace_batch "
        "WHERE county = $1 AND household IS NOT NULL AND inspection <> ''",
        county_id,
    )
    return [
        Inspection(
            household=db.as_uuid(row["household"]),
            result=row["inspection"],
            day=db.as_date(row["harvested_on"]) if row["harvested_on"] else None,
            created_at=db.as_moment(row["created_at"]),
        )
        for row in rows
    ]


class FailedBatch(msgspec.Struct, frozen=True):
    household: uuid.UUID
    code: str
    day: datetime.date | None  # harvested_on
    created_at: datetime.datetime


async def failed_batches(county_id: uuid.UUID, household_ids: list[uuid.UUID]) -> list[FailedBatch]:
    """The county's batches that failed inspection whose origin is one of these households."""
    marks = ", ".join(f"${n}" for n in range(2, len(household_ids) + 2))
    rows = await db.fetch(
        "SELECT household, code, harvested_on, created_at FROM trace_batch WHERE county = $1 "
        f"AND inspection = 'failed' AND household IN ({marks})",
        county_id,
        *household_ids,
    )
    return [
        FailedBatch(
            household=db.as_uuid(row["household"]),
            code=row["code"],
            day=db.as_date(row["harvested_on"]) if row["harvested_on"] else None,
            created_at=db.as_moment(row["created_at"]),
        )
        for row in rows
    ]


async def count_scan(batch_id: uuid.UUID, county_id: uuid.UUID, day: datetime.date) -> None:
    """One more scan of the batch, on its county-local `day`: the batch's total and its day in
    one transaction, each by the database adding one (an UPDATE … + 1 and an upsert), so visits
    at once all count and the total stays the sum of the days. The batch's row lock (PostgreSQL)
    or the one writer (SQLite) orders two visits of one batch; nobody reads-then-writes."""
    async with db.write_transaction():
        await db.execute("UPDATE trace_batch SET scans = scans + 1 WHERE id = $1", batch_id)
        await db.execute(
            "INSERT INTO trace_scan_day (batch, county, day, scans) VALUES ($1, $2, $3, 1) "
            "ON CONFLICT (batch, day) DO UPDATE SET scans = trace_scan_day.scans + 1",
            batch_id,
            county_id,
            day,
        )


Period = tuple[datetime.date, datetime.date]


def _sums_sql(periods: Sequence[Period], by_batch: bool) -> tuple[str, list]:
    """One statement summing the county's scan days over each period (first and last day
    included): `p0`, `p1`, … per period, per batch when `by_batch`."""
    args: list = []  # $1 is the county: the periods' days are $2, $3, …
    columns = []
    for index, (first, last) in enumerate(periods):
        low, high = len(args) + 2, len(args) + 3
        args += [first, last]
        columns.append(
            f"SUM(CASE WHEN day >= ${low} AND day <= ${high} THEN scans ELSE 0 END) AS p{index}"
        )
    low, high = len(args) + 2, len(args) + 3
    args += [min(first for first, _ in periods), max(last for _, last in periods)]
    select = ", ".join(["batch"] * by_batch + columns)
    sql = (
        f"SELECT {select} FROM trace_scan_day WHERE county = $1 AND day >= ${low} "
        f"AND day <= ${high}" + (" GROUP BY batch" if by_batch else "")
    )
    return sql, args


async def county_sums(county_id: uuid.UUID, periods: Sequence[Period]) -> list[int]:
    """The county's scans in each period (inside or outside a transaction)."""
    if not periods:
        return []
    sql, args = _sums_sql(periods, by_batch=False)
    rows = await db.fetch_once(sql, county_id, *args)
    return [int(rows[0][f"p{i}"] or 0) if rows else 0 for i in range(len(periods))]


async def batch_sums(county_id: uuid.UUID, periods: Sequence[Period]) -> dict[uuid.UUID, list[int]]:
    """Each batch's scans in each period; a batch without any is absent."""
    if not periods:
        return {}
    sql, args = _sums_sql(periods, by_batch=True)
    rows = await db.fetch_once(sql, county_id, *args)
    return {
        db.as_uuid(row["batch"]): [int(row[f"p{i}"] or 0) for i in range(len(periods))]
        for row in rows
    }
