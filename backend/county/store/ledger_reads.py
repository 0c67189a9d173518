"""Read-only: the ledger's tables (events, reversals, parcels, the cashbook, chain heads) as the
county's rollups and review pages need them (the ledger owns them; nothing here writes)."""

from __future__ import annotations

import datetime
import json
import uuid

import msgspec

from backend import db
from backend.ledger.service import EXPECTED_CASH_SQL


async def shelf_counts(
    county_id: uuid.UUID, overdue_from: datetime.date
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per station: parcels on the shelf, and how many arrived on or before `overdue_from`."""
    rows = await db.fetch(
        "SELECT station, COUNT(*) AS n, "
        "SUM(CASE WHEN received_date <= $2 THEN 1 ELSE 0 END) AS overdue "
        "FROM ledger_parcel WHERE county = $1 AND state = 'on_shelf' GROUP BY station",
        county_id,
        overdue_from,
    )
    return {db.as_uuid(row["station"]): (int(row["n"]), int(row["overdue"] or 0)) for row in rows}


class CheckinNote(msgspec.Struct, frozen=True):
    occurred_at: datetime.datetime
    received_at: datetime.datetime
    day: datetime.date
    note: str
    lat: float | None = None  # where the phone was, when the keeper let it say
    lng: float | None = None


async def recent_checkins(station_id: uuid.UUID, limit: int = 12) -> list[CheckinNote]:
    """The station's last check-ins that still stand, newest first."""
    rows = await db.fetch(
        "SELECT e.occurred_at, e.received_at, e.business_date, e.data FROM ledger_event e "
        "LEFT JOIN ledger_reversal r ON r.target = e.id WHERE e.station = $1 "
        "AND e.type = 'checkin.recorded' AND r.target IS NULL "
        "ORDER BY e.seq DESC LIMIT $2",
        station_id,
        limit,
    )
    return [
        CheckinNote(
            occurred_at=db.as_moment(row["occurred_at"]),
            received_at=db.as_moment(row["received_at"]),
            day=db.as_date(row["business_date"]),
            note=data.get("note", ""),
            lat=data.get("lat"),
            lng=data.get("lng"),
        )
        for row in rows
        for data in [json.loads(row["data"] or "{}")]
    ]


class ShelfParcel(msgspec.Struct, frozen=True):
    tracking_no: str
    carrier: str
    recipient_phone: str
    pickup_code: str | None
    received_at: datetime.datetime
    received_date: datetime.date


async def shelf(station_id: uuid.UUID, limit: int = 200) -> list[ShelfParcel]:
    """The station's parcels waiting, oldest first."""
    rows = await db.fetch(
        "SELECT tracking_no, carrier, recipient_phone, pickup_code, received_at, "
        "received_date FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf' "
        "ORDER BY received_at LIMIT $2",
        station_id,
        limit,
    )
    return [
        ShelfParcel(
            tracking_no=row["tracking_no"],
            carrier=row["carrier"],
            recipient_phone=row["recipient_phone"],
            pickup_code=row["pickup_code"],
            received_at=db.as_moment(row["received_at"]),
            received_date=db.as_date(row["received_date"]),
        )
        for row in rows
    ]


async def cash_expected(
    station_ids: list[uuid.UUID], first: datetime.date, last: datetime.date
) -> dict[tuple[uuid.UUID, datetime.date], int]:
    """What each station's till should hold each day over [first, last] by its cashbook (the
    ledger's `expected_cash`, summed in the database). A month of 300 stations is ~90,000
    cashbook lines but ~9,000 station-days; by station ids, not a join on the county, the rows
    come in the key's order and group without sorting (half the time on SQLite)."""
    if not station_ids:
        return {}
    rows = await db.fetch(
        f"SELECT b.station, b.day, SUM({EXPECTED_CASH_SQL}) AS expected FROM ledger_cashbook b "
        f"WHERE b.day >= $1 AND b.day <= $2 AND b.station IN ({db.in_list(station_ids, 3)}) "
        "GROUP BY b.station, b.day",
        first,
        last,
        *station_ids,
    )
    # 300 stations and 30 days: each converted once, not once a row.
    stations = {raw: db.as_uuid(raw) for raw in {r["station"] for r in rows}}
    days = {raw: db.as_date(raw) for raw in {r["day"] for r in rows}}
    return {(stations[r["station"]], days[r["day"]]): int(r["expected"]) for r in rows}


# What the rollups are computed from -------------------------------------------------------------

IN_CHUNK = 400
ARGS_PER_QUERY = 1500


PARCEL_TYPES = ("parcel.received", "parcel.picked_up", "parcel.returned")
_PARCEL_TYPES_SQL = ", ".join(f"'{kind}'" for kind in PARCEL_TYPES)
_BY_TRACKING = "county_parcel_station_tracking"


class EventRow(msgspec.Struct, frozen=True):
    station: uuid.UUID
    type: str
    business_date: datetime.date
    data: str  # JSON as stored


def _event(row: dict) -> EventRow:
    return EventRow(
        db.as_uuid(row["station"]), row["type"], db.as_date(row["business_date"]), row["data"]
    )


def _day_filter(column: str, days: list[datetime.date], start: int) -> tuple[str, list]:
    """`column IN (…)` for a few days, a range (the caller filters again) for many."""
    if len(days) <= IN_CHUNK:
        return f" AND {column} IN ({db.in_list(days, start)})", list(days)
    return f" AND {column} BETWEEN ${start} AND ${start + 1}", [days[0], days[-1]]


def _in_ranges(count: int, alias: str = "") -> str:
    """`count` stations' events with seq in (after, through], each station's three arguments in
    turn (`alias`: the events' table's name in the query, with its dot)."""
    return " OR ".join(
        f"({alias}station = ${3 * i + 1} AND {alias}seq > ${3 * i + 2} "
        f"AND {alias}seq <= ${3 * i + 3})"
        for i in range(count)
    )


def _range_args(ranges: dict[uuid.UUID, tuple[int, int]]) -> list[object]:
    return [
        value for station, (after, through) in ranges.items() for value in (station, after, through)
    ]


class DayTouched(msgspec.Struct, frozen=True):
    station: uuid.UUID
    day: datetime.date
    reversal: str | None  # an entry.reversed event's data (JSON as stored); else None


async def days_in_ranges(ranges: dict[uuid.UUID, tuple[int, int]]) -> list[DayTouched]:
    """The business days of each station's events in (after, through], once each, and every
    reversal among them with its data (the entry it reverses)."""
    rows = await db.fetch(
        "SELECT DISTINCT station, business_date, "
        "CASE WHEN type = 'entry.reversed' THEN data END AS reversal "
        f"FROM ledger_event WHERE {_in_ranges(len(ranges))}",
        *_range_args(ranges),
    )
    return [
        DayTouched(db.as_uuid(row["station"]), db.as_date(row["business_date"]), row["reversal"])
        for row in rows
    ]


def parcels_touched_sql(stations: int) -> str:
    """parcels_touched_in_ranges' statement for this many stations' ranges, then the cutoff."""
    return (
        "SELECT p.station, p.received_date, MIN(e.business_date) AS first_day "
        # By tracking number: SQLite's planner, blind to how many parcels a station received
        # before the cutoff (a year of them), would otherwise probe by that day (4.5 s at 5 M).
        f"FROM ledger_event e JOIN ledger_parcel p{db.indexed_by(_BY_TRACKING)} "
        f"ON p.station = e.station AND p.tracking_no = {db.json_field('e.data', 'tracking_no')} "
        f"WHERE ({_in_ranges(stations, 'e.')}) AND e.type IN ({_PARCEL_TYPES_SQL}) "
        f"AND p.received_date <= ${3 * stations + 1} "
        "GROUP BY p.id, p.station, p.received_date"
    )


class ParcelTouched(msgspec.Struct, frozen=True):
    station: uuid.UUID
    received_date: datetime.date
    first_day: datetime.date  # the first business day of the events that touched it


async def parcels_touched_in_ranges(
    ranges: dict[uuid.UUID, tuple[int, int]], received_by: datetime.date
) -> list[ParcelTouched]:
    """The parcels that each station's events in (after, through] received, picked up or
    returned, of those received on or before `received_by`: the only ones whose return day may
    have come. Matched in the database: a busy county's catch-up touches thousands of parcels,
    nearly all received today, and none of them needs a row in Python."""
    rows = await db.fetch(parcels_touched_sql(len(ranges)), *_range_args(ranges), received_by)
    return [
        ParcelTouched(
            db.as_uuid(row["station"]),
            db.as_date(row["received_date"]),
            db.as_date(row["first_day"]),
        )
        for row in rows
    ]


async def events_by_id(ids: list[uuid.UUID]) -> list[EventRow]:
    rows = await db.fetch(
        "SELECT station, type, business_date, data FROM ledger_event "
        f"WHERE id IN ({db.in_list(ids)})",
        *ids,
    )
    return [_event(row) for row in rows]


class ParcelDay(msgspec.Struct, frozen=True):
    station: uuid.UUID
    received_date: datetime.date
    closed_date: datetime.date | None = None  # the business day of its pickup or return
    tracking_no: str = ""


async def parcels_received_on(
    stations: list[uuid.UUID], received: list[datetime.date]
) -> list[ParcelDay]:
    """The stations' parcels not reversed, received on these days (with many days possibly others
    between), with the day each was closed."""
    condition, args = (
        f"p.station IN ({db.in_list(stations)}) AND p.state <> 'reversed'",
        list(stations),
    )
    extra, values = _day_filter("p.received_date", received, len(args) + 1)
    condition, args = condition + extra, args + values
    rows = await db.fetch(
        "SELECT p.station, p.received_date, c.business_date AS closed_date "
        "FROM ledger_parcel p LEFT JOIN ledger_event c ON c.id = p.closed_event "
        f"WHERE {condition}",
        *args,
    )
    return [
        ParcelDay(
            db.as_uuid(row["station"]),
            db.as_date(row["received_date"]),
            db.as_date(row["closed_date"]) if row["closed_date"] else None,
        )
        for row in rows
    ]


async def parcels_by_tracking(numbers: dict[uuid.UUID, list[str]]) -> list[ParcelDay]:
    """Each station's parcels of these tracking numbers, with the day each was received."""
    found: list[ParcelDay] = []
    terms: list[str] = []
    args: list = []

    async def look_up() -> None:
        for row in await db.fetch(
            "SELECT station, tracking_no, received_date FROM ledger_parcel "
            f"WHERE {' OR '.join(terms)}",
            *args,
        ):
            found.append(
                ParcelDay(
                    db.as_uuid(row["station"]),
                    db.as_date(row["received_date"]),
                    tracking_no=row["tracking_no"],
                )
            )
        terms.clear()
        args.clear()

    # Each station with its own tracking numbers (a cross product of stations and numbers
    # would make the database probe every pair).
    for station, tracking_numbers in numbers.items():
        for start in range(0, len(tracking_numbers), IN_CHUNK):
            chunk = tracking_numbers[start : start + IN_CHUNK]
            terms.append(
                f"(station = ${len(args) + 1} AND tracking_no "
                f"IN ({db.in_list(chunk, len(args) + 2)}))"
            )
            args.extend([station, *chunk])
            if len(args) > ARGS_PER_QUERY:
                await look_up()
    if terms:
        await look_up()
    return found


async def received_days_due(
    county_id: uuid.UUID, received_by: datetime.date, received_after: datetime.date | None
) -> list[ParcelDay]:
    """The (station, received day) pairs of the county's parcels not reversed, received on or
    before `received_by` (and after `received_after`)."""
    args: list = [county_id, received_by]
    # By station (its index on received day), not by county: a county-wide index on parcels
    # would lure SQLite's planner away from the shelf's own indexes in other queries.
    condition = (
        "station IN (SELECT id FROM registry_station WHERE county = $1) "
        "AND received_date <= $2 AND state <> 'reversed'"
    )
    if received_after is not None:
        args.append(received_after)
        condition += " AND received_date > $3"
    rows = await db.fetch(
        f"SELECT DISTINCT station, received_date FROM ledger_parcel WHERE {condition}", *args
    )
    return [ParcelDay(db.as_uuid(row["station"]), db.as_date(row["received_date"])) for row in rows]


class EventGroup(msgspec.Struct, frozen=True):
    """A station's standing events of one day that count alike: the same type and the same
    values of the fields a rollup figure depends on, with their number and sums."""

    station: uuid.UUID
    day: datetime.date
    type: str
    service: str | None
    farm_product: bool | None
    product_code: str | None
    product: str | None
    household_code: str | None
    count: int
    amount_fen: int
    fee_fen: int


# What rollups.event_figures reads of an entry, by type: the service of a payment, the farm flag of
# a dispatch, the product of a sale, any entry's household (not a reversal's) and its amounts
# (the storage fee alone at a pickup; a reversal counts, nothing more).
_GROUPED = """
SELECT station, day, type,
  CASE WHEN type = 'service.recorded' THEN {service} END AS service,
  CASE WHEN type = 'parcel.dispatched' THEN {farm} END AS farm_product,
  CASE WHEN type = 'sale.recorded' THEN {product_code} END AS product_code,
  CASE WHEN type = 'sale.recorded' THEN {product} END AS product,
  CASE WHEN type <> 'entry.reversed' THEN {household} END AS household_code,
  COUNT(*) AS n,
  SUM(CASE WHEN type = 'entry.reversed' THEN 0 ELSE COALESCE({amount}, 0) END) AS amount_fen,
  SUM(CASE WHEN type = 'entry.reversed' THEN 0
           WHEN type = 'parcel.picked_up' THEN COALESCE({fee}, 0)
           ELSE COALESCE({fee}, {commission}, 0) END) AS fee_fen
FROM standing GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""
_STANDING = (
    "SELECT e.station AS station, e.business_date AS day, e.type AS type, {data} "
    "FROM ledger_event e LEFT JOIN ledger_reversal r ON r.target = e.id "
    "WHERE {where} AND r.target IS NULL "
    "AND NOT (e.type = 'checkin.recorded' AND e.adjusts_month IS NOT NULL)"
)


def _grouped_sql(where: str) -> str:
    if db.is_sqlite():
        field = "json_extract(data, '$.{}')".format
        grouped = _GROUPED.format(
            service=field("service"), farm=field("farm_product"),
            product_code=field("product_code"), product=field("product"),
            household=field("household_code"), amount=field("amount_fen"),
            fee=field("fee_fen"), commission=field("commission_fen"),
        )  # fmt: skip
        standing = _STANDING.format(data="e.data AS data", where=where)
        return f"WITH standing AS ({standing}) {grouped}"
    text = "(j ->> '{}')".format
    number = "(j ->> '{}')::bigint".format
    grouped = _GROUPED.format(
        service=text("service"), farm=f"{text('farm_product')} = 'true'",
        product_code=text("product_code"), product=text("product"),
        household=text("household_code"), amount=number("amount_fen"),
        fee=number("fee_fen"), commission=number("commission_fen"),
    )  # fmt: skip
    # Materialised: each entry's JSON parsed once, not once per field.
    standing = _STANDING.format(data="e.data::jsonb AS j", where=where)
    return f"WITH standing AS MATERIALIZED ({standing}) {grouped}"


async def day_groups(stations: list[uuid.UUID], days: list[datetime.date]) -> list[EventGroup]:
    """The stations' standing events of these business days, grouped the same way (with many
    days the groups may include others between the first and the last). A page's catch-up
    recomputes whole days of busy stations: grouped in the database thread, tens of thousands of
    entries no longer hold the event loop (and the phones' pushes behind it) while each is
    parsed in Python."""
    where, args = f"e.station IN ({db.in_list(stations)})", list(stations)
    extra, values = _day_filter("e.business_date", days, len(args) + 1)
    return _groups(await db.fetch(_grouped_sql(where + extra), *args, *values))


def _groups(rows) -> list[EventGroup]:
    return [
        EventGroup(
            station=db.as_uuid(row["station"]),
            day=db.as_date(row["day"]),
            type=row["type"],
            service=row["service"],
            farm_product=None if row["farm_product"] is None else bool(row["farm_product"]),
            product_code=row["product_code"],
            product=row["product"],
            household_code=row["household_code"],
            count=int(row["n"]),
            amount_fen=int(row["amount_fen"]),
            fee_fen=int(row["fee_fen"]),
        )
        for row in rows
    ]


async def chain_heads(county_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Every station of the county with the seq of its last event (0: none yet), by id."""
    rows = await db.fetch(
        "SELECT s.id, COALESCE(h.last_seq, 0) AS last_seq FROM registry_station s "
        "LEFT JOIN ledger_chain h ON h.station = s.id WHERE s.county = $1 ORDER BY s.id",
        county_id,
    )
    return {db.as_uuid(row["id"]): int(row["last_seq"]) for row in rows}


async def chain_heads_of(stations: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The seq of each of these stations' last event (0: none yet)."""
    rows = await db.fetch(
        f"SELECT station, last_seq FROM ledger_chain WHERE station IN ({db.in_list(stations)})",
        *stations,
    )
    heads = {db.as_uuid(row["station"]): int(row["last_seq"]) for row in rows}
    return {station: heads.get(station, 0) for station in stations}
