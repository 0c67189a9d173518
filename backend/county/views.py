"""The registry's screens and the county settings form (to be split into the web kit and the
registry's and accounts' own pages)."""

from __future__ import annotations

import decimal
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from backend import db
from backend.accounts import schemas as accounts_schemas
from backend.accounts import service as accounts
from backend.errors import DomainError, problem_document
from backend.privacy import mask_phone
from backend.registry import schemas as registry_schemas
from backend.registry import service as registry
from backend.web.format import Formatter, fen_as_yuan, ltr

# Registry screens: forms described once, validated by the registry's and accounts' own schemas
# and services (their DomainErrors become messages next to the fields). ------------------------


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str = "text"  # text | tel | password | number | date | checkbox | select
    options: str = ""  # which choice list a select offers: townships | villages | stations | ...
    required: bool = False


@dataclass
class FormState:
    """What a form shows: the values typed (kept on error), and an error per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""  # an error that belongs to no field

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message)


def form_values(form: Any, fields: list[FormField]) -> dict[str, Any]:
    """A submitted form as the schema's input: checkboxes as booleans, empty optionals left out."""
    values: dict[str, Any] = {}
    for spec in fields:
        raw = form.get(spec.name)
        if spec.kind == "checkbox":
            values[spec.name] = raw in ("on", "1", "true")
            continue
        text = str(raw).strip() if raw is not None else ""
        if text == "" and not spec.required:
            continue
        values[spec.name] = text
    return values


YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def struct_input(values: dict[str, Any], fields: list[FormField]) -> dict[str, Any]:
    """The typed values as the schema takes them: amounts typed in 元 become integer fen (a value
    that is not an amount is passed on as typed, and the schema refuses it for its field)."""
    converted = dict(values)
    for spec in fields:
        value = values.get(spec.name)
        if spec.kind == "yuan" and isinstance(value, str) and YUAN.match(value):
            converted[spec.name] = int(decimal.Decimal(value) * 100)
    return converted


_MSGSPEC_FIELD = (re.compile(r"\$\.(\w+)"), re.compile(r"field `(\w+)`"))


def validation_field(message: str) -> str:
    for pattern in _MSGSPEC_FIELD:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return ""


def error_state(exc: Exception, values: dict[str, Any], language: str) -> FormState:
    """A refusal as a form to show again: the message under the field it concerns."""
    state = FormState(values=_shown_values(values))
    if isinstance(exc, msgspec.ValidationError):
        name = validation_field(str(exc))
        document = problem_document("invalid_input", 422, language, field=name or None)
    elif isinstance(exc, DomainError):
        name = exc.field or ""
        document = exc.problem(language)
    else:
        raise exc
    if name:
        state.errors[name] = document["detail"]
    else:
        state.message = document["detail"]
    return state


def _shown_values(values: dict[str, Any]) -> dict[str, Any]:
    """Typed input is kept, except passwords."""
    return {name: value for name, value in values.items() if "password" not in name}


def to_struct(values: dict[str, Any], schema: type) -> Any:
    return msgspec.convert(values, schema, strict=False)


async def choices(county_id: uuid.UUID) -> dict[str, list[dict[str, str]]]:
    """The choice lists of the registry forms (townships, villages, open stations)."""
    async with db.read_transaction():
        townships = await db.fetch(
            "SELECT id, name FROM registry_township WHERE county = $1 ORDER BY name", county_id
        )
        villages = await db.fetch(
            "SELECT v.id, v.name, t.name AS township FROM registry_village v "
            "JOIN registry_township t ON t.id = v.township WHERE v.county = $1 "
            "ORDER BY t.name, v.name",
            county_id,
        )
        open_stations = await db.fetch(
            "SELECT id, code, name FROM registry_station WHERE county = $1 AND closed_at IS NULL "
            "ORDER BY code",
            county_id,
        )
    return {
        "townships": [{"value": str(db.as_uuid(r["id"])), "text": r["name"]} for r in townships],
        "villages": [
            {"value": str(db.as_uuid(r["id"])), "text": f"{r['township']} · {r['name']}"}
            for r in villages
        ],
        "stations": [
            {"value": str(db.as_uuid(r["id"])), "text": f"{r['code']} {r['name']}"}
            for r in open_stations
        ],
        "languages": [{"value": code, "text": name} for code, name in LANGUAGE_NAMES.items()],
    }


LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English", "ug": "ئۇيغۇرچە"}


@dataclass(frozen=True)
class RegistryScreen:
    """One registry screen: its list, its create form and its edit form."""

    name: str  # townships | villages | stations | households | keepers
    columns: list[str]  # catalog keys of the list's headers
    create_fields: list[FormField]
    edit_fields: list[FormField]
    create_schema: type
    update_schema: type
    rows: Any  # async (county_id, fmt, choices) -> [{"id", "cells"}]
    create: Any  # async (actor, county_id, struct)
    update: Any  # async (actor, row_id, struct)
    current: Any  # async (row_id) -> the edit form's values
    create_defaults: dict[str, Any] = field(default_factory=dict)


def _names(options: list[dict[str, str]]) -> dict[str, str]:
    return {option["value"]: option["text"] for option in options}


def _yes(fmt: Formatter, value: bool) -> str:
    return fmt.t("county_page.yes") if value else ""


async def _township_rows(county_id, fmt, lists):
    rows = await registry.list_townships(county_id)
    return [{"id": row.id, "cells": [row.name, row.code]} for row in rows]


async def _village_rows(county_id, fmt, lists):
    townships = _names(lists["townships"])
    rows = await registry.list_villages(county_id)
    return [
        {
            "id": row.id,
            "cells": [townships.get(str(row.township_id), ""), row.name, _yes(fmt, row.poor)],
        }
        for row in sorted(rows, key=lambda r: (townships.get(str(r.township_id), ""), r.name))
    ]


async def _station_rows(county_id, fmt, lists):
    villages = _names(lists["villages"])
    rows = await registry.list_stations(county_id)
    return [
        {
            "id": row.id,
            "cells": [
                row.code,
                row.name,
                villages.get(str(row.village_id), ""),
                fmt.date(row.opened_on),
                fmt.t("county_page.closed") if row.closed_at else fmt.t("county_page.open"),
            ],
        }
        for row in rows
    ]


async def _household_rows(county_id, fmt, lists):
    villages = _names(lists["villages"])
    rows = await registry.list_households(county_id)
    return [
        {
            "id": row.id,
            "cells": [
                row.code,
                row.head_name,
                ltr(row.phone),  # masked by the registry service
                villages.get(str(row.village_id), ""),
                _yes(fmt, row.poverty),
            ],
        }
        for row in rows
    ]


async def _keeper_rows(county_id, fmt, lists):
    stations_by_id = _names(lists["stations"])
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT u.id, u.name, u.phone, u.station, u.active, s.code, s.name AS station_name "
            "FROM accounts_user u LEFT JOIN registry_station s ON s.id = u.station "
            "WHERE u.county = $1 AND u.role = 'keeper' ORDER BY s.code, u.name",
            county_id,
        )
    return [
        {
            "id": db.as_uuid(row["id"]),
            "cells": [
                row["name"],
                ltr(mask_phone(row["phone"])),
                stations_by_id.get(str(db.as_uuid(row["station"])), "")
                or f"{row['code'] or ''} {row['station_name'] or ''}".strip(),
                fmt.t("county_page.open") if row["active"] else fmt.t("county_page.inactive"),
            ],
        }
        for row in rows
    ]


async def _row_values(table: str, columns: list[str], row_id: uuid.UUID) -> dict[str, Any]:
    async with db.read_transaction():
        rows = await db.fetch(
            # Table and column names are constants of this module, never input.
            f"SELECT {', '.join(columns)} FROM {table} WHERE id = $1",
            row_id,
        )
    if not rows:
        raise DomainError("not_found", status=404)
    return {
        name: (str(db.as_uuid(value)) if name.endswith("_id") or name == "station" else value)
        for name, value in rows[0].items()
        if value is not None
    }


