"""The only code that touches the registry's tables: counties, townships, villages, stations,
households. Other capabilities read and change them through these functions.

Rows leave as msgspec Structs: the registry's own `…Out` shapes where the API shows a row as it
is stored, `HouseholdRow` where the phone is still whole (the service masks it). Inserts and
updates let the database's integrity error through; the service says which field was taken.
Reads run in the caller's transaction when there is one (counter and jobs read the registry and
the ledger in one).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec
from piccolo.columns import Column
from piccolo.table import Table

from backend import db
from backend.registry import imports
from backend.registry.schemas import CountyOut, StationOut, TownshipOut, VillageOut
from backend.registry.tables import County, Household, Station, Township, Village


async def _insert(row: Table) -> None:
    await type(row).insert(row)


async def _update(table: type[Table], row_id: uuid.UUID, values: dict[str, Any]) -> None:
    """`values` by column name."""
    if values:
        columns: dict[Column | str, Any] = {
            table._meta.get_column_by_name(name): value for name, value in values.items()
        }
        await table.update(columns).where(table._meta.primary_key == row_id)


# Counties --------------------------------------------------------------------------------------


def _county_out(row: dict) -> CountyOut:
    return msgspec.convert(row, CountyOut, from_attributes=False, strict=False)


async def county(county_id: uuid.UUID) -> CountyOut | None:
    row = await County.select().where(County.id == county_id).first()
    return _county_out(row) if row else None


async def counties(only: uuid.UUID | None = None) -> list[CountyOut]:
    """Every county by name, or just `only`."""
    query = County.select().order_by(County.name)
    if only is not None:
        query = query.where(County.id == only)
    return [_county_out(row) for row in await query]


async def county_id_by_code(code: str) -> uuid.UUID | None:
    row = await County.select(County.id).where(County.code == code).first()
    return row["id"] if row else None


async def any_county() -> bool:
    return await County.count() > 0


async def insert_county(
    *, county_id: uuid.UUID, name: str, code: str, timezone: str, province: str
) -> None:
    await _insert(County(id=county_id, name=name, code=code, timezone=timezone, province=province))


async def update_county(county_id: uuid.UUID, values: dict[str, Any]) -> None:
    await _update(County, county_id, values)


class CountySchedule(msgspec.Struct, frozen=True):
    """What the scheduled jobs need of a county: its clock and its parcel and reminder rules."""

    id: uuid.UUID
    timezone: str
    checkin_reminder_weekday: int
    checkin_reminder_hour: int
    parcel_free_days: int
    parcel_return_days: int


async def county_schedules() -> list[CountySchedule]:
    """Every county, by code."""
    rows = await db.fetch_once(
        "SELECT id, timezone, checkin_reminder_weekday, checkin_reminder_hour, parcel_free_days, "
        "parcel_return_days FROM registry_county ORDER BY code"
    )
    return [msgspec.convert({**row, "id": db.as_uuid(row["id"])}, CountySchedule) for row in rows]


async def county_dispatch_prices(county_id: uuid.UUID) -> str | None:
    """The county's 代发 price table as stored (JSON text, "" = none); None: no such county."""
    rows = await db.fetch_once(
        "SELECT dispatch_prices FROM registry_county WHERE id = $1", county_id
    )
    return rows[0]["dispatch_prices"] if rows else None


async def set_county_dispatch_prices(county_id: uuid.UUID, prices: str) -> None:
    async with db.write_transaction():
        await db.execute(
            "UPDATE registry_county SET dispatch_prices = $1 WHERE id = $2", prices, county_id
        )


# Townships and villages ------------------------------------------------------------------------


def _township_out(row: dict) -> TownshipOut:
    return TownshipOut(
        id=row["id"],
        county_id=row["county"],
        name=row["name"],
        code=row["code"],
        poor=bool(row.get("poor")),
    )


async def township(township_id: uuid.UUID) -> TownshipOut | None:
    row = await Township.select().where(Township.id == township_id).first()
    return _township_out(row) if row else None


async def townships(county_id: uuid.UUID) -> list[TownshipOut]:
    rows = await Township.select().where(Township.county == county_id).order_by(Township.name)
    return [_township_out(row) for row in rows]


async def insert_township(
    *, township_id: uuid.UUID, county_id: uuid.UUID, name: str, code: str, poor: bool = False
) -> None:
    await _insert(Township(id=township_id, county=county_id, name=name, code=code, poor=poor))


async def update_township(township_id: uuid.UUID, values: dict[str, Any]) -> None:
    await _update(Township, township_id, values)


