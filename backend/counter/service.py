"""The counter's helpers: the shelf a keeper sets up, per-carrier counts for the day, the 代发 price
table (county settings, station override), the household card (一户一码 QR) and SMS counts."""

from __future__ import annotations

import datetime
import io
import json
import uuid
from typing import Any

import segno

from backend import db
from backend.errors import DomainError
from backend.ledger.service import local_today, station_facts
from backend.privacy import mask_phone

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
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT shelves, layers, shelf_names, opening_hours FROM registry_station "
            "WHERE id = $1",
            station_id,
        )
    if not rows:
        raise DomainError("not_found", status=404)
    row = rows[0]
    return {
        "shelves": row["shelves"],
        "layers": row["layers"],
        "shelf_names": _shelf_names(row["shelf_names"], row["shelves"]),
        "opening_hours": row["opening_hours"],
    }


async def set_shelf(station_id: uuid.UUID, data: Any) -> dict[str, Any]:
    names = [name.strip() for name in data.shelf_names]
    if len(names) > data.shelves or any("," in name for name in names):
        raise DomainError("shelf_names_invalid", field="shelf_names")
    if len(set(filter(None, names))) != len(list(filter(None, names))):
        raise DomainError("shelf_names_repeat", field="shelf_names")
    async with db.write_transaction():
        await db.execute(
            "UPDATE registry_station SET shelves = $1, layers = $2, shelf_names = $3, "
            "opening_hours = $4 WHERE id = $5",
            data.shelves,
            data.layers,
            ",".join(names),
            data.opening_hours.strip(),
            station_id,
        )
    return await shelf(station_id)


async def carrier_counts(station_id: uuid.UUID, day: datetime.date | None) -> dict[str, Any]:
    """Per carrier for one county-local day: parcels received, handed over, returned, sent."""
    async with db.read_transaction():
        facts = await station_facts(station_id)
        day = day or local_today(facts)
        received = await db.fetch(
            "SELECT carrier, COUNT(*) AS n FROM ledger_parcel WHERE station = $1 "
            "AND received_date = $2 AND state <> 'reversed' GROUP BY carrier",
            station_id,
            day,
        )
        closed = await db.fetch(
            "SELECT carrier, state, closed_at FROM ledger_parcel WHERE station = $1 "
            "AND state IN ('picked_up', 'returned') AND closed_at >= $2",
            station_id,
            datetime.datetime.combine(day, datetime.time(), facts.timezone)
            - datetime.timedelta(days=1),
        )
        sent = await db.fetch(
            "SELECT carrier, COUNT(*) AS n FROM ledger_dispatch WHERE station = $1 "
            "AND business_date = $2 AND reversed = $3 GROUP BY carrier",
            station_id,
            day,
            False,
        )
    lines: dict[str, dict[str, int]] = {}

    def line(carrier: str) -> dict[str, int]:
        return lines.setdefault(
            carrier, {"received": 0, "picked_up": 0, "returned": 0, "dispatched": 0}
        )

    for row in received:
        line(row["carrier"])["received"] += int(row["n"])
    for row in closed:
        if db.as_moment(row["closed_at"]).astimezone(facts.timezone).date() == day:
            line(row["carrier"])[row["state"]] += 1
    for row in sent:
        line(row["carrier"])["dispatched"] += int(row["n"])
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
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT s.dispatch_prices AS own, c.dispatch_prices AS county FROM registry_station s "
            "JOIN registry_county c ON c.id = s.county WHERE s.id = $1",
            station_id,
        )
    if not rows:
        raise DomainError("not_found", status=404)
    county, own = _loaded(rows[0]["county"]), _loaded(rows[0]["own"])
    base = {carrier: DEFAULT_PRICES.get(carrier, DEFAULT_BANDS) for carrier in CARRIERS}
    base.update(county)
    table = {**base, **own}
    # "base": what the station's own prices override (the keeper's screen shows it greyed).
    return {"prices": table, "county": county, "station": own, "base": base}


def suggest(table: dict[str, list[list[int]]], carrier: str, weight_g: int) -> int | None:
    for grams, fee in table.get(carrier, []):
        if weight_g <= grams:
            return fee
    return None


async def set_station_prices(station_id: uuid.UUID, prices: dict[str, list[list[int]]]):
    clean = check_prices(prices)
    async with db.write_transaction():
        await db.execute(
            "UPDATE registry_station SET dispatch_prices = $1 WHERE id = $2",
            json.dumps(clean) if clean else "",
            station_id,
        )
    return await price_table(station_id)


async def county_prices(county_id: uuid.UUID) -> dict[str, list[list[int]]]:
    """The county's own table (no built-in prices): what its settings page shows."""
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT dispatch_prices FROM registry_county WHERE id = $1", county_id
        )
    if not rows:
        raise DomainError("not_found", status=404)
    return _loaded(rows[0]["dispatch_prices"])


async def set_county_prices(county_id: uuid.UUID, prices: dict[str, list[list[int]]]):
    clean = check_prices(prices)
    async with db.write_transaction():
        await db.execute(
            "UPDATE registry_county SET dispatch_prices = $1 WHERE id = $2",
            json.dumps(clean) if clean else "",
            county_id,
        )
    return {"prices": clean}


# Households at the counter -------------------------------------------------------------------


async def card_payload(county_id: uuid.UUID, household_id: uuid.UUID) -> tuple[str, dict]:
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT h.code, h.head_name, c.code AS county_code, v.name AS village "
            "FROM registry_household h JOIN registry_county c ON c.id = h.county "
            "JOIN registry_village v ON v.id = h.village WHERE h.id = $1 AND h.county = $2",
            household_id,
            county_id,
        )
    if not rows:
        raise DomainError("not_found", status=404)
    row = rows[0]
    return f"{CARD_PREFIX}{row['county_code']}:{row['code']}", row


def qr_svg(payload: str, scale: int = 6) -> bytes:
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="svg", scale=scale, border=2)
    return out.getvalue()


def household_code_from_scan(text: str) -> str:
    """A scan of the card (CZHH:<county>:<code>) or a typed household code → the code."""
    value = (text or "").strip()
    if value.upper().startswith(CARD_PREFIX):
        value = value.split(":")[-1]
    return value.upper()


async def household_at_counter(station_id: uuid.UUID, scanned: str) -> dict[str, Any]:
    """The household of a card scanned at the counter, and its parcels on this station's shelf."""
    code = household_code_from_scan(scanned)
    async with db.read_transaction():
        facts = await station_facts(station_id)
        rows = await db.fetch(
            "SELECT h.id, h.code, h.head_name, h.phone, v.name AS village "
            "FROM registry_household h JOIN registry_village v ON v.id = h.village "
            "WHERE h.county = $1 AND h.code = $2",
            facts.county_id,
            code,
        )
        if not rows:
            raise DomainError("unknown_household", status=404, field="code")
        household = rows[0]
        parcels = []
        if household["phone"]:
            parcels = await db.fetch(
                "SELECT id FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf' "
                "AND (recipient_phone = $2 OR recipient_phone LIKE $3)",
                station_id,
                household["phone"],
                f"%{household['phone'][-4:]}",
            )
    return {
        "household_id": db.as_uuid(household["id"]),
        "code": household["code"],
        "head_name": household["head_name"],
        "village": household["village"],
        "phone": mask_phone(household["phone"]),
        "phone_last4": household["phone"][-4:] if household["phone"] else "",
        "parcel_ids": [db.as_uuid(row["id"]) for row in parcels],
    }
