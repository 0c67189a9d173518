"""The station file (网点台帐) and its photos: the only code that touches
registry_station_file and registry_station_photo (and the station's address with them).

Raw statements in the caller's transaction for writes (the service audits in the same one);
photos' bytes are read only where one is served.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend import db
from backend.registry.schemas import EQUIPMENT, KEEPER_FLAGS

FILE_FLAGS = (*EQUIPMENT, "has_signage", *KEEPER_FLAGS)
_FILE_COLUMNS = ("company", "lat_e6", "lng_e6", *FILE_FLAGS, "inspected_on", "keeper_gender")


class FileRow(msgspec.Struct, frozen=True):
    """A station's file as stored (an empty one when never saved: `updated_at` None)."""

    station_id: uuid.UUID
    county_id: uuid.UUID
    address: str
    company: str = ""
    lat_e6: int | None = None
    lng_e6: int | None = None
    has_computer: bool = False
    has_printer: bool = False
    has_cctv: bool = False
    has_shelves: bool = False
    has_scanner: bool = False
    has_broadband: bool = False
    has_signage: bool = False
    inspected_on: datetime.date | None = None
    keeper_poor: bool = False
    keeper_disabled: bool = False
    keeper_party_member: bool = False
    keeper_gender: str = ""
    updated_at: datetime.datetime | None = None


def _file_row(row: dict[str, Any]) -> FileRow:
    values: dict[str, Any] = {
        "station_id": db.as_uuid(row["station_id"]),
        "county_id": db.as_uuid(row["county_id"]),
        "address": row["address"] or "",
    }
    if row.get("updated_at") is not None:
        values.update({name: row[name] for name in _FILE_COLUMNS})
        values.update({name: bool(row[name]) for name in FILE_FLAGS})
        values["company"] = row["company"] or ""
        values["keeper_gender"] = row["keeper_gender"] or ""
        values["updated_at"] = db.as_moment(row["updated_at"])
        if row["inspected_on"] is not None:
            values["inspected_on"] = db.as_date(row["inspected_on"])
    return FileRow(**values)


_FILE_SELECT = (
    "SELECT s.id AS station_id, s.county AS county_id, s.address, "
    + ", ".join(f"f.{name}" for name in _FILE_COLUMNS)
    + ", f.updated_at FROM registry_station s "
    "LEFT JOIN registry_station_file f ON f.station = s.id"
)


async def station_file(station_id: uuid.UUID) -> FileRow | None:
    rows = await db.fetch_once(f"{_FILE_SELECT} WHERE s.id = $1", station_id)
    return _file_row(rows[0]) if rows else None


async def save_station_file(row: FileRow) -> None:
    """The station's address and its file as `row` has them, in the caller's transaction."""
    await db.execute(
        "UPDATE registry_station SET address = $1 WHERE id = $2", row.address, row.station_id
    )
    values = [getattr(row, name) for name in _FILE_COLUMNS]
    columns = ("id", "county", "station", *_FILE_COLUMNS, "updated_at")
    updates = ", ".join(f"{name} = excluded.{name}" for name in (*_FILE_COLUMNS, "updated_at"))
    # One statement whether or not the file exists: two first saves at once cannot collide.
    await db.execute(
        f"INSERT INTO registry_station_file ({', '.join(columns)}) "
        f"VALUES ({db.in_list(columns)}) ON CONFLICT (station) DO UPDATE SET {updates}",
        uuid.uuid4(),
        row.county_id,
        row.station_id,
        *values,
        row.updated_at,
    )


class PhotoRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    station_id: uuid.UUID
    kind: str
    width: int
    height: int
    size: int
    uploaded_at: datetime.datetime


def _photo_row(row: dict[str, Any]) -> PhotoRow:
    return PhotoRow(
        id=db.as_uuid(row["id"]),
        station_id=db.as_uuid(row["station"]),
        kind=row["kind"],
        width=int(row["width"]),
        height=int(row["height"]),
        size=int(row["size"]),
        uploaded_at=db.as_moment(row["uploaded_at"]),
    )