async def _township_current(row_id):
    return await _row_values("registry_township", ["name", "code"], row_id)


async def _village_current(row_id):
    return await _row_values("registry_village", ["name", "poor"], row_id)


async def _station_current(row_id):
    values = await _row_values(
        "registry_station",
        ["code", "name", "address", "shelves", "layers", "closed_at", "closed_reason"],
        row_id,
    )
    values["closed"] = values.pop("closed_at", None) is not None
    return values


async def _household_current(row_id):
    values = await _row_values(
        "registry_household",
        ["code", "head_name", "phone", "poverty", "sms_opt_out", "village", "county"],
        row_id,
    )
    values["village_id"] = str(db.as_uuid(values.pop("village")))
    # The household card (一户一码): its QR, printable from the edit page.
    county_id = db.as_uuid(values.pop("county"))
    values["card_url"] = f"/api/v1/counties/{county_id}/households/{row_id}/card.svg"
    # The number is not put back into the form (it would be shown in full): empty keeps it.
    values["phone_masked"] = mask_phone(values.pop("phone", ""))
    return values


async def _keeper_current(row_id):
    values = await _row_values(
        "accounts_user", ["name", "phone", "station", "language", "active", "role"], row_id
    )
    if "station" in values:
        values["station_id"] = values.pop("station")
    values["phone_masked"] = mask_phone(values.pop("phone", ""))
    return values


async def _create_keeper(actor, county_id, data):
    return await accounts.create_user(actor, county_id, data)


async def _update_keeper(actor, row_id, data):
    return await accounts.update_user(actor, row_id, data)


async def _update_household(actor, row_id, data):
    return await registry.update_household(actor, row_id, data)


class Nothing(msgspec.Struct, forbid_unknown_fields=True):
    """A form with no fields (reopening a station)."""


class KeeperCreate(msgspec.Struct, forbid_unknown_fields=True):
    """The keeper form: the accounts schema with the role fixed to keeper."""

    phone: str
    name: str
    password: str
    station_id: uuid.UUID | None = None
    language: str = "zh-CN"


async def _create_keeper_checked(actor, county_id, data: KeeperCreate):
    user = msgspec.convert(
        {**msgspec.structs.asdict(data), "role": "keeper"}, accounts_schemas.UserCreate
    )
    return await _create_keeper(actor, county_id, user)