def _village_out(row: dict) -> VillageOut:
    return VillageOut(
        id=row["id"],
        county_id=row["county"],
        township_id=row["township"],
        name=row["name"],
        poor=row["poor"],
        code=row.get("code") or "",
    )


async def village(village_id: uuid.UUID) -> VillageOut | None:
    row = await Village.select().where(Village.id == village_id).first()
    return _village_out(row) if row else None


async def villages(county_id: uuid.UUID) -> list[VillageOut]:
    rows = await Village.select().where(Village.county == county_id).order_by(Village.name)
    return [_village_out(row) for row in rows]


async def insert_village(
    *,
    village_id: uuid.UUID,
    county_id: uuid.UUID,
    township_id: uuid.UUID,
    name: str,
    poor: bool,
    code: str = "",
) -> None:
    await _insert(
        Village(
            id=village_id, county=county_id, township=township_id, name=name, poor=poor, code=code
        )
    )


async def update_village(village_id: uuid.UUID, values: dict[str, Any]) -> None:
    await _update(Village, village_id, values)


# Stations --------------------------------------------------------------------------------------


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
        level=row.get("level") or "village",
        closed_on=row.get("closed_on"),
    )


async def station(station_id: uuid.UUID) -> StationOut | None:
    row = await Station.select().where(Station.id == station_id).first()
    return _station_out(row) if row else None


async def stations(county_id: uuid.UUID, include_closed: bool = True) -> list[StationOut]:
    query = Station.select().where(Station.county == county_id).order_by(Station.code)
    if not include_closed:
        query = query.where(Station.closed_at.is_null())
    return [_station_out(row) for row in await query]


