"""Trace batches: checking a new batch against the county's registry, drawing its code, the list
with scans, and the public view of a batch (what a buyer may see, nothing personal)."""

from __future__ import annotations

import datetime
import decimal
import io
import re
import secrets
import uuid

import msgspec

from backend import clock, db
from backend.accounts import service as accounts
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError
from backend.registry import service as registry
from backend.registry import store as registry_store
from backend.trace import store
from backend.trace.schemas import MonthScansOut, TraceBatchCreate, TraceBatchOut

# What a label may say, as codes (the catalogs hold the words); the Chinese words are taken too.
UNITS = {"kg": "kg", "公斤": "kg", "千克": "kg", "jin": "jin", "斤": "jin", "box": "box",
         "箱": "box", "piece": "piece", "件": "piece", "item": "item", "个": "item"}  # fmt: skip
UNIT_CODES = ("kg", "jin", "box", "piece", "item")
INSPECTIONS = ("passed", "failed")
CERTIFICATIONS = {"pollution_free": "pollution_free", "无公害": "pollution_free",
                  "green": "green", "绿色": "green", "organic": "organic", "有机": "organic",
                  "geo_indication": "geo_indication", "地理标志": "geo_indication"}  # fmt: skip
CERTIFICATION_CODES = ("pollution_free", "green", "organic", "geo_indication")

# Crockford's base32: no I, L, O, U, so a code read aloud or typed from a label is unambiguous.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 8  # 40 random bits: guessing one of a county's thousand codes takes ~10⁹ tries
_CODE = re.compile(r"^([A-Z0-9]{1,8})-([0-9A-Z]{8})$")
_TYPED_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})

# Visits that are not a buyer scanning: crawlers, link previews, command-line fetchers and headless
# browsers. An empty User-Agent is no phone either.
_BOT = re.compile(
    r"bot|spider|crawl|slurp|preview|facebookexternalhit|curl|wget|python-requests|"
    r"python-urllib|go-http-client|headless",
    re.IGNORECASE,
)


def is_bot(user_agent: str | None) -> bool:
    return not user_agent or bool(_BOT.search(user_agent))


def _prefix(county_code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", county_code.upper())[:8] or "CZ"


def new_code(county_code: str) -> str:
    tail = "".join(secrets.choice(CROCKFORD) for _ in range(RANDOM_LENGTH))
    return f"{_prefix(county_code)}-{tail}"


def normalize_code(text: str) -> str | None:
    """A code as typed or scanned: any case, I/L read as 1 and O as 0 in the random part."""
    match = _CODE.match(text.strip().upper())
    if not match:
        return None
    return f"{match.group(1)}-{match.group(2).translate(_TYPED_AS)}"


async def existing_codes(county_id: uuid.UUID, codes: list[str] | None = None) -> set[str]:
    """Those of `codes` (normalized) that name a batch of the county, every code when None: what
    the ledger checks a 代销's `batch_code` against."""
    if codes is not None and not codes:
        return set()
    return await store.existing_codes(county_id, codes)


def page_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/t/{code}"


def qr_svg(url: str, scale: int = 4, inline: bool = False) -> str:
    import segno  # here, not at start-up: ~9 MB of every process for a rare label

    qr = segno.make(url, error="m", micro=False)
    if inline:
        return qr.svg_inline(scale=scale, border=2, omitsize=True)  # a viewBox: CSS sizes it
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=scale, border=2)
    return out.getvalue().decode()


def _quantity_milli(quantity: float | None) -> int | None:
    if quantity is None:
        return None
    milli = decimal.Decimal(repr(quantity)) * 1000
    if milli != milli.to_integral_value() or milli < 1:
        raise DomainError("invalid_input", field="quantity")
    return int(milli)


def _choice(value: str | None, allowed: dict[str, str] | tuple[str, ...], field: str) -> str:
    if value is None or value.strip() == "":
        return ""
    text = value.strip()
    if isinstance(allowed, dict):
        chosen = allowed.get(text) or allowed.get(text.lower())
    else:
        chosen = text.lower() if text.lower() in allowed else None
    if chosen is None:
        raise DomainError("invalid_input", field=field)
    return chosen


# The schema's pattern lets a trailing newline through (`$` matches before it): checked again here.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _line(text: str | None, field: str) -> str:
    value = (text or "").strip()
    if _CONTROL.search(text or ""):
        raise DomainError("invalid_input", field=field)
    return value