async def station_photos(station_id: uuid.UUID) -> list[PhotoRow]:
    """The station's photos (not their bytes), oldest first."""
    rows = await db.fetch_once(
        "SELECT id, station, kind, width, height, size, uploaded_at FROM registry_station_photo "
        "WHERE station = $1 ORDER BY uploaded_at, id",
        station_id,
    )
    return [_photo_row(row) for row in rows]


async def insert_photo(photo: PhotoRow, county_id: uuid.UUID, content: bytes) -> None:
    """In the caller's transaction."""
    await db.execute(
        "INSERT INTO registry_station_photo (id, county, station, kind, content, width, height, "
        "size, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        photo.id,
        county_id,
        photo.station_id,
        photo.kind,
        content,
        photo.width,
        photo.height,
        photo.size,
        photo.uploaded_at,
    )


async def photo_content(station_id: uuid.UUID, photo_id: uuid.UUID) -> bytes | None:
    rows = await db.fetch_once(
        "SELECT content FROM registry_station_photo WHERE id = $1 AND station = $2",
        photo_id,
        station_id,
    )
    return bytes(rows[0]["content"]) if rows else None


async def delete_photo(station_id: uuid.UUID, photo_id: uuid.UUID) -> PhotoRow | None:
    """The photo removed (in the caller's transaction), as it was; None when there was none."""
    rows = await db.fetch(
        "SELECT id, station, kind, width, height, size, uploaded_at FROM registry_station_photo "
        "WHERE id = $1 AND station = $2",
        photo_id,
        station_id,
    )
    if not rows:
        return None
    await db.execute("DELETE FROM registry_station_photo WHERE id = $1", photo_id)
    return _photo_row(rows[0])


class RosterRow(msgspec.Struct, frozen=True):
    """One station of the roster (网点花名册): its place, its file, its photos counted."""

    township: str
    village: str
    code: str
    name: str
    level: str
    opened_on: datetime.date | None
    closed_on: datetime.date | None
    closed: bool
    file: FileRow
    front_photos: int
    sign_photos: int


async def roster(county_id: uuid.UUID) -> list[RosterRow]:
    """Every station of the county with its file, by township, village and code."""
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT s.id AS station_id, s.county AS county_id, s.address, "
            + ", ".join(f"f.{name}" for name in _FILE_COLUMNS)
            + ", f.updated_at, t.name AS township, v.name AS village, s.code, s.name, s.level, "
            "s.opened_on, s.closed_on, s.closed_at FROM registry_station s "
            "LEFT JOIN registry_station_file f ON f.station = s.id "
            "JOIN registry_township t ON t.id = s.township "
            "JOIN registry_village v ON v.id = s.village "
            "WHERE s.county = $1",
            county_id,
        )
        counts = await db.fetch(
            "SELECT station, kind, COUNT(*) AS n FROM registry_station_photo WHERE county = $1 "
            "GROUP BY station, kind",
            county_id,
        )
    photos = {(db.as_uuid(row["station"]), row["kind"]): int(row["n"]) for row in counts}
    result = []
    for row in rows:
        station_id = db.as_uuid(row["station_id"])
        result.append(
            RosterRow(
                township=row["township"],
                village=row["village"],
                code=row["code"],
                name=row["name"],
                level=row["level"] or "village",
                opened_on=db.as_date(row["opened_on"]) if row["opened_on"] else None,
                closed_on=db.as_date(row["closed_on"]) if row["closed_on"] else None,
                closed=row["closed_at"] is not None,
                file=_file_row(row),
                front_photos=photos.get((station_id, "front"), 0),
                sign_photos=photos.get((station_id, "sign"), 0),
            )
        )
    # Sorted here, by code point: PostgreSQL's collation would order Chinese names its own way.
    return sorted(result, key=lambda row: (row.township, row.village, row.code))