class NewStation(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county: uuid.UUID
    township: uuid.UUID
    village: uuid.UUID
    name: str
    code: str
    address: str
    level: str
    opened_on: datetime.date
    shelves: int
    layers: int
    shelf_names: str
    opening_hours: str


async def insert_station(new: NewStation) -> None:
    await _insert(Station(**msgspec.structs.asdict(new)))


async def update_station(station_id: uuid.UUID, values: dict[str, Any]) -> None:
    await _update(Station, station_id, values)


async def set_station_closed(
    station_id: uuid.UUID,
    closed_at: datetime.datetime | None,
    reason: str,
    closed_on: datetime.date | None = None,
) -> None:
    """Closed (the moment recorded, the county-local day it closed, why) or open again (None)."""
    await _update(
        Station,
        station_id,
        {"closed_at": closed_at, "closed_reason": reason, "closed_on": closed_on},
    )


async def open_stations_by(county_id: uuid.UUID, opened_before: datetime.date) -> list[uuid.UUID]:
    """The county's stations not closed and opened before that day (or on no set day), by code."""
    rows = await db.fetch_once(
        "SELECT id FROM registry_station WHERE county = $1 AND closed_at IS NULL "
        "AND (opened_on IS NULL OR opened_on < $2) ORDER BY code",
        county_id,
        opened_before,
    )
    return [db.as_uuid(row["id"]) for row in rows]


class ShelfRow(msgspec.Struct, frozen=True):
    """The shelf grid a keeper set up, and the opening hours the pickup notice tells."""

    shelves: int
    layers: int
    shelf_names: str  # comma-separated, in shelf order
    opening_hours: str


async def shelf(station_id: uuid.UUID) -> ShelfRow | None:
    rows = await db.fetch_once(
        "SELECT shelves, layers, shelf_names, opening_hours FROM registry_station WHERE id = $1",
        station_id,
    )
    return msgspec.convert(rows[0], ShelfRow) if rows else None


async def set_shelf(station_id: uuid.UUID, shelf: ShelfRow) -> None:
    async with db.write_transaction():
        await db.execute(
            "UPDATE registry_station SET shelves = $1, layers = $2, shelf_names = $3, "
            "opening_hours = $4 WHERE id = $5",
            shelf.shelves,
            shelf.layers,
            shelf.shelf_names,
            shelf.opening_hours,
            station_id,
        )


class StationPrices(msgspec.Struct, frozen=True):
    """The 代发 price tables as stored (JSON text, "" = none): the station's own, its county's."""

    own: str
    county: str


async def station_prices(station_id: uuid.UUID) -> StationPrices | None:
    rows = await db.fetch_once(
        "SELECT s.dispatch_prices AS own, c.dispatch_prices AS county FROM registry_station s "
        "JOIN registry_county c ON c.id = s.county WHERE s.id = $1",
        station_id,
    )
    return StationPrices(own=rows[0]["own"] or "", county=rows[0]["county"] or "") if rows else None


async def set_station_dispatch_prices(station_id: uuid.UUID, prices: str) -> None:
    async with db.write_transaction():
        await db.execute(
            "UPDATE registry_station SET dispatch_prices = $1 WHERE id = $2", prices, station_id
        )


# Households (一户一码) --------------------------------------------------------------------------


class HouseholdRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county: uuid.UUID
    village: uuid.UUID
    code: str
    head_name: str
    phone: str  # whole: mask it before it leaves for staff
    poverty: bool
    sms_opt_out: bool


def _household_row(row: dict) -> HouseholdRow:
    return HouseholdRow(
        id=row["id"],
        county=row["county"],
        village=row["village"],
        code=row["code"],
        head_name=row["head_name"],
        phone=row["phone"],
        poverty=row["poverty"],
        sms_opt_out=bool(row.get("sms_opt_out")),
    )


async def household(household_id: uuid.UUID) -> HouseholdRow | None:
    row = await Household.select().where(Household.id == household_id).first()
    return _household_row(row) if row else None


async def households(county_id: uuid.UUID) -> list[HouseholdRow]:
    rows = await Household.select().where(Household.county == county_id).order_by(Household.code)
    return [_household_row(row) for row in rows]


async def insert_household(
    *,
    household_id: uuid.UUID,
    county_id: uuid.UUID,
    village_id: uuid.UUID,
    code: str,
    head_name: str,
    phone: str,
    poverty: bool,
    sms_opt_out: bool,
) -> None:
    await _insert(
        Household(
            id=household_id,
            county=county_id,
            village=village_id,
            code=code,
            head_name=head_name,
            phone=phone,
            poverty=poverty,
            sms_opt_out=sms_opt_out,
        )
    )


async def update_household(household_id: uuid.UUID, values: dict[str, Any]) -> None:
    await _update(Household, household_id, values)


class HouseholdCard(msgspec.Struct, frozen=True):
    """What the household's printed card (一户一码) shows."""

    code: str
    head_name: str
    county_code: str
    village: str


async def household_card(
    county_id: uuid.UUID, household_id: uuid.UUID, township_id: uuid.UUID | None = None
) -> HouseholdCard | None:
    """The card of a household of the county (of the township's villages, when one is given)."""
    rows = await db.fetch_once(
        "SELECT h.code, h.head_name, c.code AS county_code, v.name AS village, v.township "
        "FROM registry_household h JOIN registry_county c ON c.id = h.county "
        "JOIN registry_village v ON v.id = h.village WHERE h.id = $1 AND h.county = $2",
        household_id,
        county_id,
    )
    if not rows or (township_id is not None and db.as_uuid(rows[0]["township"]) != township_id):
        return None
    return msgspec.convert(rows[0], HouseholdCard)


class HouseholdAtCounter(msgspec.Struct, frozen=True):
    id: uuid.UUID
    code: str
    head_name: str
    phone: str
    village: str


async def household_by_code(county_id: uuid.UUID, code: str) -> HouseholdAtCounter | None:
    rows = await db.fetch_once(
        "SELECT h.id, h.code, h.head_name, h.phone, v.name AS village "
        "FROM registry_household h JOIN registry_village v ON v.id = h.village "
        "WHERE h.county = $1 AND h.code = $2",
        county_id,
        code,
    )
    if not rows:
        return None
    return msgspec.convert({**rows[0], "id": db.as_uuid(rows[0]["id"])}, HouseholdAtCounter)


# Bulk import and search ------------------------------------------------------------------------


async def import_state(county_id: uuid.UUID) -> imports.Existing:
    """The county's townships, villages and households as the import compares them."""
    async with db.read_transaction():
        townships = await db.fetch(
            "SELECT id, code, name, poor FROM registry_township WHERE county = $1", county_id
        )
        villages = await db.fetch(
            "SELECT id, code, name, township, poor FROM registry_village WHERE county = $1",
            county_id,
        )
        households = await db.fetch(
            "SELECT id, code, village, head_name, phone, poverty FROM registry_household "
            "WHERE county = $1",
            county_id,
        )
    return imports.Existing(
        townships=[
            imports.Place(
                id=db.as_uuid(row["id"]),
                code=row["code"] or "",
                name=row["name"],
                poor=bool(row["poor"]),
            )
            for row in townships
        ],
        villages=[
            imports.Place(
                id=db.as_uuid(row["id"]),
                code=row["code"] or "",
                name=row["name"],
                township_id=db.as_uuid(row["township"]),
                poor=bool(row["poor"]),
            )
            for row in villages
        ],
        households=[
            imports.Home(
                id=db.as_uuid(row["id"]),
                code=row["code"],
                village_id=db.as_uuid(row["village"]),
                head_name=row["head_name"] or "",
                phone=row["phone"] or "",
                poverty=bool(row["poverty"]),
            )
            for row in households
        ],
    )


async def write_import(
    county_id: uuid.UUID, plan: imports.Plan, now: datetime.datetime, today: datetime.date
) -> None:
    """The plan's inserts and updates in one transaction, a statement per kind (executemany)."""
    async with db.write_transaction():
        await db.executemany(
            "UPDATE registry_township SET name = $1, code = $2, poor = $3 WHERE id = $4",
            [(t.name, t.code, t.poor, t.id) for t in plan.changed_townships.values()],
        )
        await db.executemany(
            "INSERT INTO registry_township (id, county, name, code, poor) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(t.id, county_id, t.name, t.code, t.poor) for t in plan.new_townships.values()],
        )
        # A flag the list flips holds from the import's day (the change is kept before the row).
        await db.executemany(
            "INSERT INTO registry_village_poverty (id, county, village, poor, from_day, "
            "recorded_at) SELECT $1, county, id, $2, $3, $4 FROM registry_village "
            "WHERE id = $5 AND poor <> $2",
            [(uuid.uuid4(), v.poor, today, now, v.id) for v in plan.changed_villages.values()],
        )
        await db.executemany(
            "UPDATE registry_village SET name = $1, code = $2, poor = $3 WHERE id = $4",
            [(v.name, v.code, v.poor, v.id) for v in plan.changed_villages.values()],
        )
        await db.executemany(
            "INSERT INTO registry_village (id, county, township, name, code, poor) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (v.id, county_id, v.township_id, v.name, v.code, v.poor)
                for v in plan.new_villages.values()
            ],
        )
        await db.executemany(
            "UPDATE registry_household SET village = $1, head_name = $2, phone = $3, "
            "poverty = $4 WHERE id = $5",
            [
                (h.village_id, h.head_name, h.phone, h.poverty, h.id)
                for h in plan.changed_households.values()
            ],
        )
        await db.executemany(
            "INSERT INTO registry_household (id, county, village, code, head_name, phone, "
            "poverty, sms_opt_out, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                (h.id, county_id, h.village_id, h.code, h.head_name, h.phone, h.poverty, False, now)
                for h in plan.new_households.values()
            ],
        )


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_households(
    county_id: uuid.UUID, q: str, limit: int, offset: int, township_id: uuid.UUID | None = None
) -> tuple[list[HouseholdRow], int]:
    """A page of the county's households (or of one township's villages) by code, and how many
    match. `q` matches a code or the head's name (anywhere in it), or, when it is four digits,
    the phone's last four."""
    where = "county = $1"
    args: list[Any] = [county_id]
    if township_id is not None:
        args.append(township_id)
        where += f" AND village IN (SELECT id FROM registry_village WHERE township = ${len(args)})"
    if q:
        n = len(args)
        args += [f"%{_like(q.upper())}%", f"%{_like(q.lower())}%"]
        terms = [f"code LIKE ${n + 1} ESCAPE '\\'", f"LOWER(head_name) LIKE ${n + 2} ESCAPE '\\'"]
        if len(q) == 4 and q.isascii() and q.isdigit():
            args.append(f"%{q}")
            terms.append(f"phone LIKE ${n + 3}")
        where += f" AND ({' OR '.join(terms)})"
    n = len(args)
    async with db.read_transaction():
        total = await db.fetch(f"SELECT COUNT(*) AS n FROM registry_household WHERE {where}", *args)
        rows = await db.fetch(
            "SELECT id, county, village, code, head_name, phone, poverty, sms_opt_out "
            f"FROM registry_household WHERE {where} ORDER BY code LIMIT ${n + 1} OFFSET ${n + 2}",
            *args,
            limit,
            offset,
        )
    households = [
        _household_row(
            {
                **row,
                "id": db.as_uuid(row["id"]),
                "county": db.as_uuid(row["county"]),
                "village": db.as_uuid(row["village"]),
                "poverty": bool(row["poverty"]),
            }
        )
        for row in rows
    ]
    return households, int(total[0]["n"])
