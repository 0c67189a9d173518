"""The station file (网点台帐): who runs a station, where it is, its equipment and unified sign as
last inspected (the seeds' 六统一 and 「镇村站点必须配置有监控、货架、电脑、打印机」), its keeper's
attributes (「优先考虑建档立卡贫困户、残疾人、共产党员」), and its shop-front and sign photos.

Everything is checked before anything is written (422/413, nothing changes); a change and its
audit entry are one transaction. The audit names the fields changed, never their values (a
keeper's disability is sensitive personal information)."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import uuid

from backend import clock, db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.errors import DomainError
from backend.registry import photos, service
from backend.registry.schemas import (
    KEEPER_GENDERS,
    PHOTO_KINDS,
    StationFileIn,
    StationFileOut,
    StationPhotoOut,
)
from backend.registry.store import files as store

# China's extreme points (WGS-84): 漠河 53°33′N, 曾母暗沙 3°51′N, 帕米尔 73°33′E, 黑龙江与乌苏里江
# 主航道汇合处 135°05′E. A point outside this box is not in China; one inside may still be
# abroad (Mongolia is inside it), which only a border file could tell.
LAT_RANGE = (decimal.Decimal("3.85"), decimal.Decimal("53.56"))
LNG_RANGE = (decimal.Decimal("73.55"), decimal.Decimal("135.09"))
MICRO = decimal.Decimal(1_000_000)
FIRST_INSPECTION = datetime.date(2000, 1, 1)


def photo_url(station_id: uuid.UUID, photo_id: uuid.UUID) -> str:
    return f"/api/v1/stations/{station_id}/photos/{photo_id}.jpg"


def _degrees(e6: int | None) -> float | None:
    return None if e6 is None else e6 / 1_000_000


def _file_out(row: store.FileRow, photo_rows: list[store.PhotoRow]) -> StationFileOut:
    return StationFileOut(
        station_id=row.station_id,
        address=row.address,
        company=row.company,
        lat=_degrees(row.lat_e6),
        lng=_degrees(row.lng_e6),
        has_computer=row.has_computer,
        has_printer=row.has_printer,
        has_cctv=row.has_cctv,
        has_shelves=row.has_shelves,
        has_scanner=row.has_scanner,
        has_broadband=row.has_broadband,
        has_signage=row.has_signage,
        inspected_on=row.inspected_on,
        keeper_poor=row.keeper_poor,
        keeper_disabled=row.keeper_disabled,
        keeper_party_member=row.keeper_party_member,
        keeper_gender=row.keeper_gender or None,
        updated_at=row.updated_at,
        photos=[
            StationPhotoOut(
                id=photo.id,
                kind=photo.kind,
                width=photo.width,
                height=photo.height,
                bytes=photo.size,
                uploaded_at=photo.uploaded_at,
                url=photo_url(row.station_id, photo.id),
            )
            for photo in photo_rows
        ],
    )


async def _row(station_id: uuid.UUID) -> store.FileRow:
    row = await store.station_file(station_id)
    if row is None:
        raise DomainError("not_found", status=404)
    return row


async def get_file(station_id: uuid.UUID) -> StationFileOut:
    row = await _row(station_id)
    return _file_out(row, await store.station_photos(station_id))


def _micro_degrees(value: decimal.Decimal, bounds: tuple[decimal.Decimal, decimal.Decimal], field):
    """The value in millionths of a degree; 422 `station_file_location` unless it has at most
    6 decimals and lies inside China's extent."""
    low, high = bounds
    scaled = value * MICRO
    if not value.is_finite() or scaled != scaled.to_integral_value() or not low <= value <= high:
        raise DomainError(
            "station_file_location",
            field=field,
            low=str(low),
            high=str(high),
        )
    return int(scaled)