REGISTRY_SCREENS: dict[str, RegistryScreen] = {
    "townships": RegistryScreen(
        name="townships",
        columns=["field.name", "field.code"],
        create_fields=[FormField("name", required=True), FormField("code")],
        edit_fields=[FormField("name", required=True), FormField("code")],
        create_schema=registry_schemas.TownshipCreate,
        update_schema=registry_schemas.TownshipUpdate,
        rows=_township_rows,
        create=registry.create_township,
        update=registry.update_township,
        current=_township_current,
    ),
    "villages": RegistryScreen(
        name="villages",
        columns=["field.township_id", "field.name", "county_page.poor_village"],
        create_fields=[
            FormField("township_id", "select", "townships", required=True),
            FormField("name", required=True),
            FormField("poor", "checkbox"),
        ],
        edit_fields=[FormField("name", required=True), FormField("poor", "checkbox")],
        create_schema=registry_schemas.VillageCreate,
        update_schema=registry_schemas.VillageUpdate,
        rows=_village_rows,
        create=registry.create_village,
        update=registry.update_village,
        current=_village_current,
    ),
    "stations": RegistryScreen(
        name="stations",
        columns=[
            "field.code",
            "field.name",
            "field.village_id",
            "field.opened_on",
            "county_page.col.state",
        ],
        create_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("name", required=True),
            FormField("code", required=True),
            FormField("address"),
            FormField("opened_on", "date"),
            FormField("shelves", "number"),
            FormField("layers", "number"),
        ],
        edit_fields=[
            FormField("name", required=True),
            FormField("address"),
            FormField("shelves", "number", required=True),
            FormField("layers", "number", required=True),
        ],
        create_schema=registry_schemas.StationCreate,
        update_schema=registry_schemas.StationUpdate,
        rows=_station_rows,
        create=registry.create_station,
        update=registry.update_station,
        current=_station_current,
        create_defaults={"shelves": 6, "layers": 4},
    ),
    "households": RegistryScreen(
        name="households",
        columns=[
            "field.code",
            "field.head_name",
            "field.phone",
            "field.village_id",
            "field.poverty",
        ],
        create_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("code", required=True),
            FormField("head_name"),
            FormField("phone", "tel"),
            FormField("poverty", "checkbox"),
            FormField("sms_opt_out", "checkbox"),
        ],
        edit_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("head_name"),
            FormField("phone", "tel"),
            FormField("poverty", "checkbox"),
            FormField("sms_opt_out", "checkbox"),
        ],
        create_schema=registry_schemas.HouseholdCreate,
        update_schema=registry_schemas.HouseholdUpdate,
        rows=_household_rows,
        create=registry.create_household,
        update=_update_household,
        current=_household_current,
        create_defaults={"poverty": True},
    ),
    "keepers": RegistryScreen(
        name="keepers",
        columns=["field.name", "field.phone", "field.station_id", "county_page.col.state"],
        create_fields=[
            FormField("station_id", "select", "stations", required=True),
            FormField("name", required=True),
            FormField("phone", "tel", required=True),
            FormField("password", "password", required=True),
            FormField("language", "select", "languages"),
        ],
        edit_fields=[
            FormField("name", required=True),
            FormField("station_id", "select", "stations", required=True),
            FormField("language", "select", "languages"),
            FormField("active", "checkbox"),
        ],
        create_schema=KeeperCreate,
        update_schema=accounts_schemas.UserUpdate,
        rows=_keeper_rows,
        create=_create_keeper_checked,
        update=_update_keeper,
        current=_keeper_current,
    ),
}


# County settings: the programme's targets, the parcel and subsidy rules, the reminder's hour.

SETTINGS_FIELDS = [
    FormField("target_township_pct", "number", required=True),
    FormField("target_village_pct", "number", required=True),
    FormField("target_poor_village_pct", "number", required=True),
    FormField("subsidy_fen_per_parcel", "yuan", required=True),
    FormField("subsidy_monthly_cap_fen", "yuan", required=True),
    FormField("subsidy_farm_only", "checkbox"),
    FormField("parcel_free_days", "number", required=True),
    FormField("parcel_daily_fee_fen", "yuan", required=True),
    FormField("parcel_fee_cap_fen", "yuan", required=True),
    FormField("parcel_return_days", "number", required=True),
    FormField("checkin_reminder_weekday", "select", "weekdays", required=True),
    FormField("checkin_reminder_hour", "number", required=True),
]


async def county_settings_values(county_id: uuid.UUID) -> dict[str, Any]:
    county = await registry.get_county(county_id)
    values: dict[str, Any] = {}
    for spec in SETTINGS_FIELDS:
        value = getattr(county, spec.name)
        values[spec.name] = fen_as_yuan(value) if spec.kind == "yuan" else value
    return values


def weekday_choices(fmt: Formatter) -> list[dict[str, str]]:
    return [{"value": str(n), "text": fmt.t(f"county_page.weekday.{n}")} for n in range(1, 8)]


# The county's 代发 price table: carriers × weight bands, fees typed in 元 -----------------------

PRICE_BAND_COLUMNS = 6  # the bands in use, and room for one more


def _yuan_to_fen(text: str) -> int | None:
    """元 as typed ("12", "12.5", "12,5" from a Uyghur or Chinese keyboard) to fen; else None."""
    value = text.strip().replace("，", ",").replace("¥", "").replace("￥", "")
    if re.fullmatch(r"\d{1,7},\d{1,2}", value):
        value = value.replace(",", ".")
    if not YUAN.match(value):
        return None
    return int(decimal.Decimal(value) * 100)


