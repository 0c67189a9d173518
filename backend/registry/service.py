"""The registry's logic: creating and changing counties, townships, villages, stations, households.

Every change by staff is audited. Stations are closed, never deleted: the ledger refers to them.
A township's information officer (乡镇电商信息员) changes the households of the township's villages
and its stations' opening and closing days, audited the same way; the guards let them reach only
their township's rows, and these functions hold what a body names (a village) to it too.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
import zoneinfo
from collections.abc import Iterator
from typing import Any

import msgspec

from backend import clock, db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.db import is_integrity_error
from backend.errors import DomainError
from backend.i18n import translate
from backend.params import EARLIEST_DAY
from backend.privacy import mask_phone
from backend.registry import imports, list_file, store
from backend.registry.schemas import (
    STATION_LEVELS,
    CountyCreate,
    CountyOut,
    CountySettings,
    HouseholdCreate,
    HouseholdOut,
    HouseholdUpdate,
    ImportReport,
    ImportRow,
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
from backend.registry.store import poverty as poverty_store


def _set_fields(data: msgspec.Struct, renames: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields a PATCH body actually carries, named as the table's columns."""
    renames = renames or {}
    return {
        renames.get(name, name): value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


@contextlib.contextmanager
def _unique(taken_code: str, field: str) -> Iterator[None]:
    """A unique index refused the row: the field's value is taken (409)."""
    try:
        yield
    except Exception as exc:
        if is_integrity_error(exc):
            raise DomainError(taken_code, status=409, field=field) from exc
        raise


def _officer_township(actor: CurrentUser | None) -> uuid.UUID | None:
    """The township an officer's change is held to (None: staff or a script, held to the county)."""
    return actor.township_scope if actor is not None else None


def _found(row: Any) -> Any:
    if row is None:
        raise DomainError("not_found", status=404)
    return row


# Counties ------------------------------------------------------------------------------------


async def get_county(county_id: uuid.UUID) -> CountyOut:
    return _found(await store.county(county_id))


async def county_today(county_id: uuid.UUID) -> datetime.date:
    """The county's own calendar day now, in its time zone (Xinjiang's day is not Beijing's)."""
    county = await get_county(county_id)
    return clock.utcnow().astimezone(zoneinfo.ZoneInfo(county.timezone)).date()


async def list_counties(user: CurrentUser) -> list[CountyOut]:
    return await store.counties(only=user.county_id)


async def create_county(actor: CurrentUser | None, data: CountyCreate) -> CountyOut:
    if not valid_timezone(data.timezone):
        raise DomainError("unknown_timezone", field="timezone")
    county_id = uuid.uuid4()
    with _unique("code_taken", "code"):
        await store.insert_county(
            county_id=county_id,
            name=data.name,
            code=data.code,
            timezone=data.timezone,
            province=data.province,
        )
    await audit(actor, "county.created", "county", county_id, county_id, name=data.name)
    return await get_county(county_id)


async def update_county(actor: CurrentUser | None, county_id: uuid.UUID, data: CountySettings):
    values = _set_fields(data)
    if "timezone" in values and not valid_timezone(values["timezone"]):
        raise DomainError("unknown_timezone", field="timezone")
    with _unique("name_taken", "name"):
        await store.update_county(county_id, values)
    await audit(actor, "county.updated", "county", county_id, county_id, fields=sorted(values))
    return await get_county(county_id)


# Townships and villages ----------------------------------------------------------------------


async def list_townships(county_id: uuid.UUID) -> list[TownshipOut]:
    return await store.townships(county_id)


def _code_free(places: list[Any], code: str, own_id: uuid.UUID | None = None) -> None:
    """A township's or village's code, when given, is the county's only one (409 `code_taken`)."""
    if code and any(place.code == code and place.id != own_id for place in places):
        raise DomainError("code_taken", status=409, field="code")


async def create_township(
    actor: CurrentUser | None, county_id: uuid.UUID, data: TownshipCreate
) -> TownshipOut:
    _code_free(await store.townships(county_id), data.code)
    township_id = uuid.uuid4()
    with _unique("name_taken", "name"):
        await store.insert_township(
            township_id=township_id,
            county_id=county_id,
            name=data.name,
            code=data.code,
            poor=data.poor,
        )
    await audit(
        actor,
        "township.created",
        "township",
        township_id,
        county_id,
        name=data.name,
        poor=data.poor,
    )
    return _found(await store.township(township_id))


async def update_township(actor: CurrentUser | None, township_id: uuid.UUID, data: TownshipUpdate):
    values = _set_fields(data)
    if values.get("code"):
        current = _found(await store.township(township_id))
        _code_free(await store.townships(current.county_id), values["code"], township_id)
    with _unique("name_taken", "name"):
        await store.update_township(township_id, values)
    township = _found(await store.township(township_id))
    await audit(actor, "township.updated", "township", township_id, township.county_id, **values)
    return township


async def list_villages(
    county_id: uuid.UUID, township_id: uuid.UUID | None = None
) -> list[VillageOut]:
    """The county's villages, or only one township's (a township officer's list)."""
    villages = await store.villages(county_id)
    return [v for v in villages if township_id is None or v.township_id == township_id]


async def create_village(
    actor: CurrentUser | None, county_id: uuid.UUID, data: VillageCreate
) -> VillageOut:
    township = await store.township(data.township_id)
    if township is None or township.county_id != county_id:
        raise DomainError("unknown_township", field="township_id")
    _code_free(await store.villages(county_id), data.code)
    village_id = uuid.uuid4()
    with _unique("name_taken", "name"):
        await store.insert_village(
            village_id=village_id,
            county_id=county_id,
            township_id=data.township_id,
            name=data.name,
            poor=data.poor,
            code=data.code,
        )
    await audit(actor, "village.created", "village", village_id, county_id, name=data.name)
    return _found(await store.village(village_id))


async def update_village(actor: CurrentUser | None, village_id: uuid.UUID, data: VillageUpdate):
    """A new name, or a new 贫困村 flag holding from `poor_from` (default the county's today; not
    ahead of it nor before the village's last change): the change is kept for coverage as of a
    day (poverty.py). The row, the change and the audit are one transaction."""
    before = _found(await store.village(village_id))
    values = {name: v for name, v in _set_fields(data).items() if name != "poor_from"}
    flipped = "poor" in values and values["poor"] != before.poor
    from_day = await _poor_from(before, data.poor_from, flipped)
    async with db.write_transaction():
        with _unique("name_taken", "name"):
            await store.update_village(village_id, values)
        details = dict(values)
        if flipped:
            county_id, poor = before.county_id, values["poor"]
            await poverty_store.insert_poverty_change(county_id, village_id, poor, from_day)
            details["poor_from"] = from_day.isoformat()
        await audit(actor, "village.updated", "village", village_id, before.county_id, **details)
    return await get_village(village_id)


async def _poor_from(
    village: VillageOut, given: datetime.date | msgspec.UnsetType | None, flipped: bool
) -> datetime.date:
    today = await county_today(village.county_id)
    if given is msgspec.UNSET or given is None:
        return today
    if not flipped:
        raise DomainError("village_poor_from_unchanged", field="poor_from")
    changes = (await poverty_store.poverty_changes(village.county_id, village.id)).get(
        village.id, []
    )
    earliest = max([EARLIEST_DAY, *(change.from_day for change in changes)])
    if not earliest <= given <= today:
        raise DomainError(
            "village_poor_from_range",
            field="poor_from",
            earliest=earliest.isoformat(),
            latest=today.isoformat(),
        )
    return given


async def get_village(village_id: uuid.UUID) -> VillageOut:
    """The village with its 贫困村 changes, oldest first."""
    village = _found(await store.village(village_id))
    changes = await poverty_store.poverty_changes(village.county_id, village_id)
    return msgspec.structs.replace(village, poor_changes=changes.get(village_id, []))


# Stations ------------------------------------------------------------------------------------


async def get_station(station_id: uuid.UUID) -> StationOut:
    return _found(await store.station(station_id))


async def list_stations(county_id: uuid.UUID, include_closed: bool = True) -> list[StationOut]:
    return await store.stations(county_id, include_closed)


FIRST_OPENING = datetime.date(2000, 1, 1)


def _check_level(level: str) -> None:
    if level not in STATION_LEVELS:
        raise DomainError("station_unknown_level", field="level", levels=", ".join(STATION_LEVELS))


def _check_opened_on(opened_on: datetime.date, today: datetime.date) -> None:
    """A station opens from 2000 on, and at most a year ahead (one being built)."""
    if not FIRST_OPENING <= opened_on <= today + datetime.timedelta(days=366):
        raise DomainError("station_opened_on_invalid", field="opened_on")


def _check_closed_on(
    closed_on: datetime.date, opened_on: datetime.date | None, today: datetime.date, field: str
) -> None:
    """A station closes on a day it was open (on its opening day at the earliest), not later
    than today: a closing is recorded once it happened."""
    if opened_on is not None and closed_on < opened_on:
        raise DomainError(
            "station_closed_before_opened",
            field=field,
            closed_on=closed_on.isoformat(),
            opened_on=opened_on.isoformat(),
        )
    if closed_on > today:
        raise DomainError("station_closed_on_future", field="closed_on")


async def create_station(
    actor: CurrentUser | None, county_id: uuid.UUID, data: StationCreate
) -> StationOut:
    village = await store.village(data.village_id)
    if village is None or village.county_id != county_id:
        raise DomainError("unknown_village", field="village_id")
    _check_level(data.level)
    today = await county_today(county_id)
    opened_on = data.opened_on or today
    _check_opened_on(opened_on, today)
    station_id = uuid.uuid4()
    with _unique("code_taken", "code"):
        await store.insert_station(
            store.NewStation(
                id=station_id,
                county=county_id,
                township=village.township_id,
                village=data.village_id,
                name=data.name,
                code=data.code,
                address=data.address,
                level=data.level,
                opened_on=opened_on,
                shelves=data.shelves,
                layers=data.layers,
                shelf_names=data.shelf_names,
                opening_hours=data.opening_hours,
            )
        )
    await audit(
        actor,
        "station.created",
        "station",
        station_id,
        county_id,
        name=data.name,
        level=data.level,
        opened_on=opened_on.isoformat(),
    )
    return await get_station(station_id)


# What a township officer may change of a station of their township: the days it opened and
# closed (its file too, in station_file.py); its name, level and shelves, and closing or
# reopening it, stay the county's.
OFFICER_STATION_FIELDS = frozenset({"opened_on", "closed_on"})


def _officer_may_change(actor: CurrentUser | None, values: dict[str, Any]) -> None:
    if _officer_township(actor) is None:
        return
    refused = sorted(set(values) - OFFICER_STATION_FIELDS)
    if refused:
        raise DomainError("officer_station_days_only", status=403, field=refused[0])


async def update_station(actor: CurrentUser | None, station_id: uuid.UUID, data: StationUpdate):
    """Name, address, shelves, level, the opening day, and of a closed station the day it
    closed; checked before anything is written (422 / 409, nothing changes)."""
    values = _set_fields(data)
    _officer_may_change(actor, values)
    current = await get_station(station_id)
    if "level" in values:
        _check_level(values["level"])
    if "opened_on" in values or "closed_on" in values:
        today = await county_today(current.county_id)
        opened_on = values.get("opened_on", current.opened_on)
        if "opened_on" in values:
            _check_opened_on(values["opened_on"], today)
        if "closed_on" in values and current.closed_at is None:
            raise DomainError("station_not_closed", status=409, field="closed_on")
        closed_on = values.get("closed_on", current.closed_on)
        if closed_on is not None:
            field = "closed_on" if "closed_on" in values else "opened_on"
            _check_closed_on(closed_on, opened_on, today, field)
    with _unique("name_taken", "name"):
        await store.update_station(station_id, values)
    station = await get_station(station_id)
    changes = {k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in values.items()}
    await audit(actor, "station.updated", "station", station_id, station.county_id, **changes)
    return station


async def close_station(
    actor: CurrentUser | None,
    station_id: uuid.UUID,
    reason: str,
    closed_on: datetime.date | None = None,
):
    """Closed now, as of `closed_on` (default: the county's today): it no longer counts as
    built from that day, and its keeper can no longer record."""
    station = await get_station(station_id)
    if station.closed_at is not None:
        raise DomainError("station_closed", status=409)
    today = await county_today(station.county_id)
    closed_on = closed_on or today
    _check_closed_on(closed_on, station.opened_on, today, "closed_on")
    await store.set_station_closed(station_id, clock.utcnow(), reason, closed_on)
    await audit(
        actor,
        "station.closed",
        "station",
        station_id,
        station.county_id,
        reason=reason,
        closed_on=closed_on.isoformat(),
    )
    return await get_station(station_id)


async def reopen_station(actor: CurrentUser | None, station_id: uuid.UUID) -> StationOut:
    """Open again: it counts as built from its opening day on, as if never closed (a station
    that was closed for a while and reopens gets a new opening day by PATCH if that matters)."""
    station = await get_station(station_id)
    await store.set_station_closed(station_id, None, "", None)
    await audit(
        actor,
        "station.reopened",
        "station",
        station_id,
        station.county_id,
        closed_on=station.closed_on.isoformat() if station.closed_on else None,
    )
    return await get_station(station_id)


# Households (一户一码) ------------------------------------------------------------------------


def _household_out(row: store.HouseholdRow) -> HouseholdOut:
    return HouseholdOut(
        id=row.id,
        county_id=row.county,
        village_id=row.village,
        code=row.code,
        head_name=row.head_name,
        phone=mask_phone(row.phone),
        poverty=row.poverty,
        sms_opt_out=row.sms_opt_out,
    )


async def get_household(household_id: uuid.UUID) -> HouseholdOut:
    """One household, its phone masked."""
    return _household_out(_found(await store.household(household_id)))


async def list_households(county_id: uuid.UUID) -> list[HouseholdOut]:
    return [_household_out(row) for row in await store.households(county_id)]


async def _village_in_scope(
    village_id: uuid.UUID, county_id: uuid.UUID, township_id: uuid.UUID | None
) -> None:
    """A household's village is the county's, and the officer's township's when one acts."""
    village = await store.village(village_id)
    if village is None or village.county_id != county_id:
        raise DomainError("unknown_village", field="village_id")
    if township_id is not None and village.township_id != township_id:
        raise DomainError("village_outside_township", status=403, field="village_id")


async def create_household(
    actor: CurrentUser | None, county_id: uuid.UUID, data: HouseholdCreate
) -> HouseholdOut:
    await _village_in_scope(data.village_id, county_id, _officer_township(actor))
    household_id = uuid.uuid4()
    with _unique("code_taken", "code"):
        await store.insert_household(
            household_id=household_id,
            county_id=county_id,
            village_id=data.village_id,
            code=data.code.upper(),
            head_name=data.head_name,
            phone=data.phone or "",
            poverty=data.poverty,
            sms_opt_out=data.sms_opt_out,
        )
    await audit(actor, "household.created", "household", household_id, county_id)
    return _household_out(_found(await store.household(household_id)))


async def update_household(
    actor: CurrentUser | None, household_id: uuid.UUID, data: HouseholdUpdate
):
    values = _set_fields(data, {"village_id": "village"})
    county_id = _found(await store.household(household_id)).county
    if "village" in values:
        await _village_in_scope(values["village"], county_id, _officer_township(actor))
    if "phone" in values:
        values["phone"] = values["phone"] or ""
    with _unique("name_taken", "code"):
        await store.update_household(household_id, values)
    await audit(
        actor, "household.updated", "household", household_id, county_id, fields=sorted(values)
    )
    return _household_out(_found(await store.household(household_id)))


async def search_households(
    county_id: uuid.UUID, q: str, limit: int, offset: int, township_id: uuid.UUID | None = None
) -> tuple[list[HouseholdOut], int]:
    """A page of households (phones masked) and how many match, of the county or of one
    township's villages (an officer's list); a full phone number matches nothing but a code
    (only the last four digits search phones)."""
    rows, total = await store.search_households(county_id, q.strip(), limit, offset, township_id)
    return [_household_out(row) for row in rows], total


# Bulk import (建档立卡 list) --------------------------------------------------------------------


def _import_row(report: imports.RowReport, columns: dict[str, str], language: str) -> ImportRow:
    if report.error is None:
        return ImportRow(row=report.row, action=report.action, subject=report.subject)
    column = columns.get(report.field or "") or list_file.COLUMNS[report.field or "village_code"][0]
    return ImportRow(
        row=report.row,
        action="error",
        subject=report.subject,
        field=report.field,
        column=column,
        error=report.error,
        problem=translate(f"import.error.{report.error}", language, column=column, **report.params),
    )


async def import_file(
    actor: CurrentUser | None,
    county_id: uuid.UUID,
    body: bytes,
    *,
    dry_run: bool,
    language: str,
) -> ImportReport:
    """Read the county's list, compare it row by row with the registry and, unless it is a dry
    run or any row is wrong, write it all in one transaction."""
    if len(body) > list_file.MAX_BYTES:
        raise list_file.too_large()
    table = list_file.read_table(body)
    plan = imports.plan(table, await store.import_state(county_id))
    totals = plan.totals()
    written = not dry_run and totals["error"] == 0
    if written:
        with _unique("import_conflict", "household_code"):
            now = clock.utcnow()
            await store.write_import(county_id, plan, now, await county_today(county_id))
        await audit(actor, "registry.imported", "county", county_id, county_id, **plan.counts())
    if dry_run:
        key = "import.message.dry_run_errors" if totals["error"] else "import.message.dry_run"
    else:
        key = "import.message.written" if written else "import.message.refused"
    return ImportReport(
        dry_run=dry_run,
        written=written,
        message=translate(key, language, **totals),
        totals=totals,
        counts=plan.counts(),
        rows=[_import_row(row, table.columns, language) for row in plan.rows],
    )


def import_template(language: str) -> bytes:
    notes = [translate(f"import.template.{key}", language) for key in list_file.TEMPLATE_FIELDS]
    return list_file.template_workbook(
        [
            translate("import.template.intro", language),
            *notes,
            translate("import.template.rule", language),
        ]
    )
