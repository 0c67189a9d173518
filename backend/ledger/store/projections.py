"""The projections (`ledger_parcel`, `ledger_purchase`, `ledger_dispatch`, `ledger_reversal`,
`ledger_cashbook`): loading what a batch's events can touch, writing what they changed, and the
station's reads of them.

The loading and writing are the sync's hot path: hand-tuned SQL, one query per kind of entry.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec

from backend import db, runtime, sqlite_params
from backend.ledger.projector import (
    DispatchState,
    LoggedEvent,
    ParcelState,
    PurchaseState,
    StationState,
    shelf_key,
)
from backend.ledger.store import stations
from backend.ledger.store.stations import StationFacts
from backend.ledger.validation import Candidate

CLOSING_TYPES = ("parcel.picked_up", "parcel.returned")
PROJECTION_TABLES = (
    "ledger_parcel",
    "ledger_purchase",
    "ledger_dispatch",
    "ledger_reversal",
    "ledger_cashbook",
)


class CashbookRow(msgspec.Struct, frozen=True):
    kind: str
    count: int
    amount_fen: int
    fee_fen: int


# Rows into state ------------------------------------------------------------------------------


def parcel_from_row(row: dict[str, Any]) -> ParcelState:
    return ParcelState(
        id=db.as_uuid(row["id"]),
        tracking_no=row["tracking_no"],
        carrier=row["carrier"],
        recipient_phone=row["recipient_phone"],
        recipient_name=row["recipient_name"],
        pickup_code=row["pickup_code"],
        proposed_code=row["proposed_code"],
        state=row["state"],
        received_at=db.as_moment(row["received_at"]),
        received_date=db.as_date(row["received_date"]),
        closed_event=db.as_uuid(row["closed_event"]) if row["closed_event"] else None,
        closed_at=db.as_moment(row["closed_at"]) if row["closed_at"] else None,
        fee_fen=row["fee_fen"],
        return_reason=row["return_reason"],
        package=row["package"] or "",
    )


def purchase_from_row(row: dict[str, Any]) -> PurchaseState:
    return PurchaseState(
        id=db.as_uuid(row["id"]),
        platform=row["platform"],
        item=row["item"],
        amount_fen=row["amount_fen"],
        commission_fen=row["commission_fen"],
        customer_phone=row["customer_phone"],
        household_code=row["household_code"],
        state=row["state"],
        ordered_at=db.as_moment(row["ordered_at"]),
        delivered_event=db.as_uuid(row["delivered_event"]) if row["delivered_event"] else None,
        delivered_at=db.as_moment(row["delivered_at"]) if row["delivered_at"] else None,
    )


def _dispatch_from_row(row: dict[str, Any]) -> DispatchState:
    return DispatchState(
        id=db.as_uuid(row["id"]),
        tracking_no=row["tracking_no"],
        carrier=row["carrier"],
        weight_g=row["weight_g"],
        fee_fen=row["fee_fen"],
        destination=row["destination"],
        farm_product=bool(row["farm_product"]),
        household_code=row["household_code"],
        business_date=db.as_date(row["business_date"]),
        received_at=db.as_moment(row["received_at"]),
        reversed=bool(row["reversed"]),
    )


def add_parcel(state: StationState, parcel: ParcelState) -> None:
    state.parcels[parcel.id] = parcel
    if parcel.state == "on_shelf" and parcel.key not in state.on_shelf:
        state.shelve(parcel.key, parcel.id, parcel.pickup_code)
    if parcel.closed_event:
        state.parcel_by_closing_event[parcel.closed_event] = parcel.id


def _add_purchase(state: StationState, purchase: PurchaseState) -> None:
    state.purchases[purchase.id] = purchase
    if purchase.delivered_event:
        state.purchase_by_delivery[purchase.delivered_event] = purchase.id


def _add_dispatch(state: StationState, dispatch: DispatchState) -> None:
    state.dispatches[dispatch.id] = dispatch
    if not dispatch.reversed:
        state.dispatched[dispatch.tracking_no] = dispatch.id


# The shelf's index kept in memory -------------------------------------------------------------
# Reading a station's whole shelf on every push was ~14 % of the writer's thread (a station's
# shelf is hundreds of parcels, the bench's bulk phone ends with 5,000). Each running app keeps
# the index as the last push it committed left it, keyed by the chain head that push wrote.

# At most this many parcels kept in all (~280 bytes each: ~3.4 MB, within issue 17's RSS budget);
# the stations pushed least recently go first, a shelf bigger than all of it is never kept.
SHELF_CACHE_PARCELS = 12_000

Head = tuple[int, str]  # a station's chain head: (last_seq, last_hash)


@dataclass
class _KeptShelf:
    head: Head
    on_shelf: dict[str, uuid.UUID]
    shelf_codes: set[str]
    slot_load: dict[tuple[int, int], int]


class ShelfCache:
    """The shelf indexes of one running app (backend/runtime.py), per station.

    Why a kept index is the shelf as the database holds it: every change to a station's shelf is
    an event in its log, written by a push that advances its chain head (seq and hash, which
    covers every earlier event): the index is a function of the log up to that head. A push
    takes the station's index out (`take`) and uses it only if the head it read under the
    chain's lock is the one kept; any other writer (another process, a `--workers` sibling, a
    push of this app that failed and was retried) leaves another head, or none kept. The index
    a push leaves is kept only once its transaction has committed (`db.on_commit`); a rolled
    back one keeps nothing. Writes to `ledger_parcel` outside a push (a rebuild) forget them."""

    def __init__(self, limit: int = SHELF_CACHE_PARCELS) -> None:
        self.limit = limit
        self.kept: OrderedDict[uuid.UUID, _KeptShelf] = OrderedDict()
        self.parcels = 0
        self.hits = self.misses = 0  # for the tests

    def take(self, station_id: uuid.UUID, head: Head) -> _KeptShelf | None:
        kept = self.kept.pop(station_id, None)
        if kept is not None:
            self.parcels -= len(kept.on_shelf)
            if kept.head == head:
                self.hits += 1
                return kept
        self.misses += 1
        return None

    def keep(self, station_id: uuid.UUID, kept: _KeptShelf) -> None:
        earlier = self.kept.pop(station_id, None)
        if earlier is not None:
            self.parcels -= len(earlier.on_shelf)
        if len(kept.on_shelf) > self.limit:
            return
        self.kept[station_id] = kept
        self.parcels += len(kept.on_shelf)
        while self.parcels > self.limit:
            _, gone = self.kept.popitem(last=False)
            self.parcels -= len(gone.on_shelf)

    def forget(self) -> None:
        self.kept.clear()
        self.parcels = 0


def shelf_cache() -> ShelfCache | None:
    """The running app's shelf indexes (None outside a runtime: nothing kept)."""
    try:
        return runtime.current().get("ledger.shelves", ShelfCache)
    except RuntimeError:
        return None


