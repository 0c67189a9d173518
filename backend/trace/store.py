"""The only code that reads or writes the trace tables; it hands out typed rows."""

from __future__ import annotations

import datetime
import uuid

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


async def total_scans(county_id: uuid.UUID) -> int:
    rows = await db.fetch(
        "SELECT COALESCE(SUM(scans), 0) AS n FROM trace_batch WHERE county = $1", county_id
    )
    return int(rows[0]["n"])


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


async def batch_by_code(code: str, count_scan: bool) -> BatchRow | None:
    """The batch a label's code names; with `count_scan`, one more scan, in one UPDATE (two
    visits at once both count: the database adds, nobody reads-then-writes)."""
    if not count_scan:
        rows = await db.fetch_once(f"SELECT {_COLUMNS} FROM trace_batch WHERE code = $1", code)
        return _row(rows[0]) if rows else None
    async with db.write_transaction():
        await db.execute("UPDATE trace_batch SET scans = scans + 1 WHERE code = $1", code)
        rows = await db.fetch(f"SELECT {_COLUMNS} FROM trace_batch WHERE code = $1", code)
    return _row(rows[0]) if rows else None


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
