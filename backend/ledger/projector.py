"""Applying events to a station's state: the rules of parcels, purchases, dispatches, reversals
and the cashbook, in one place for both live ingest and `cunzhan rebuild`.

The projector works in memory on the state it was given (preloaded for a batch, or built from
nothing during a rebuild) and records what changed; `service.py` loads and writes the rows.
"""

from __future__ import annotations

import datetime
import functools
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from backend.ledger.validation import Rejection

# Events that are no business of the cashbook (a parcel moved between slots is not a transaction).
UNCOUNTED = frozenset({"entry.reversed", "parcel.moved"})
PICKUP_SLOT = re.compile(r"^(\d{1,2})-(\d{1,2})-")


def shelf_key(tracking_no: str, package: str | None) -> str:
    """What is on the shelf once: a tracking number, or one package of it ("JD…#1/3")."""
    return f"{tracking_no}#{package}" if package else tracking_no


def shelf_phone(recipient_phone: str) -> str:
    """A privacy label kept to at most 11 characters (138****5678, ****5678, 5678)."""
    if "*" not in recipient_phone:
        return recipient_phone
    head = recipient_phone.split("*", 1)[0]
    return f"{head[:3]}****{recipient_phone[-4:]}"


@dataclass
class ParcelState:
    id: uuid.UUID
    tracking_no: str
    carrier: str
    recipient_phone: str
    recipient_name: str
    pickup_code: str
    proposed_code: str
    state: str
    received_at: datetime.datetime
    received_date: datetime.date
    closed_event: uuid.UUID | None = None
    closed_at: datetime.datetime | None = None
    fee_fen: int = 0
    return_reason: str = ""
    package: str = ""

    @property
    def key(self) -> str:
        return shelf_key(self.tracking_no, self.package)


@dataclass
class PurchaseState:
    id: uuid.UUID
    platform: str
    item: str
    amount_fen: int
    commission_fen: int
    customer_phone: str
    household_code: str
    state: str
    ordered_at: datetime.datetime
    delivered_event: uuid.UUID | None = None
    delivered_at: datetime.datetime | None = None


@dataclass
class DispatchState:
    id: uuid.UUID
    tracking_no: str
    carrier: str
    weight_g: int
    fee_fen: int
    destination: str
    farm_product: bool
    household_code: str
    business_date: datetime.date
    received_at: datetime.datetime
    reversed: bool = False


@dataclass
class LoggedEvent:
    """What a reversal needs to know of its target."""

    id: uuid.UUID
    type: str
    business_date: datetime.date
    data: dict[str, Any]


