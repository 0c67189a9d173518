"""The only code that reads or writes the catalogue tables; it hands out typed rows."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db

_COLUMNS = "id, county, code, name, category, brand, certification, unit, updated_at"


class ProductRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county: uuid.UUID
    code: str
    name: str
    category: str
    brand: str
    certification: str
    unit: str
    updated_at: datetime.datetime


def _row(row: dict) -> ProductRow:
    return ProductRow(
        id=db.as_uuid(row["id"]),
        county=db.as_uuid(row["county"]),
        code=row["code"],
        name=row["name"],
        category=row["category"],
        brand=row["brand"] or "",
        certification=row["certification"] or "",
        unit=row["unit"] or "",
        updated_at=db.as_moment(row["updated_at"]),
    )


async def products(county_id: uuid.UUID) -> list[ProductRow]:
    rows = await db.fetch_once(
        f"SELECT {_COLUMNS} FROM catalogue_product WHERE county = $1 ORDER BY code", county_id
    )
    return [_row(row) for row in rows]


async def product(county_id: uuid.UUID, product_id: uuid.UUID) -> ProductRow | None:
    rows = await db.fetch_once(
        f"SELECT {_COLUMNS} FROM catalogue_product WHERE id = $1 AND county = $2",
        product_id,
        county_id,
    )
    return _row(rows[0]) if rows else None


async def insert_product(row: ProductRow) -> None:
    """Raises the engine's integrity error when the county has the code already."""
    await db.execute(
        f"INSERT INTO catalogue_product ({_COLUMNS}, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        *msgspec.structs.astuple(row),
    )


async def update_product(row: ProductRow) -> None:
    """Everything but the code (the ledger's sales name it) and the county."""
    await db.execute(
        "UPDATE catalogue_product SET name = $3, category = $4, brand = $5, certification = $6, "
        "unit = $7, updated_at = $8 WHERE id = $1 AND county = $2",
        row.id,
        row.county,
        row.name,
        row.category,
        row.brand,
        row.certification,
        row.unit,
        row.updated_at,
    )


async def existing_codes(county_id: uuid.UUID, codes: list[str] | None) -> set[str]:
    """Those of `codes` that are products of the county (all its products' codes when None)."""
    if codes is None:
        rows = await db.fetch_once(
            "SELECT code FROM catalogue_product WHERE county = $1", county_id
        )
    else:
        rows = await db.fetch_once(
            "SELECT code FROM catalogue_product "
            f"WHERE county = $1 AND code IN ({db.in_list(codes, 2)})",
            county_id,
            *codes,
        )
    return {row["code"] for row in rows}


async def mappings(county_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """Each mapped 代销 text of the county, and its product."""
    rows = await db.fetch_once(
        "SELECT text, product FROM catalogue_text WHERE county = $1", county_id
    )
    return {row["text"]: db.as_uuid(row["product"]) for row in rows}


async def set_mapping(
    county_id: uuid.UUID, text: str, product_id: uuid.UUID | None, moment: datetime.datetime
) -> None:
    """The text mapped to the product, or unmapped (None)."""
    await db.execute("DELETE FROM catalogue_text WHERE county = $1 AND text = $2", county_id, text)
    if product_id is not None:
        await db.execute(
            "INSERT INTO catalogue_text (county, text, product, mapped_at) VALUES ($1, $2, $3, $4)",
            county_id,
            text,
            product_id,
            moment,
        )