def keep_shelf(state: StationState, head: Head) -> None:
    """Keep the shelf's index as this push leaves it, at the chain head it writes, once (and
    only if) its transaction commits."""
    cache = shelf_cache()
    if cache is None:
        return
    kept = _KeptShelf(head, state.on_shelf, state.shelf_codes, state.slot_load)
    db.on_commit(lambda: cache.keep(state.station_id, kept))


def forget_shelves() -> None:
    """After writing `ledger_parcel` other than by a push (a rebuild)."""
    cache = shelf_cache()
    if cache is not None:
        db.after_commit(cache.forget)


async def _read_shelf(state: StationState) -> None:
    for row in await db.fetch(
        "SELECT id, tracking_no, package, pickup_code FROM ledger_parcel "
        "WHERE station = $1 AND state = 'on_shelf'",
        state.station_id,
    ):
        key = shelf_key(row["tracking_no"], row["package"])
        state.shelve(key, db.as_uuid(row["id"]), row["pickup_code"])


async def load_state(
    facts: StationFacts, candidates: list[Candidate], head: Head | None = None
) -> StationState:
    """Only what this batch's events can touch: the shelf's index, and the entries they name.
    `head`, the station's chain head read under its lock, lets a kept index stand in for
    reading the shelf (see ShelfCache)."""
    state = StationState(facts.id, facts.county_id, facts.shelves, facts.layers)
    station = facts.id
    kept = None
    if head is not None and (cache := shelf_cache()) is not None:
        kept = cache.take(station, head)
    if kept is not None:
        state.on_shelf, state.shelf_codes, state.slot_load = (
            kept.on_shelf,
            kept.shelf_codes,
            kept.slot_load,
        )
    else:
        await _read_shelf(state)
    handed = sorted(
        {
            c.data["tracking_no"]
            for c in candidates
            if c.type in CLOSING_TYPES
            and shelf_key(c.data["tracking_no"], c.data.get("package")) in state.on_shelf
        }
    )
    if handed:
        for row in await db.fetch(
            "SELECT * FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf' "
            f"AND tracking_no IN ({db.in_list(handed, 2)})",
            station,
            *handed,
        ):
            add_parcel(state, parcel_from_row(row))
    moved = sorted({str(c.data["parcel_id"]) for c in candidates if c.type == "parcel.moved"})
    if moved:
        for row in await db.fetch(
            "SELECT * FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf' "
            f"AND id IN ({db.in_list(moved, 2)})",
            station,
            *[uuid.UUID(m) for m in moved],
        ):
            add_parcel(state, parcel_from_row(row))
    targets = [c.data["target_id"] for c in candidates if c.type == "entry.reversed"]
    purchase_ids = [c.data["purchase_id"] for c in candidates if c.type == "purchase.delivered"]
    dispatched = [c.data["tracking_no"] for c in candidates if c.type == "parcel.dispatched"]
    codes = sorted({c.data["household_code"] for c in candidates if "household_code" in c.data})
    if targets:
        for row in await db.fetch(
            "SELECT id, type, business_date, data FROM ledger_event "
            f"WHERE station = $1 AND id IN ({db.in_list(targets, 2)})",
            station,
            *targets,
        ):
            event_id = db.as_uuid(row["id"])
            state.events[event_id] = LoggedEvent(
                event_id, row["type"], db.as_date(row["business_date"]), json.loads(row["data"])
            )
        for row in await db.fetch(
            f"SELECT target FROM ledger_reversal WHERE target IN ({db.in_list(targets)})", *targets
        ):
            state.reversed_targets.add(db.as_uuid(row["target"]))
        for row in await db.fetch(
            f"SELECT * FROM ledger_parcel WHERE station = $1 AND (id IN ({db.in_list(targets, 2)}) "
            f"OR closed_event IN ({db.in_list(targets, 2 + len(targets))}))",
            station,
            *targets,
            *targets,
        ):
            add_parcel(state, parcel_from_row(row))
        for row in await db.fetch(
            "SELECT * FROM ledger_dispatch "
            f"WHERE station = $1 AND id IN ({db.in_list(targets, 2)})",
            station,
            *targets,
        ):
            _add_dispatch(state, _dispatch_from_row(row))
    wanted_purchases = targets + purchase_ids
    if wanted_purchases:
        for row in await db.fetch(
            f"SELECT * FROM ledger_purchase WHERE station = $1 AND (id IN "
            f"({db.in_list(wanted_purchases, 2)}) OR delivered_event IN "
            f"({db.in_list(targets or [None], 2 + len(wanted_purchases))}))",
            station,
            *wanted_purchases,
            *(targets or [None]),
        ):
            _add_purchase(state, purchase_from_row(row))
    if dispatched:
        for row in await db.fetch(
            "SELECT * FROM ledger_dispatch WHERE station = $1 AND reversed = $2 "
            f"AND tracking_no IN ({db.in_list(dispatched, 3)})",
            station,
            False,
            *dispatched,
        ):
            _add_dispatch(state, _dispatch_from_row(row))
    if codes:
        state.households |= await stations.household_codes(facts.county_id, codes)
    return state