@dataclass
class StationState:
    station_id: uuid.UUID
    county_id: uuid.UUID
    shelves: int
    layers: int
    # The shelf as an index (every parcel on it); full rows only for the parcels a batch touches.
    parcels: dict[uuid.UUID, ParcelState] = field(default_factory=dict)
    on_shelf: dict[str, uuid.UUID] = field(default_factory=dict)  # shelf_key → parcel
    shelf_codes: set[str] = field(default_factory=set)
    slot_load: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    parcel_by_closing_event: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    purchases: dict[uuid.UUID, PurchaseState] = field(default_factory=dict)
    purchase_by_delivery: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    dispatches: dict[uuid.UUID, DispatchState] = field(default_factory=dict)
    dispatched: dict[str, uuid.UUID] = field(default_factory=dict)  # live tracking_no → dispatch
    events: dict[uuid.UUID, LoggedEvent] = field(default_factory=dict)
    reversed_targets: set[uuid.UUID] = field(default_factory=set)
    households: set[str] = field(default_factory=set)  # codes known in the county
    product_codes: set[str] = field(default_factory=set)  # the catalogue's, of those named
    batch_codes: set[str] = field(default_factory=set)  # the county's trace batches named
    # Changes, for the writer.
    dirty_parcels: set[uuid.UUID] = field(default_factory=set)
    dirty_purchases: set[uuid.UUID] = field(default_factory=set)
    dirty_dispatches: set[uuid.UUID] = field(default_factory=set)
    new_reversals: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    cashbook: dict[tuple[datetime.date, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )

    def shelve(self, tracking_no: str, parcel_id: uuid.UUID, code: str) -> None:
        self.on_shelf[tracking_no] = parcel_id
        self.shelf_codes.add(code)
        slot = _slot(code)
        if slot:
            self.slot_load[slot] += 1

    def unshelve(self, tracking_no: str, code: str) -> None:
        del self.on_shelf[tracking_no]
        self.shelf_codes.discard(code)
        slot = _slot(code)
        if slot:
            self.slot_load[slot] -= 1


def _slot(code: str) -> tuple[int, int] | None:
    match = PICKUP_SLOT.match(code)
    return (int(match.group(1)), int(match.group(2))) if match else None


# A till count is not a takings line: the cashbook's `cash` shows it beside what was expected; a
# training session held at the station is no business at all (training's figures count it).
NOT_IN_CASHBOOK = {"cash_counted", "training_attended"}


def cashbook_kind(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "service.recorded":
        return f"service_{data['service']}"
    return event_type.replace(".", "_")


def cashbook_amounts(data: dict[str, Any]) -> tuple[int, int]:
    amount = int(data.get("amount_fen", 0))
    fee = int(data.get("fee_fen", data.get("commission_fen", 0)))
    return amount, fee


def _count(state: StationState, day, kind: str, sign: int, data: dict[str, Any]) -> None:
    if kind in NOT_IN_CASHBOOK:
        return
    amount, fee = cashbook_amounts(data)
    line = state.cashbook[(day, kind)]
    line[0] += sign
    line[1] += sign * amount
    line[2] += sign * fee


def assign_pickup_code(state: StationState, tracking_no: str, proposed: str | None) -> str:
    """Keep the phone's proposal if it is free; else the emptiest shelf slot + the last 4 digits.

    Deterministic given the shelf: the same events replayed give the same codes.
    """
    taken = state.shelf_codes
    if proposed and proposed not in taken:
        return proposed
    tail = tracking_no[-4:]
    slots = _slots(state.shelves, state.layers)
    if slots:
        # The emptiest slot, the first in order on a tie (the first of the sort below), is what
        # it almost always comes to: found without sorting every slot for every parcel.
        loads = [state.slot_load.get(slot, 0) for slot in slots]
        shelf, layer = slots[loads.index(min(loads))]
        code = f"{shelf}-{layer}-{tail}"
        if code not in taken:
            return code
    ordered = sorted(slots, key=lambda slot: (state.slot_load.get(slot, 0), slot))
    for shelf, layer in ordered:
        code = f"{shelf}-{layer}-{tail}"
        if code not in taken:
            return code
    suffix = 2
    while f"{ordered[0][0]}-{ordered[0][1]}-{tail}-{suffix}" in taken:
        suffix += 1
    return f"{ordered[0][0]}-{ordered[0][1]}-{tail}-{suffix}"


@functools.cache
def _slots(shelves: int, layers: int) -> tuple[tuple[int, int], ...]:
    """A station's shelf slots (shelf, layer), in order."""
    return tuple(
        (shelf, layer) for shelf in range(1, shelves + 1) for layer in range(1, layers + 1)
    )


@dataclass
class Applied:
    """What the server decided for an accepted event (stored beside it, part of its hash)."""

    server_data: dict[str, Any] = field(default_factory=dict)
    proposal_kept: bool = True


def apply_event(
    state: StationState,
    event_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    business_date: datetime.date,
    occurred_at: datetime.datetime,
    received_at: datetime.datetime,
    server_data: dict[str, Any] | None = None,
) -> Applied:
    """Apply one event; raises `Rejection` (changing nothing) when the rules refuse it.

    `server_data` is given on replay: what was decided when the event first arrived.
    """
    for key in ("household_code",):
        if key in data and data[key] not in state.households:
            raise Rejection("unknown_household", key)
    if "product_code" in data and data["product_code"] not in state.product_codes:
        raise Rejection(
            "unknown_product_code", "product_code", {"product_code": data["product_code"]}
        )
    if "batch_code" in data and data["batch_code"] not in state.batch_codes:
        raise Rejection("unknown_batch_code", "batch_code", {"batch_code": data["batch_code"]})
    handler = _HANDLERS[event_type]
    applied = handler(state, event_id, data, business_date, occurred_at, received_at, server_data)
    state.events[event_id] = LoggedEvent(event_id, event_type, business_date, data)
    if event_type not in UNCOUNTED:
        _count(state, business_date, cashbook_kind(event_type, data), +1, data)
    return applied


def _received(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    tracking_no = data["tracking_no"]
    key = shelf_key(tracking_no, data.get("package"))
    if key in state.on_shelf:
        raise Rejection("parcel_already_on_shelf", "tracking_no")
    proposed = data.get("pickup_code")
    if server_data and server_data.get("pickup_code"):
        code = server_data["pickup_code"]
    else:
        code = assign_pickup_code(state, tracking_no, proposed)
    parcel = ParcelState(
        id=event_id,
        tracking_no=tracking_no,
        carrier=data["carrier"],
        recipient_phone=shelf_phone(data["recipient_phone"]),
        recipient_name=data.get("recipient_name", ""),
        pickup_code=code,
        proposed_code=proposed or "",
        state="on_shelf",
        received_at=occurred_at,
        received_date=day,
        package=data.get("package", ""),
    )
    state.parcels[event_id] = parcel
    state.shelve(key, event_id, code)
    state.dirty_parcels.add(event_id)
    return Applied({"pickup_code": code}, proposal_kept=not proposed or proposed == code)


def _on_shelf(state: StationState, key: str) -> ParcelState:
    parcel_id = state.on_shelf.get(key)
    if parcel_id is None:
        raise Rejection("parcel_not_on_shelf", "tracking_no")
    return state.parcels[parcel_id]


def _close_parcel(state, parcel: ParcelState, new_state: str, event_id, occurred_at) -> None:
    parcel.state = new_state
    parcel.closed_event = event_id
    parcel.closed_at = occurred_at
    state.unshelve(parcel.key, parcel.pickup_code)
    state.parcel_by_closing_event[event_id] = parcel.id
    state.dirty_parcels.add(parcel.id)


def _picked_up(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    parcel = _on_shelf(state, shelf_key(data["tracking_no"], data.get("package")))
    if data["pickup_code"] not in {parcel.pickup_code, parcel.proposed_code}:
        raise Rejection("pickup_code_mismatch", "pickup_code")
    parcel.fee_fen = int(data.get("fee_fen", 0))
    _close_parcel(state, parcel, "picked_up", event_id, occurred_at)
    return Applied()


def _returned(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    parcel = _on_shelf(state, shelf_key(data["tracking_no"], data.get("package")))
    parcel.return_reason = data["reason"]
    _close_parcel(state, parcel, "returned", event_id, occurred_at)
    return Applied()


def _moved(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    parcel = state.parcels.get(uuid.UUID(str(data["parcel_id"])))
    if parcel is None or parcel.state != "on_shelf":
        raise Rejection("parcel_not_on_shelf", "parcel_id")
    code = data["pickup_code"]
    if code == parcel.pickup_code:
        return Applied()
    if code in state.shelf_codes:
        raise Rejection("pickup_code_in_use", "pickup_code")
    # On the shelf by its key: a JD package shares its tracking number with its siblings.
    state.unshelve(parcel.key, parcel.pickup_code)
    parcel.pickup_code = code
    state.shelve(parcel.key, parcel.id, code)
    state.dirty_parcels.add(parcel.id)
    return Applied()


def _dispatched(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    tracking_no = data["tracking_no"]
    if tracking_no in state.dispatched:
        raise Rejection("already_dispatched", "tracking_no")
    state.dispatches[event_id] = DispatchState(
        id=event_id,
        tracking_no=tracking_no,
        carrier=data["carrier"],
        weight_g=data["weight_g"],
        fee_fen=data["fee_fen"],
        destination=data["destination"],
        farm_product=data["farm_product"],
        household_code=data.get("household_code", ""),
        business_date=day,
        received_at=received_at,
    )
    state.dispatched[tracking_no] = event_id
    state.dirty_dispatches.add(event_id)
    return Applied()


def _ordered(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    state.purchases[event_id] = PurchaseState(
        id=event_id,
        platform=data["platform"],
        item=data["item"],
        amount_fen=data["amount_fen"],
        commission_fen=data["commission_fen"],
        customer_phone=data.get("customer_phone", ""),
        household_code=data.get("household_code", ""),
        state="ordered",
        ordered_at=occurred_at,
    )
    state.dirty_purchases.add(event_id)
    return Applied()


def _delivered(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    purchase = state.purchases.get(uuid.UUID(str(data["purchase_id"])))
    if purchase is None or purchase.state == "reversed":
        raise Rejection("unknown_purchase", "purchase_id")
    if purchase.state == "delivered":
        raise Rejection("purchase_already_delivered", "purchase_id")
    purchase.state = "delivered"
    purchase.delivered_event = event_id
    purchase.delivered_at = occurred_at
    state.purchase_by_delivery[event_id] = purchase.id
    state.dirty_purchases.add(purchase.id)
    return Applied()


def _plain(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    return Applied()


def _reversed(state, event_id, data, day, occurred_at, received_at, server_data) -> Applied:
    target_id = uuid.UUID(str(data["target_id"]))
    target = state.events.get(target_id)
    if target is None:
        raise Rejection("unknown_entry", "target_id")
    if target.type == "entry.reversed":
        raise Rejection("cannot_reverse_reversal", "target_id")
    if target.type == "parcel.moved":
        raise Rejection("move_again_instead", "target_id")  # a move is undone by moving back
    if target_id in state.reversed_targets:
        raise Rejection("already_reversed", "target_id")
    decided = _UNDO.get(target.type, _undo_nothing)(state, target, server_data or {})
    _count(state, target.business_date, cashbook_kind(target.type, target.data), -1, target.data)
    state.reversed_targets.add(target_id)
    state.new_reversals.append((target_id, event_id))
    return Applied(decided or {})


def _undo_nothing(state: StationState, target: LoggedEvent, server_data: dict) -> None:
    return None


def _undo_received(state: StationState, target: LoggedEvent, server_data: dict) -> None:
    parcel = state.parcels.get(target.id)
    if parcel is None or parcel.state != "on_shelf":
        raise Rejection("reverse_pickup_first", "target_id")
    parcel.state = "reversed"
    state.unshelve(parcel.key, parcel.pickup_code)
    state.dirty_parcels.add(parcel.id)


def _undo_closing(state: StationState, target: LoggedEvent, server_data: dict) -> dict | None:
    """A pickup or return undone: the parcel is back on the shelf (with a free code)."""
    parcel = state.parcels[state.parcel_by_closing_event[target.id]]
    if parcel.key in state.on_shelf:
        raise Rejection("parcel_already_on_shelf", "target_id")
    decided = None
    if server_data.get("pickup_code"):
        parcel.pickup_code = server_data["pickup_code"]
    elif parcel.pickup_code in state.shelf_codes:
        parcel.pickup_code = assign_pickup_code(state, parcel.tracking_no, None)
        decided = {"pickup_code": parcel.pickup_code}
    parcel.state = "on_shelf"
    parcel.closed_event = None
    parcel.closed_at = None
    parcel.fee_fen = 0
    parcel.return_reason = ""
    state.shelve(parcel.key, parcel.id, parcel.pickup_code)
    state.dirty_parcels.add(parcel.id)
    return decided


def _undo_dispatched(state: StationState, target: LoggedEvent, server_data: dict) -> None:
    dispatch = state.dispatches[target.id]
    dispatch.reversed = True
    state.dispatched.pop(dispatch.tracking_no, None)
    state.dirty_dispatches.add(dispatch.id)


def _undo_ordered(state: StationState, target: LoggedEvent, server_data: dict) -> None:
    purchase = state.purchases[target.id]
    if purchase.state == "delivered":
        raise Rejection("reverse_delivery_first", "target_id")
    purchase.state = "reversed"
    state.dirty_purchases.add(purchase.id)


def _undo_delivered(state: StationState, target: LoggedEvent, server_data: dict) -> None:
    purchase = state.purchases[state.purchase_by_delivery[target.id]]
    purchase.state = "ordered"
    purchase.delivered_event = None
    purchase.delivered_at = None
    state.dirty_purchases.add(purchase.id)


_HANDLERS = {
    "parcel.received": _received,
    "parcel.picked_up": _picked_up,
    "parcel.returned": _returned,
    "parcel.moved": _moved,
    "parcel.dispatched": _dispatched,
    "purchase.ordered": _ordered,
    "purchase.delivered": _delivered,
    "sale.recorded": _plain,
    "service.recorded": _plain,
    "checkin.recorded": _plain,
    "cash.counted": _plain,
    "training.attended": _plain,
    "entry.reversed": _reversed,
}

_UNDO = {
    "parcel.received": _undo_received,
    "parcel.picked_up": _undo_closing,
    "parcel.returned": _undo_closing,
    "parcel.dispatched": _undo_dispatched,
    "purchase.ordered": _undo_ordered,
    "purchase.delivered": _undo_delivered,
}
