"""The registry's facts the ledger reads: a station's shelf, timezone and storage-fee rule, its
names, and the county's household codes.

These read the registry's tables (`registry_station`, `registry_county`, `registry_household`);
they belong in the registry's store and are kept together here until it offers them.
"""

from __future__ import annotations

import uuid
import zoneinfo

import msgspec

from backend import db


class StationFacts(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county_id: uuid.UUID
    timezone: zoneinfo.ZoneInfo
    shelves: int
    layers: int
    parcel_free_days: int
    parcel_daily_fee_fen: int
    parcel_fee_cap_fen: int
    parcel_return_days: int


class StationNames(msgspec.Struct, frozen=True):
    name: str
    code: str
    county_name: str


async def facts(station_id: uuid.UUID) -> StationFacts | None:
    rows = await db.fetch(
        "SELECT s.id, s.county, s.shelves, s.layers, c.timezone, c.parcel_free_days, "
        "c.parcel_daily_fee_fen, c.parcel_fee_cap_fen, c.parcel_return_days "
        "FROM registry_station s JOIN registry_county c ON c.id = s.county WHERE s.id = $1",
        station_id,
    )
    if not rows:
        return None
    row = rows[0]
    return StationFacts(
        id=db.as_uuid(row["id"]),
        county_id=db.as_uuid(row["county"]),
        timezone=zoneinfo.ZoneInfo(row["timezone"]),
        shelves=row["shelves"],
        layers=row["layers"],
        parcel_free_days=row["parcel_free_days"],
        parcel_daily_fee_fen=row["parcel_daily_fee_fen"],
        parcel_fee_cap_fen=row["parcel_fee_cap_fen"],
        parcel_return_days=row["parcel_return_days"],
    )


async def names(station_id: uuid.UUID) -> StationNames:
    row = (
        await db.fetch(
            "SELECT s.name, s.code, c.name AS county_name FROM registry_station s "
            "JOIN registry_county c ON c.id = s.county WHERE s.id = $1",
            station_id,
        )
    )[0]
    return StationNames(name=row["name"], code=row["code"], county_name=row["county_name"])


async def ids_by_code() -> list[uuid.UUID]:
    rows = await db.fetch("SELECT id FROM registry_station ORDER BY code")
    return [db.as_uuid(row["id"]) for row in rows]


async def household_codes(county_id: uuid.UUID, codes: list[str] | None = None) -> set[str]:
    """The county's household codes: all of them, or those among `codes` that exist."""
    if codes is None:
        rows = await db.fetch("SELECT code FROM registry_household WHERE county = $1", county_id)
    else:
        rows = await db.fetch(
            "SELECT code FROM registry_household "
            f"WHERE county = $1 AND code IN ({db.in_list(codes, 2)})",
            county_id,
            *codes,
        )
    return {row["code"] for row in rows}


async def household_phones(station_id: uuid.UUID, head_name: str, phone_last4: str) -> list[str]:
    """Phones of the station's village households with this head and these last four digits."""
    rows = await db.fetch(
        "SELECT h.phone FROM registry_household h JOIN registry_station s "
        "ON s.village = h.village WHERE s.id = $1 AND h.head_name = $2 AND h.phone LIKE $3",
        station_id,
        head_name,
        f"%{phone_last4}",
    )
    return [row["phone"] for row in rows]


async def ids_in_county(county_id: uuid.UUID) -> list[uuid.UUID]:
    """Every station of the county (closed ones too: their months stay on record), by code."""
    rows = await db.fetch(
        "SELECT id FROM registry_station WHERE county = $1 ORDER BY code", county_id
    )
    return [db.as_uuid(row["id"]) for row in rows]