async def put_file(
    actor: CurrentUser | None, station_id: uuid.UUID, data: StationFileIn
) -> StationFileOut:
    """The whole file replaced by `data`, checked first; audited with the fields that changed."""
    current = await _row(station_id)
    if (data.lat is None) != (data.lng is None):
        field = "lng" if data.lng is None else "lat"
        raise DomainError("station_file_location_half", field=field)
    lat_e6 = lng_e6 = None
    if data.lat is not None and data.lng is not None:
        lat_e6 = _micro_degrees(data.lat, LAT_RANGE, "lat")
        lng_e6 = _micro_degrees(data.lng, LNG_RANGE, "lng")
    gender = data.keeper_gender or ""
    if gender and gender not in KEEPER_GENDERS:
        raise DomainError("station_file_gender", field="keeper_gender")
    if data.inspected_on is not None:
        today = await service.county_today(current.county_id)
        if not FIRST_INSPECTION <= data.inspected_on <= today:
            raise DomainError("station_file_inspected_on", field="inspected_on")
    row = store.FileRow(
        station_id=station_id,
        county_id=current.county_id,
        address=data.address.strip(),
        company=data.company.strip(),
        lat_e6=lat_e6,
        lng_e6=lng_e6,
        has_computer=data.has_computer,
        has_printer=data.has_printer,
        has_cctv=data.has_cctv,
        has_shelves=data.has_shelves,
        has_scanner=data.has_scanner,
        has_broadband=data.has_broadband,
        has_signage=data.has_signage,
        inspected_on=data.inspected_on,
        keeper_poor=data.keeper_poor,
        keeper_disabled=data.keeper_disabled,
        keeper_party_member=data.keeper_party_member,
        keeper_gender=gender,
        updated_at=clock.utcnow(),
    )
    skip = {"station_id", "county_id", "updated_at"}
    changed = sorted(
        name
        for name in row.__struct_fields__
        if name not in skip and getattr(row, name) != getattr(current, name)
    )
    async with db.write_transaction():
        await store.save_station_file(row)
        await audit(
            actor, "station.file_updated", "station", station_id, current.county_id, fields=changed
        )
    return await get_file(station_id)


# Photos ------------------------------------------------------------------------------------------


async def add_photo(
    actor: CurrentUser | None, station_id: uuid.UUID, kind: str, body: bytes
) -> StationPhotoOut:
    """Kept re-encoded (photos.prepared); 422 for an unknown kind or a file that is no picture,
    413 over 10 MiB; nothing is stored then."""
    if kind not in PHOTO_KINDS:
        raise DomainError("station_photo_kind", field="kind", kinds=", ".join(PHOTO_KINDS))
    if len(body) > photos.MAX_BYTES:
        raise photos.too_large(len(body))
    if not body:
        raise DomainError("photo_unreadable", field="file")
    current = await _row(station_id)
    photo = await asyncio.to_thread(photos.prepared, body)
    row = store.PhotoRow(
        id=uuid.uuid4(),
        station_id=station_id,
        kind=kind,
        width=photo.width,
        height=photo.height,
        size=len(photo.content),
        uploaded_at=clock.utcnow(),
    )
    async with db.write_transaction():
        await store.insert_photo(row, current.county_id, photo.content)
        await audit(
            actor,
            "station.photo_added",
            "station",
            station_id,
            current.county_id,
            photo_id=str(row.id),
            kind=kind,
            width=row.width,
            height=row.height,
            bytes=row.size,
            uploaded_bytes=len(body),
        )
    return StationPhotoOut(
        id=row.id,
        kind=kind,
        width=row.width,
        height=row.height,
        bytes=row.size,
        uploaded_at=row.uploaded_at,
        url=photo_url(station_id, row.id),
    )


async def photo_content(station_id: uuid.UUID, photo_id: uuid.UUID) -> bytes:
    content = await store.photo_content(station_id, photo_id)
    if content is None:
        raise DomainError("not_found", status=404)
    return content


async def delete_photo(actor: CurrentUser | None, station_id: uuid.UUID, photo_id: uuid.UUID):
    county_id = (await _row(station_id)).county_id
    async with db.write_transaction():
        removed = await store.delete_photo(station_id, photo_id)
        if removed is None:
            raise DomainError("not_found", status=404)
        await audit(
            actor,
            "station.photo_deleted",
            "station",
            station_id,
            county_id,
            photo_id=str(photo_id),
            kind=removed.kind,
        )