# Writing a batch ------------------------------------------------------------------------------


def _leaving_first(rows: dict, dirty: set, is_live) -> list:
    """Rows leaving the shelf (or reversed) are written before rows taking their place, so the
    partial unique indexes never see two live rows at once."""
    return sorted((rows[i] for i in dirty), key=lambda row: (is_live(row), str(row.id)))


def _parcel_on_shelf(parcel: ParcelState) -> bool:
    return parcel.state == "on_shelf"


def _dispatch_live(dispatch: DispatchState) -> bool:
    return not dispatch.reversed


async def write_projections(state: StationState) -> None:
    # On SQLite the values go as the text Piccolo's adapters would make of them (the same bytes),
    # made here: the adapters' lookup and call per value was a third of binding these rows, and
    # the station's and county's ids are made once, not once per row.
    uid, moment, day = sqlite_params.parameter_adapters()
    station, county = uid(state.station_id), uid(state.county_id)
    await db.executemany(
        "INSERT INTO ledger_parcel (id, station, county, tracking_no, carrier, recipient_phone, "
        "recipient_name, pickup_code, proposed_code, state, received_at, received_date, "
        "closed_event, closed_at, fee_fen, return_reason, package) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
        "ON CONFLICT (id) DO UPDATE SET pickup_code = excluded.pickup_code, "
        "state = excluded.state, closed_event = excluded.closed_event, "
        "closed_at = excluded.closed_at, fee_fen = excluded.fee_fen, "
        "return_reason = excluded.return_reason",
        [
            (
                uid(p.id), station, county, p.tracking_no, p.carrier, p.recipient_phone,
                p.recipient_name, p.pickup_code, p.proposed_code, p.state, moment(p.received_at),
                day(p.received_date), uid(p.closed_event) if p.closed_event else None,
                moment(p.closed_at) if p.closed_at else None, p.fee_fen, p.return_reason,
                p.package,
            )
            for p in _leaving_first(state.parcels, state.dirty_parcels, _parcel_on_shelf)
        ],
    )  # fmt: skip
    await db.executemany(
        "INSERT INTO ledger_purchase (id, station, county, platform, item, amount_fen, "
        "commission_fen, customer_phone, household_code, state, ordered_at, delivered_event, "
        "delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
        "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
        "delivered_event = excluded.delivered_event, delivered_at = excluded.delivered_at",
        [
            (
                uid(p.id), station, county, p.platform, p.item, p.amount_fen, p.commission_fen,
                p.customer_phone, p.household_code, p.state, moment(p.ordered_at),
                uid(p.delivered_event) if p.delivered_event else None,
                moment(p.delivered_at) if p.delivered_at else None,
            )
            for p in (state.purchases[i] for i in sorted(state.dirty_purchases))
        ],
    )  # fmt: skip
    await db.executemany(
        "INSERT INTO ledger_dispatch (id, station, county, tracking_no, carrier, weight_g, "
        "fee_fen, destination, farm_product, household_code, business_date, received_at, "
        "reversed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
        "ON CONFLICT (id) DO UPDATE SET reversed = excluded.reversed",
        [
            (
                uid(d.id), station, county, d.tracking_no, d.carrier, d.weight_g, d.fee_fen,
                d.destination, d.farm_product, d.household_code, day(d.business_date),
                moment(d.received_at), d.reversed,
            )
            for d in _leaving_first(state.dispatches, state.dirty_dispatches, _dispatch_live)
        ],
    )  # fmt: skip
    await db.executemany(
        "INSERT INTO ledger_reversal (target, reversal, station) VALUES ($1, $2, $3)",
        [(uid(target), uid(reversal), station) for target, reversal in state.new_reversals],
    )
    await db.executemany(
        "INSERT INTO ledger_cashbook (station, day, kind, count, amount_fen, fee_fen) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (station, day, kind) DO UPDATE SET "
        "count = ledger_cashbook.count + excluded.count, "
        "amount_fen = ledger_cashbook.amount_fen + excluded.amount_fen, "
        "fee_fen = ledger_cashbook.fee_fen + excluded.fee_fen",
        [
            (station, day(when), kind, line[0], line[1], line[2])
            for (when, kind), line in sorted(state.cashbook.items())
            if any(line)
        ],
    )