def _kg_to_grams(text: str) -> int | None:
    value = text.strip().replace(",", ".")
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3})?", value):
        return None
    grams = int(decimal.Decimal(value) * 1000)
    return grams if 0 < grams <= 200_000 else None


def _grams_as_kg(grams: int) -> str:
    whole, rest = divmod(int(grams), 1000)
    return f"{whole}.{rest:03d}".rstrip("0") if rest else str(whole)


def price_form_values(county_prices: dict[str, list[list[int]]]) -> dict[str, str]:
    """The stored table as the form shows it: one column per weight band used by any carrier
    (the built-in bands while the county has none), a fee cell per carrier and band."""
    from backend.counter.service import DEFAULT_BANDS

    weights = sorted({grams for bands in county_prices.values() for grams, _ in bands})
    weights = (weights or [grams for grams, _ in DEFAULT_BANDS])[:PRICE_BAND_COLUMNS]
    values = {f"band_{i}": _grams_as_kg(grams) for i, grams in enumerate(weights)}
    for carrier, bands in county_prices.items():
        for grams, fee in bands:
            if grams in weights:
                values[f"fee_{carrier}_{weights.index(grams)}"] = fen_as_yuan(fee)
    return values


def price_form_values_typed(form: Any) -> dict[str, str]:
    """The submitted grid as typed (what the form shows again after a refusal)."""
    from backend.counter.service import CARRIERS

    values: dict[str, str] = {}
    for i in range(PRICE_BAND_COLUMNS):
        values[f"band_{i}"] = str(form.get(f"band_{i}") or "").strip()[:20]
        for carrier in CARRIERS:
            values[f"fee_{carrier}_{i}"] = str(form.get(f"fee_{carrier}_{i}") or "").strip()[:20]
    return values


def price_form_input(values: dict[str, str]) -> dict[str, list[list[int]]]:
    """The typed grid as the price table check_prices takes. A fee that is not an amount, or a
    fee in a column without a weight, is refused here, with the cell it concerns. A carrier with
    some fees typed keeps the built-in fee (the grey one) in the cells left empty, so no weight
    falls out of its table."""
    from backend.counter.service import CARRIERS

    greyed = price_placeholders(values)

    weights: list[int | None] = []
    for i in range(PRICE_BAND_COLUMNS):
        text = values[f"band_{i}"]
        grams = _kg_to_grams(text) if text else None
        if text and grams is None:
            raise DomainError("price_weight_format", field=f"band_{i}")
        weights.append(grams)
    prices: dict[str, list[list[int]]] = {}
    for carrier in CARRIERS:
        bands = []
        typed = any(values[f"fee_{carrier}_{i}"] for i in range(PRICE_BAND_COLUMNS))
        for i, grams in enumerate(weights):
            name = f"fee_{carrier}_{i}"
            text = values[name] or (greyed.get(name, "") if typed else "")
            if not text:
                continue
            fee = _yuan_to_fen(text)
            if fee is None:
                raise DomainError("price_fee_format", field=f"fee_{carrier}_{i}")
            if grams is None:
                raise DomainError("price_weight_format", field=f"band_{i}")
            bands.append([grams, fee])
        if bands:
            prices[carrier] = bands
    return prices


def price_placeholders(values: dict[str, str]) -> dict[str, str]:
    """The built-in fee of each cell whose column weight is a built-in band: shown greyed, what a
    carrier left empty is charged."""
    from backend.counter.service import CARRIERS, DEFAULT_BANDS, DEFAULT_PRICES

    shown: dict[str, str] = {}
    for i in range(PRICE_BAND_COLUMNS):
        grams = _kg_to_grams(values.get(f"band_{i}") or "")
        for carrier in CARRIERS:
            for upto, fee in DEFAULT_PRICES.get(carrier, DEFAULT_BANDS):
                if upto == grams:
                    shown[f"fee_{carrier}_{i}"] = fen_as_yuan(fee)
    return shown
