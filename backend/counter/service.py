"""The counter's helpers: the shelf a keeper sets up, per-carrier counts for the day, the 代发 price
table (county settings, station override), the household card (一户一码 QR) and SMS counts."""

from __future__ import annotations

import datetime
import io
import json
import re
import uuid
from typing import Any

from backend import db
from backend.counter import store
from backend.errors import DomainError
from backend.ledger.service import local_today, station_facts
from backend.privacy import mask_phone
from backend.registry import store as registry

# API.md's carrier codes, in the order the counter lists them.
CARRIERS = ("SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "EMS", "JT", "BEST", "OTHER")
CARD_PREFIX = "CZHH:"  # what the household card's QR holds: CZHH:<county code>:<household code>

# Built-in 代发 prices (fen) per carrier by weight band: [[up to grams, fee], …], last = any weight.
DEFAULT_BANDS = [[1000, 1000], [3000, 1500], [5000, 2000], [10000, 3000], [30000, 5000]]
DEFAULT_PRICES: dict[str, list[list[int]]] = {
    "SF": [[1000, 1800], [3000, 2500], [5000, 3500], [10000, 5000], [30000, 9000]],
    "EMS": [[1000, 1500], [3000, 2200], [5000, 3000], [10000, 4500], [30000, 8000]],
    "JD": [[1000, 1500], [3000, 2200], [5000, 3000], [10000, 4500], [30000, 8000]],
}


def _shelf_names(text: str, shelves: int) -> list[str]:
    names = [name.strip() for name in (text or "").split(",")]
    return [names[i] if i < len(names) and names[i] else str(i + 1) for i in range(shelves)]


async def shelf(station_id: uuid.UUID) -> dict[str, Any]:
    row = await registry.shelf(station_id)
    if row is None:
        raise DomainError("not_found", status=404)
    return {
        "shelves": row.shelves,
        "layers": row.layers,
        "shelf_names": _shelf_names(row.shelf_names, row.shelves),
        "opening_hours": row.opening_hours,
    }


async def set_shelf(station_id: uuid.UUID, data: Any) -> dict[str, Any]:
    names = [name.strip() for name in data.shelf_names]
    if len(names) > data.shelves or any("," in name for name in names):
        raise DomainError("shelf_names_invalid", field="shelf_names")
    if len(set(filter(None, names))) != len(list(filter(None, names))):
        raise DomainError("shelf_names_repeat", field="shelf_names")
    await registry.set_shelf(
        station_id,
        registry.ShelfRow(
            shelves=data.shelves,
            layers=data.layers,
            shelf_names=",".join(names),
            opening_hours=data.opening_hours.strip(),
        ),
    )
    return await shelf(station_id)


async def carrier_counts(station_id: uuid.UUID, day: datetime.date | None) -> dict[str, Any]:
    """Per carrier for one county-local day: parcels received, handed over, returned, sent."""
    async with db.read_transaction():
        facts = await station_facts(station_id)
        day = day or local_today(facts)
        received = await store.received_by_carrier(station_id, day)
        # From a day early: what closed on the local day, whatever the zone's offset.
        closed = await store.closed_since(
            station_id,
            datetime.datetime.combine(day, datetime.time(), facts.timezone)
            - datetime.timedelta(days=1),
        )
        sent = await store.dispatched_by_carrier(station_id, day)
    lines: dict[str, dict[str, int]] = {}

    def line(carrier: str) -> dict[str, int]:
        return lines.setdefault(
            carrier, {"received": 0, "picked_up": 0, "returned": 0, "dispatched": 0}
        )

    for count in received:
        line(count.carrier)["received"] += count.n
    for parcel in closed:
        if parcel.closed_at.astimezone(facts.timezone).date() == day:
            line(parcel.carrier)[parcel.state] += 1
    for count in sent:
        line(count.carrier)["dispatched"] += count.n
    order = {carrier: i for i, carrier in enumerate(CARRIERS)}
    carriers = [
        {"carrier": carrier, **counts}
        for carrier, counts in sorted(lines.items(), key=lambda kv: order.get(kv[0], 99))
    ]
    return {
        "date": day,
        "carriers": carriers,
        "received": sum(c["received"] for c in carriers),
        "picked_up": sum(c["picked_up"] for c in carriers),
    }


# 代发 prices ------------------------------------------------------------------------------------


def check_prices(prices: dict[str, list[list[int]]]) -> dict[str, list[list[int]]]:
    """Every carrier known, bands rising in weight, fees ≥ 0: anything else is refused."""
    clean: dict[str, list[list[int]]] = {}
    for carrier, bands in prices.items():
        if carrier not in CARRIERS:
            raise DomainError("unknown_carrier_code", field="prices")
        last = 0
        for band in bands:
            if len(band) != 2 or band[0] <= last or band[1] < 0 or band[1] > 1_000_000:
                raise DomainError("price_bands_invalid", field="prices")
            last = band[0]
        clean[carrier] = [[int(grams), int(fee)] for grams, fee in bands]
    return clean


def _loaded(text: str | None) -> dict[str, list[list[int]]]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def price_table(station_id: uuid.UUID) -> dict[str, Any]:
    """The table the counter uses: the built-in one, the county's on top, the station's on top."""
    stored = await registry.station_prices(station_id)
    if stored is None:
        raise DomainError("not_found", status=404)
    county, own = _loaded(stored.county), _loaded(stored.own)
    base = {carrier: DEFAULT_PRICES.get(carrier, DEFAULT_BANDS) for carrier in CARRIERS}
    base.update(county)
    table = {**base, **own}
    # "base": what the station's own prices override (the keeper's screen shows it greyed).
    return {"prices": table, "county": county, "station": own, "base": base}


async def set_station_prices(station_id: uuid.UUID, prices: dict[str, list[list[int]]]):
    clean = check_prices(prices)
    await registry.set_station_dispatch_prices(station_id, json.dumps(clean) if clean else "")
    return await price_table(station_id)


async def county_prices(county_id: uuid.UUID) -> dict[str, list[list[int]]]:
    """The county's own table (no built-in prices): what its settings page shows."""
    stored = await registry.county_dispatch_prices(county_id)
    if stored is None:
        raise DomainError("not_found", status=404)
    return _loaded(stored)


async def set_county_prices(county_id: uuid.UUID, prices: dict[str, list[list[int]]]):
    clean = check_prices(prices)
    await registry.set_county_dispatch_prices(county_id, json.dumps(clean) if clean else "")
    return {"prices": clean}


# Households at the counter -------------------------------------------------------------------


async def card_payload(
    county_id: uuid.UUID, household_id: uuid.UUID, township_id: uuid.UUID | None = None
) -> str:
    """What the household card's QR holds (a township officer's: of their township only)."""
    card = await registry.household_card(county_id, household_id, township_id)
    if card is None:
        raise DomainError("not_found", status=404)
    return f"{CARD_PREFIX}{card.county_code}:{card.code}"


def qr_svg(payload: str, scale: int = 6) -> bytes:
    out = io.BytesIO()
    import segno  # here, not at start-up: ~9 MB of every process for a rare code

    segno.make(payload, error="m", micro=False).save(out, kind="svg", scale=scale, border=2)
    return out.getvalue()


HOUSEHOLD_CODE = re.compile(r"[A-Z0-9-]{2,24}")


def household_code_from_scan(text: str) -> str:
    """A scan of the card (CZHH:<county>:<code>) or a typed household code → the code."""
    value = (text or "").strip()
    if value.upper().startswith(CARD_PREFIX):
        value = value.split(":")[-1]
    return value.upper()


async def household_at_counter(station_id: uuid.UUID, scanned: str) -> dict[str, Any]:
    """The household of a card scanned at the counter, and its parcels on this station's shelf."""
    code = household_code_from_scan(scanned)
    if not HOUSEHOLD_CODE.fullmatch(code):
        # No household has such a code (letters, digits, "-"); PostgreSQL would refuse a NUL.
        raise DomainError("unknown_household", status=404, field="code")
    async with db.read_transaction():
        facts = await station_facts(station_id)
        household = await registry.household_by_code(facts.county_id, code)
        if household is None:
            raise DomainError("unknown_household", status=404, field="code")
        parcels = []
        if household.phone:
            parcels = await store.parcels_on_shelf_for(station_id, household.phone)
    return {
        "household_id": household.id,
        "code": household.code,
        "head_name": household.head_name,
        "village": household.village,
        "phone": mask_phone(household.phone),
        "phone_last4": household.phone[-4:] if household.phone else "",
        "parcel_ids": parcels,
    }