async def clear() -> None:
    """Empty every projection (a rebuild replays the log into them)."""
    for table in PROJECTION_TABLES:
        await db.execute(f"DELETE FROM {table}")


# The station's reads --------------------------------------------------------------------------


async def find_parcels(
    station_id: uuid.UUID,
    state: str,
    code: str | None,
    tracking_no: str | None,
    package: str | None,
    phone_last4: str | None,
    limit: int,
) -> list[ParcelState]:
    """Newest first; `state` "all" is every state but reversed; the other filters when given."""
    conditions = ["station = $1"]
    args: list[object] = [station_id]
    if state != "all":
        args.append(state)
        conditions.append(f"state = ${len(args)}")
    else:
        conditions.append("state <> 'reversed'")
    filters = (("pickup_code", code), ("tracking_no", tracking_no), ("package", package))
    for column, value in filters:
        if value:
            args.append(value.strip().upper())
            conditions.append(f"{column} = ${len(args)}")
    if phone_last4:
        args.append(f"%{phone_last4}")
        conditions.append(f"recipient_phone LIKE ${len(args)}")
    args.append(limit)
    rows = await db.fetch(
        f"SELECT * FROM ledger_parcel WHERE {' AND '.join(conditions)} "
        f"ORDER BY received_at DESC LIMIT ${len(args)}",
        *args,
    )
    return [parcel_from_row(row) for row in rows]


async def recipient_phones(station_id: uuid.UUID, name: str, phone_last4: str) -> list[str]:
    """The numbers the station's earlier parcels to `name` ending in `phone_last4` carried."""
    rows = await db.fetch(
        "SELECT DISTINCT recipient_phone FROM ledger_parcel WHERE station = $1 "
        "AND recipient_name = $2 AND recipient_phone LIKE $3",
        station_id,
        name,
        f"%{phone_last4}",
    )
    return [row["recipient_phone"] for row in rows]