async def _checked(county_id: uuid.UUID, data: TraceBatchCreate) -> dict:
    """The batch's values once every reference is known to be in this county; else a refusal
    naming the field, before anything is written."""
    product = _line(data.product, "product")
    if not product:
        raise DomainError("invalid_input", field="product")
    unit = _choice(data.unit, UNITS, "unit")
    quantity_milli = _quantity_milli(data.quantity)
    if quantity_milli is not None and not unit:
        raise DomainError("trace_unit_needed", field="unit")
    village_id = data.village_id
    if village_id is not None:
        village = await registry_store.village(village_id)
        if village is None or db.as_uuid(village.county_id) != county_id:
            raise DomainError("unknown_village", field="village_id")
    if data.station_id is not None:
        station = await registry_store.station(data.station_id)
        if station is None or db.as_uuid(station.county_id) != county_id:
            raise DomainError("unknown_station", field="station_id")
    household_id = None
    household_code = _line(data.household_code, "household_code")
    if household_code:
        found = await registry_store.household_by_code(county_id, household_code)
        if found is None:
            raise DomainError("trace_unknown_household", field="household_code")
        household = await registry_store.household(found.id)
        if (
            household is not None
            and village_id is not None
            and db.as_uuid(household.village) != village_id
        ):
            raise DomainError("trace_household_elsewhere", field="household_code")
        household_id = found.id
        if village_id is None and household is not None:
            village_id = db.as_uuid(household.village)  # the household's village is the origin
    if data.harvested_on is not None and data.harvested_on > await registry.county_today(county_id):
        raise DomainError("trace_harvest_in_future", field="harvested_on")
    return {
        "product": product,
        "village": village_id,
        "household": household_id,
        "station": data.station_id,
        "harvested_on": data.harvested_on,
        "quantity_milli": quantity_milli,
        "unit": unit,
        "inspection": _choice(data.inspection, INSPECTIONS, "inspection"),
        "brand": _line(data.brand, "brand"),
        "certification": _choice(data.certification, CERTIFICATIONS, "certification"),
    }


async def create_batch(
    county_id: uuid.UUID, actor: CurrentUser, data: TraceBatchCreate
) -> store.BatchRow:
    values = await _checked(county_id, data)
    county = await registry.get_county(county_id)
    for _ in range(5):  # a taken code (1 in 10⁹ per batch) is drawn again
        batch_id = uuid.uuid4()
        new = store.NewBatch(
            id=batch_id,
            county=county_id,
            code=new_code(county.code),
            created_by=actor.id,
            created_at=clock.utcnow(),
            **values,
        )
        try:
            await store.insert_batch(new)
        except Exception as exc:
            if db.is_integrity_error(exc):
                continue
            raise
        await accounts.audit(
            actor, "trace_batch.create", "trace_batch", batch_id, county_id, code=new.code
        )
        created = await store.batch(county_id, batch_id)
        assert created is not None
        return created
    raise DomainError("conflict", status=409)


def _quantity(milli: int | None) -> float | None:
    return None if milli is None else milli / 1000


# Scans by county-local day ----------------------------------------------------------------------
# A visit counts on the day it happened in its county's time zone (Xinjiang's day is not
# Beijing's). Every figure of scans over days — the kpis' 溯源扫码, the scorecard, the workbook,
# the API's months, the page — is a sum of those days over a period, by the one statement of
# `store.county_sums` / `store.batch_sums`.

MONTHS_SHOWN = 12


