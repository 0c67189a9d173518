"""The registry's logic: creating and changing counties, townships, villages, stations, households.

Every change by staff is audited. Stations are closed, never deleted: the ledger refers to them.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from piccolo.table import Table

from backend import clock
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.db import is_integrity_error
from backend.errors import DomainError
from backend.privacy import mask_phone
from backend.registry.schemas import (
    CountyCreate,
    CountyOut,
    CountySettings,
    HouseholdCreate,
    HouseholdOut,
    HouseholdUpdate,
    StationCreate,
    StationOut,
    StationUpdate,
    TownshipCreate,
    TownshipOut,
    TownshipUpdate,
    VillageCreate,
    VillageOut,
    VillageUpdate,
    valid_timezone,
)
from backend.registry.tables import County, Household, Station, Township, Village


def _set_fields(data: msgspec.Struct, renames: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields a PATCH body actually carries, named as the table's columns."""
    renames = renames or {}
    return {
        renames.get(name, name): value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


async def _insert(row: Table, taken_code: str, field: str) -> None:
    try:
        await type(row).insert(row)
    except Exception as exc:
        if is_integrity_error(exc):
            raise DomainError(taken_code, status=409, field=field) from exc
        raise


async def _update(table: type[Table], row_id: uuid.UUID, values: dict[str, Any], field: str):
    if not values:
        return
    try:
        await table.update(values).where(table._meta.primary_key == row_id)
    except Exception as exc:
        if is_integrity_error(exc):
            raise DomainError("name_taken", status=409, field=field) from exc
        raise


# Counties ------------------------------------------------------------------------------------


def _county_out(row: dict) -> CountyOut:
    return msgspec.convert(row, CountyOut, from_attributes=False, strict=False)


async def get_county(county_id: uuid.UUID) -> CountyOut:
    row = await County.select().where(County.id == county_id).first()
    if row is None:
        raise DomainError("not_found", status=404)
    return _county_out(row)


async def list_counties(user: CurrentUser) -> list[CountyOut]:
    query = County.select().order_by(County.name)
    if user.county_id is not None:
        query = query.where(County.id == user.county_id)
    return [_county_out(row) for row in await query]


async def create_county(actor: CurrentUser | None, data: CountyCreate) -> CountyOut:
    if not valid_timezone(data.timezone):
        raise DomainError("unknown_timezone", field="timezone")
    county_id = uuid.uuid4()
    await _insert(
        County(
            id=county_id,
            name=data.name,
            code=data.code,
            timezone=data.timezone,
            province=data.province,
        ),
        "code_taken",
        "code",
    )
    await audit(actor, "county.created", "county", county_id, county_id, name=data.name)
    return await get_county(county_id)


async def update_county(actor: CurrentUser, county_id: uuid.UUID, data: CountySettings):
    values = _set_fields(data)
    if "timezone" in values and not valid_timezone(values["timezone"]):
        raise DomainError("unknown_timezone", field="timezone")
    await _update(County, county_id, values, "name")
    await audit(actor, "county.updated", "county", county_id, county_id, fields=sorted(values))
    return await get_county(county_id)


# Townships and villages ----------------------------------------------------------------------


def _township_out(row: dict) -> TownshipOut:
    return TownshipOut(id=row["id"], county_id=row["county"], name=row["name"], code=row["code"])


async def list_townships(county_id: uuid.UUID) -> list[TownshipOut]:
    rows = await Township.select().where(Township.county == county_id).order_by(Township.name)
    return [_township_out(row) for row in rows]


async def create_township(
    actor: CurrentUser | None, county_id: uuid.UUID, data: TownshipCreate
) -> TownshipOut:
    township_id = uuid.uuid4()
    await _insert(
        Township(id=township_id, county=county_id, name=data.name, code=data.code),
        "name_taken",
        "name",
    )
    await audit(actor, "township.created", "township", township_id, county_id, name=data.name)
    return _township_out(await Township.select().where(Township.id == township_id).first())


async def update_township(actor: CurrentUser, township_id: uuid.UUID, data: TownshipUpdate):
    values = _set_fields(data)
    await _update(Township, township_id, values, "name")
    row = await Township.select().where(Township.id == township_id).first()
    await audit(actor, "township.updated", "township", township_id, row["county"], **values)
    return _township_out(row)


def _village_out(row: dict) -> VillageOut:
    return VillageOut(
        id=row["id"],
        county_id=row["county"],
        township_id=row["township"],
        name=row["name"],
        poor=row["poor"],
    )


async def list_villages(county_id: uuid.UUID) -> list[VillageOut]:
    rows = await Village.select().where(Village.county == county_id).order_by(Village.name)
    return [_village_out(row) for row in rows]


async def create_village(
    actor: CurrentUser | None, county_id: uuid.UUID, data: VillageCreate
) -> VillageOut:
    township = await Township.select(Township.county).where(Township.id == data.township_id).first()
    if township is None or township["county"] != county_id:
        raise DomainError("unknown_township", field="township_id")
    village_id = uuid.uuid4()
    await _insert(
        Village(
            id=village_id,
            county=county_id,
            township=data.township_id,
            name=data.name,
            poor=data.poor,
        ),
        "name_taken",
        "name",
    )
    await audit(actor, "village.created", "village", village_id, county_id, name=data.name)
    return _village_out(await Village.select().where(Village.id == village_id).first())


async def update_village(actor: CurrentUser, village_id: uuid.UUID, data: VillageUpdate):
    values = _set_fields(data)
    await _update(Village, village_id, values, "name")
    row = await Village.select().where(Village.id == village_id).first()
    await audit(actor, "village.updated", "village", village_id, row["county"], **values)
    return _village_out(row)


# Stations ------------------------------------------------------------------------------------


def _station_out(row: dict) -> StationOut:
    return StationOut(
        id=row["id"],
        county_id=row["county"],
        township_id=row["township"],
        village_id=row["village"],
        name=row["name"],
        code=row["code"],
        address=row["address"],
        opened_on=row["opened_on"],
        closed_at=row["closed_at"],
        closed_reason=row["closed_reason"],
        shelves=row["shelves"],
        layers=row["layers"],
        shelf_names=row.get("shelf_names") or "",
        opening_hours=row.get("opening_hours") or "",
    )


async def get_station(station_id: uuid.UUID) -> StationOut:
    row = await Station.select().where(Station.id == station_id).first()
    if row is None:
        raise DomainError("not_found", status=404)
    return _station_out(row)


async def list_stations(county_id: uuid.UUID, include_closed: bool = True) -> list[StationOut]:
    query = Station.select().where(Station.county == county_id).order_by(Station.code)
    if not include_closed:
        query = query.where(Station.closed_at.is_null())
    return [_station_out(row) for row in await query]


async def create_station(
    actor: CurrentUser | None, county_id: uuid.UUID, data: StationCreate
) -> StationOut:
    village = (
        await Village.select(Village.county, Village.township)
        .where(Village.id == data.village_id)
        .first()
    )
    if village is None or village["county"] != county_id:
        raise DomainError("unknown_village", field="village_id")
    station_id = uuid.uuid4()
    await _insert(
        Station(
            id=station_id,
            county=county_id,
            township=village["township"],
            village=data.village_id,
            name=data.name,
            code=data.code,
            address=data.address,
            opened_on=data.opened_on,
            shelves=data.shelves,
            layers=data.layers,
            shelf_names=data.shelf_names,
            opening_hours=data.opening_hours,
        ),
        "code_taken",
        "code",
    )
    await audit(actor, "station.created", "station", station_id, county_id, name=data.name)
    return await get_station(station_id)


async def update_station(actor: CurrentUser, station_id: uuid.UUID, data: StationUpdate):
    values = _set_fields(data)
    await _update(Station, station_id, values, "name")
    station = await get_station(station_id)
    await audit(actor, "station.updated", "station", station_id, station.county_id, **values)
    return station


async def close_station(actor: CurrentUser, station_id: uuid.UUID, reason: str) -> StationOut:
    station = await get_station(station_id)
    if station.closed_at is not None:
        raise DomainError("station_closed", status=409)
    await Station.update({Station.closed_at: clock.utcnow(), Station.closed_reason: reason}).where(
        Station.id == station_id
    )
    await audit(actor, "station.closed", "station", station_id, station.county_id, reason=reason)
    return await get_station(station_id)


async def reopen_station(actor: CurrentUser, station_id: uuid.UUID) -> StationOut:
    station = await get_station(station_id)
    await Station.update({Station.closed_at: None, Station.closed_reason: ""}).where(
        Station.id == station_id
    )
    await audit(actor, "station.reopened", "station", station_id, station.county_id)
    return await get_station(station_id)


# Households (一户一码) ------------------------------------------------------------------------


def _household_out(row: dict) -> HouseholdOut:
    return HouseholdOut(
        id=row["id"],
        county_id=row["county"],
        village_id=row["village"],
        code=row["code"],
        head_name=row["head_name"],
        phone=mask_phone(row["phone"]),
        poverty=row["poverty"],
        sms_opt_out=bool(row.get("sms_opt_out")),
    )


async def list_households(county_id: uuid.UUID) -> list[HouseholdOut]:
    rows = await Household.select().where(Household.county == county_id).order_by(Household.code)
    return [_household_out(row) for row in rows]


async def _village_in_county(village_id: uuid.UUID, county_id: uuid.UUID) -> None:
    village = await Village.select(Village.county).where(Village.id == village_id).first()
    if village is None or village["county"] != county_id:
        raise DomainError("unknown_village", field="village_id")


async def create_household(
    actor: CurrentUser | None, county_id: uuid.UUID, data: HouseholdCreate
) -> HouseholdOut:
    await _village_in_county(data.village_id, county_id)
    household_id = uuid.uuid4()
    await _insert(
        Household(
            id=household_id,
            county=county_id,
            village=data.village_id,
            code=data.code.upper(),
            head_name=data.head_name,
            phone=data.phone or "",
            poverty=data.poverty,
            sms_opt_out=data.sms_opt_out,
        ),
        "code_taken",
        "code",
    )
    await audit(actor, "household.created", "household", household_id, county_id)
    return _household_out(await Household.select().where(Household.id == household_id).first())


async def update_household(actor: CurrentUser, household_id: uuid.UUID, data: HouseholdUpdate):
    values = _set_fields(data, {"village_id": "village"})
    row = await Household.select(Household.county).where(Household.id == household_id).first()
    if "village" in values:
        await _village_in_county(values["village"], row["county"])
    if "phone" in values:
        values["phone"] = values["phone"] or ""
    await _update(Household, household_id, values, "code")
    await audit(
        actor, "household.updated", "household", household_id, row["county"], fields=sorted(values)
    )
    return _household_out(await Household.select().where(Household.id == household_id).first())