async def purchases(station_id: uuid.UUID, state: str | None) -> list[PurchaseState]:
    """The newest 500, of one state when given."""
    args: list[Any] = [station_id]
    condition = "station = $1"
    if state:
        args.append(state)
        condition += " AND state = $2"
    rows = await db.fetch(
        f"SELECT * FROM ledger_purchase WHERE {condition} ORDER BY ordered_at DESC LIMIT 500",
        *args,
    )
    return [purchase_from_row(row) for row in rows]


async def cashbook(station_id: uuid.UUID, day: datetime.date) -> list[CashbookRow]:
    rows = await db.fetch(
        "SELECT kind, count, amount_fen, fee_fen FROM ledger_cashbook "
        "WHERE station = $1 AND day = $2 ORDER BY kind",
        station_id,
        day,
    )
    return [
        CashbookRow(
            kind=row["kind"],
            count=row["count"],
            amount_fen=row["amount_fen"],
            fee_fen=row["fee_fen"],
        )
        for row in rows
    ]


async def shelf_dates(station_id: uuid.UUID) -> list[datetime.date]:
    """The day each parcel on the shelf came in."""
    rows = await db.fetch(
        "SELECT received_date FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf'",
        station_id,
    )
    return [db.as_date(row["received_date"]) for row in rows]


class ParcelSighting(msgspec.Struct, frozen=True):
    """A receipt of a number at a station, as others may see it: the recipient's phone only as
    its last four characters (every form a label shows ends in them)."""

    station_id: uuid.UUID
    tracking_no: str
    package: str  # "" or "n/m"
    state: str  # on_shelf | picked_up | returned
    received_at: datetime.datetime  # the receipt's occurred_at
    pickup_code: str
    phone_tail: str


async def parcels_with_numbers(
    tracking_nos: list[str], station_ids: list[uuid.UUID] | None
) -> list[ParcelSighting]:
    """Every receipt (not reversed) of these numbers, at these stations when given, oldest first."""
    if not tracking_nos or station_ids == []:
        return []
    args: list[Any] = [*tracking_nos]
    condition = f"tracking_no IN ({db.in_list(tracking_nos)})"
    if station_ids is not None:
        condition += f" AND station IN ({db.in_list(station_ids, len(args) + 1)})"
        args.extend(station_ids)
    rows = await db.fetch(
        "SELECT station, tracking_no, package, state, received_at, pickup_code, recipient_phone "
        f"FROM ledger_parcel WHERE {condition} AND state <> 'reversed' ORDER BY received_at",
        *args,
    )
    return [
        ParcelSighting(
            station_id=db.as_uuid(row["station"]),
            tracking_no=row["tracking_no"],
            package=row["package"] or "",
            state=row["state"],
            received_at=db.as_moment(row["received_at"]),
            pickup_code=row["pickup_code"],
            phone_tail=(row["recipient_phone"] or "")[-4:],
        )
        for row in rows
    ]


class CarrierAtStation(msgspec.Struct, frozen=True):
    station_id: uuid.UUID
    carrier: str
    parcels: int


async def stations_receiving(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> set[uuid.UUID]:
    """The county's stations that received a parcel (not reversed) from `first` to `last`: one
    probe per station of its (station, received day) index, stopping at the first parcel, not
    every parcel of the range (a year of a county is ~1.5 million)."""
    rows = await db.fetch(
        "SELECT s.id FROM registry_station s WHERE s.county = $1 AND EXISTS ("
        "SELECT 1 FROM ledger_parcel p WHERE p.station = s.id AND p.received_date >= $2 "
        "AND p.received_date <= $3 AND p.state <> 'reversed')",
        county_id,
        first,
        last,
    )
    return {db.as_uuid(row["id"]) for row in rows}


async def received_by_station_and_carrier(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[CarrierAtStation]:
    """Parcels received (not reversed) from `first` to `last` (business days) per station and
    carrier: which couriers reach which stations (read from ledger_parcel_county_received)."""
    rows = await db.fetch(
        "SELECT station, carrier, COUNT(*) AS n FROM ledger_parcel WHERE county = $1 "
        "AND received_date >= $2 AND received_date <= $3 AND state <> 'reversed' "
        "GROUP BY station, carrier",
        county_id,
        first,
        last,
    )
    return [
        CarrierAtStation(
            station_id=db.as_uuid(row["station"]), carrier=row["carrier"], parcels=int(row["n"])
        )
        for row in rows
    ]