def month_end(first: datetime.date) -> datetime.date:
    return (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(
        days=1
    )


def last_months(today: datetime.date, count: int = MONTHS_SHOWN) -> list[datetime.date]:
    """The first days of the `count` months ending with `today`'s, oldest first."""
    months = [today.replace(day=1)]
    while len(months) < count:
        months.insert(0, (months[0] - datetime.timedelta(days=1)).replace(day=1))
    return months


async def scans_between(county_id: uuid.UUID, first: datetime.date, last: datetime.date) -> int:
    """The county's scans on its days `first` through `last` (the programme's 溯源扫码 over a
    period; inside or outside the caller's read transaction)."""
    [scans] = await store.county_sums(county_id, [(first, last)])
    return scans


async def county_months(county_id: uuid.UUID, today: datetime.date) -> list[MonthScansOut]:
    """The county's scans in each of the last twelve months through `today`'s, oldest first."""
    months = last_months(today)
    sums = await store.county_sums(county_id, [(m, month_end(m)) for m in months])
    return [MonthScansOut(month=f"{m:%Y-%m}", scans=n) for m, n in zip(months, sums, strict=True)]


async def batch_scans(
    county_id: uuid.UUID, periods: list[store.Period]
) -> dict[uuid.UUID, list[int]]:
    """Each batch's scans in each period (a batch without any scan in them is absent)."""
    return await store.batch_sums(county_id, periods)


async def list_batches(county_id: uuid.UUID, base_url: str) -> list[TraceBatchOut]:
    """The county's batches, newest first, each with its scans: all, this year (1 January of the
    county's year through its today) and per month of the last twelve."""
    rows = await store.batches(county_id)
    villages = {db.as_uuid(v.id): v.name for v in await registry_store.villages(county_id)}
    stations = {db.as_uuid(s.id): s.name for s in await registry_store.stations(county_id)}
    households = {db.as_uuid(h.id): h.code for h in await registry_store.households(county_id)}
    today = await registry.county_today(county_id)
    months = last_months(today)
    periods = [(today.replace(month=1, day=1), today)] + [(m, month_end(m)) for m in months]
    sums = await store.batch_sums(county_id, periods)
    none = [0] * len(periods)
    return [
        TraceBatchOut(
            id=row.id,
            code=row.code,
            url=page_url(base_url, row.code),
            product=row.product,
            village_id=row.village,
            village_name=villages.get(row.village, "") if row.village else "",
            household_code=households.get(row.household, "") if row.household else "",
            station_id=row.station,
            station_name=stations.get(row.station, "") if row.station else "",
            harvested_on=row.harvested_on,
            quantity=_quantity(row.quantity_milli),
            unit=row.unit,
            inspection=row.inspection,
            brand=row.brand,
            certification=row.certification,
            scans=row.scans,
            scans_this_year=sums.get(row.id, none)[0],
            scans_by_month=[
                MonthScansOut(month=f"{m:%Y-%m}", scans=n)
                for m, n in zip(months, sums.get(row.id, none)[1:], strict=True)
            ],
            created_at=row.created_at,
        )
        for row in rows
    ]


class ProductScans(msgspec.Struct):
    product: str
    batches: int
    scans_this_year: int
    scans: int


def scans_by_product(batches: list[TraceBatchOut]) -> list[ProductScans]:
    """The listed batches' scans summed per product (the text on its labels), most scanned this
    year first: one read with the batch list, so the two tables always add up the same."""
    sums: dict[str, ProductScans] = {}
    for batch in batches:
        row = sums.setdefault(batch.product, ProductScans(batch.product, 0, 0, 0))
        row.batches += 1
        row.scans_this_year += batch.scans_this_year
        row.scans += batch.scans
    return sorted(sums.values(), key=lambda row: (-row.scans_this_year, -row.scans, row.product))


async def get_batch(county_id: uuid.UUID, batch_id: uuid.UUID) -> store.BatchRow:
    row = await store.batch(county_id, batch_id)
    if row is None:
        raise DomainError("not_found", status=404)
    return row


class PublicBatch(msgspec.Struct, frozen=True):
    """What the public page shows: no household, no name, no phone — by construction."""

    code: str
    product: str
    village: str
    station: str
    harvested_on: datetime.date | None
    quantity: float | None
    unit: str
    inspection: str
    brand: str
    certification: str


async def public_batch(code_text: str, count_scan: bool) -> PublicBatch | None:
    """The batch a label's code names, as the public page shows it; with `count_scan`, one more
    scan on the county's today."""
    code = normalize_code(code_text)
    if code is None:
        return None
    row = await store.batch_by_code(code)
    if row is None:
        return None
    if count_scan:
        await store.count_scan(row.id, row.county, await registry.county_today(row.county))
    village = await registry_store.village(row.village) if row.village else None
    station = await registry_store.station(row.station) if row.station else None
    return PublicBatch(
        code=row.code,
        product=row.product,
        village=village.name if village else "",
        station=station.name if station else "",
        harvested_on=row.harvested_on,
        quantity=_quantity(row.quantity_milli),
        unit=row.unit,
        inspection=row.inspection,
        brand=row.brand,
        certification=row.certification,
    )


def quantity_text(quantity: float | None) -> str:
    if quantity is None:
        return ""
    return f"{quantity:,.3f}".rstrip("0").rstrip(".")
