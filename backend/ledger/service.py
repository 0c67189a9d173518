"""The ledger's logic: accepting a batch exactly once, the pull, the reads, verify and rebuild.

A batch is judged event by event, in order, against the station's state as the earlier events of
the same batch left it; everything accepted is written in one transaction together with its
projections. The station's chain-head row is locked for the whole batch, so one station's writers
queue while other stations proceed; a duplicate id inserted concurrently by another station makes
the primary key refuse the whole transaction, which is then judged again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

import msgspec

from backend import clock, db, groupcommit
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError, problem_document
from backend.ledger.carriers import parse_tracking_no, phone_form
from backend.ledger.projector import (
    Applied,
    DispatchState,
    LoggedEvent,
    ParcelState,
    PurchaseState,
    StationState,
    apply_event,
    shelf_key,
)
from backend.ledger.schemas import (
    ACCOUNT_FIELDS,
    MAX_BATCH_EVENTS,
    PHONE_FIELDS,
    Cashbook,
    CashbookLine,
    CashCount,
    ParcelOut,
    ParcelRule,
    PulledEvent,
    PullResponse,
    PurchaseOut,
    RecipientSuggestion,
    StationSummary,
    SyncResponse,
    SyncResult,
)
from backend.ledger.validation import (
    Candidate,
    Rejection,
    business_moment,
    canonical_json,
    check_event,
    utc_iso,
)
from backend.notify import villagers
from backend.privacy import mask_account, mask_phone

log = logging.getLogger("cunzhan.ledger")

GENESIS_HASH = "0" * 64
CLOSING_TYPES = ("parcel.picked_up", "parcel.returned")
PULL_PAGE = 500
# Sync group commit: concurrent pushes share one transaction (one fsync), at most this many
# pushes and about this many events together, so a bulk push does not hold the writer long.
INGEST_GROUP_PUSHES = 64
INGEST_GROUP_EVENTS = 2000


def ingest_queue() -> groupcommit.GroupCommit:
    return groupcommit.queue("ledger.sync", INGEST_GROUP_PUSHES, INGEST_GROUP_EVENTS)


# Station facts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationFacts:
    id: uuid.UUID
    county_id: uuid.UUID
    timezone: zoneinfo.ZoneInfo
    shelves: int
    layers: int
    parcel_free_days: int
    parcel_daily_fee_fen: int
    parcel_fee_cap_fen: int
    parcel_return_days: int


async def station_facts(station_id: uuid.UUID) -> StationFacts:
    rows = await db.fetch(
        "SELECT s.id, s.county, s.shelves, s.layers, c.timezone, c.parcel_free_days, "
        "c.parcel_daily_fee_fen, c.parcel_fee_cap_fen, c.parcel_return_days "
        "FROM registry_station s JOIN registry_county c ON c.id = s.county WHERE s.id = $1",
        station_id,
    )
    if not rows:
        raise DomainError("not_found", status=404)
    row = rows[0]
    return StationFacts(
        id=db.as_uuid(row["id"]),
        county_id=db.as_uuid(row["county"]),
        timezone=zoneinfo.ZoneInfo(row["timezone"]),
        shelves=row["shelves"],
        layers=row["layers"],
        parcel_free_days=row["parcel_free_days"],
        parcel_daily_fee_fen=row["parcel_daily_fee_fen"],
        parcel_fee_cap_fen=row["parcel_fee_cap_fen"],
        parcel_return_days=row["parcel_return_days"],
    )


def local_today(facts: StationFacts, moment: datetime.datetime | None = None) -> datetime.date:
    return (moment or clock.utcnow()).astimezone(facts.timezone).date()


# The chain ------------------------------------------------------------------------------------


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    material = "\n".join(
        [
            prev_hash,
            str(row["id"]),
            str(row["station"]),
            str(row["seq"]),
            str(row["device_id"]),
            str(row["keeper"]),
            row["type"],
            utc_iso(row["occurred_at"]),
            utc_iso(row["received_at"]),
            row["business_date"].isoformat(),
            row["data"],
            row["server_data"],
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


async def _lock_chain(station_id: uuid.UUID) -> tuple[int, str]:
    """Take the station's chain head (SQLite's IMMEDIATE transaction already serialises)."""
    lock = "" if db.is_sqlite() else " FOR UPDATE"
    select = f"SELECT last_seq, last_hash FROM ledger_chain WHERE station = $1{lock}"
    rows = await db.fetch(select, station_id)
    if not rows:  # the station's first push
        await db.execute(
            "INSERT INTO ledger_chain (station, last_seq, last_hash) VALUES ($1, 0, $2) "
            "ON CONFLICT (station) DO NOTHING",
            station_id,
            GENESIS_HASH,
        )
        rows = await db.fetch(select, station_id)
    return rows[0]["last_seq"], rows[0]["last_hash"]


# Loading state for a batch --------------------------------------------------------------------


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


def _purchase_from_row(row: dict[str, Any]) -> PurchaseState:
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


def _add_parcel(state: StationState, parcel: ParcelState) -> None:
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


async def _load_state(facts: StationFacts, candidates: list[Candidate]) -> StationState:
    """Only what this batch's events can touch: the shelf's index, and the entries they name."""
    state = StationState(facts.id, facts.county_id, facts.shelves, facts.layers)
    station = facts.id
    for row in await db.fetch(
        "SELECT id, tracking_no, package, pickup_code FROM ledger_parcel "
        "WHERE station = $1 AND state = 'on_shelf'",
        station,
    ):
        key = shelf_key(row["tracking_no"], row["package"])
        state.shelve(key, db.as_uuid(row["id"]), row["pickup_code"])
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
            _add_parcel(state, parcel_from_row(row))
    moved = sorted({str(c.data["parcel_id"]) for c in candidates if c.type == "parcel.moved"})
    if moved:
        for row in await db.fetch(
            "SELECT * FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf' "
            f"AND id IN ({db.in_list(moved, 2)})",
            station,
            *[uuid.UUID(m) for m in moved],
        ):
            _add_parcel(state, parcel_from_row(row))
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
            _add_parcel(state, parcel_from_row(row))
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
            _add_purchase(state, _purchase_from_row(row))
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
        for row in await db.fetch(
            "SELECT code FROM registry_household "
            f"WHERE county = $1 AND code IN ({db.in_list(codes, 2)})",
            facts.county_id,
            *codes,
        ):
            state.households.add(row["code"])
    return state


# Writing a batch ------------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "id, station, county, seq, device_id, keeper, type, occurred_at, received_at, "
    "business_date, data, server_data, content_hash, prev_hash, hash"
)


def _leaving_first(rows: dict, dirty: set, is_live) -> list:
    """Rows leaving the shelf (or reversed) are written before rows taking their place, so the
    partial unique indexes never see two live rows at once."""
    return sorted((rows[i] for i in dirty), key=lambda row: (is_live(row), str(row.id)))


def _parcel_on_shelf(parcel: ParcelState) -> bool:
    return parcel.state == "on_shelf"


def _dispatch_live(dispatch: DispatchState) -> bool:
    return not dispatch.reversed


async def _write_projections(state: StationState) -> None:
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
                p.id, state.station_id, state.county_id, p.tracking_no, p.carrier,
                p.recipient_phone, p.recipient_name, p.pickup_code, p.proposed_code, p.state,
                p.received_at, p.received_date, p.closed_event, p.closed_at, p.fee_fen,
                p.return_reason, p.package,
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
                p.id, state.station_id, state.county_id, p.platform, p.item, p.amount_fen,
                p.commission_fen, p.customer_phone, p.household_code, p.state, p.ordered_at,
                p.delivered_event, p.delivered_at,
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
                d.id, state.station_id, state.county_id, d.tracking_no, d.carrier, d.weight_g,
                d.fee_fen, d.destination, d.farm_product, d.household_code, d.business_date,
                d.received_at, d.reversed,
            )
            for d in _leaving_first(state.dispatches, state.dirty_dispatches, _dispatch_live)
        ],
    )  # fmt: skip
    await db.executemany(
        "INSERT INTO ledger_reversal (target, reversal, station) VALUES ($1, $2, $3)",
        [(target, reversal, state.station_id) for target, reversal in state.new_reversals],
    )
    await db.executemany(
        "INSERT INTO ledger_cashbook (station, day, kind, count, amount_fen, fee_fen) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (station, day, kind) DO UPDATE SET "
        "count = ledger_cashbook.count + excluded.count, "
        "amount_fen = ledger_cashbook.amount_fen + excluded.amount_fen, "
        "fee_fen = ledger_cashbook.fee_fen + excluded.fee_fen",
        [
            (state.station_id, day, kind, line[0], line[1], line[2])
            for (day, kind), line in sorted(state.cashbook.items())
            if any(line)
        ],
    )


def _rejected(event_id: str | None, rejection: Rejection, language: str) -> SyncResult:
    error = problem_document(
        rejection.code, 422, language, field=rejection.field, **rejection.params
    )
    return SyncResult(id=event_id, status="rejected", error=error)


@dataclass
class _Judged:
    """One event of a batch as judged: its result, and the row to write if accepted."""

    index: int
    result: SyncResult
    candidate: Candidate | None = None


async def push(
    user: CurrentUser, device_id: uuid.UUID, raw_events: list[Any], language: str
) -> SyncResponse:
    """Accept a batch: exactly once per event id, in order, in one transaction."""
    if user.station_id is None:
        raise DomainError("keepers_only", status=403)
    if len(raw_events) > MAX_BATCH_EVENTS:
        raise DomainError("payload_too_large", status=413)
    for attempt in range(3):
        try:
            return await _push_once(user, device_id, raw_events, language)
        except Exception as exc:
            # Another station inserted one of these ids at the same moment: judge again, now
            # the row exists and the event is a conflict.
            if attempt < 2 and db.is_integrity_error(exc):
                log.warning("sync batch raced on an event id; judging it again")
                continue
            raise
    raise AssertionError("unreachable")


async def _push_once(
    user: CurrentUser, device_id: uuid.UUID, raw_events: list[Any], language: str
) -> SyncResponse:
    received_at = clock.utcnow()
    station_id = user.station_id
    checked: list[_Judged] = []
    for index, raw in enumerate(raw_events):
        raw_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else None
        try:
            candidate = check_event(raw, received_at)
            checked.append(_Judged(index, SyncResult(id=raw_id, status="accepted"), candidate))
        except Rejection as rejection:
            checked.append(_Judged(index, _rejected(raw_id, rejection, language)))
    candidates = [j.candidate for j in checked if j.candidate]

    async def judge_and_write():
        """Inside the group's transaction; may run twice (alone, if the group failed)."""
        judged = [_Judged(j.index, msgspec.structs.replace(j.result), j.candidate) for j in checked]
        facts = await station_facts(station_id)
        last_seq, last_hash = await _lock_chain(station_id)
        existing = await _existing(candidates)
        state = await _load_state(facts, candidates)
        rows, conflicts, seen = [], [], {}
        for item in judged:
            candidate = item.candidate
            if candidate is None:
                continue
            key = candidate.id
            earlier = existing.get(key) or seen.get(key)
            if earlier is not None:
                same = earlier[0] == station_id and earlier[1] == candidate.content_hash
                item.result.status = "duplicate" if same else "conflict"
                if not same:
                    conflicts.append(candidate)
                item.candidate = None
                continue
            business_at = business_moment(candidate.occurred_at, received_at)
            business_date = business_at.astimezone(facts.timezone).date()
            try:
                applied = apply_event(
                    state,
                    candidate.id,
                    candidate.type,
                    candidate.data,
                    business_date,
                    candidate.occurred_at,
                    received_at,
                )
            except Rejection as rejection:
                item.result = _rejected(str(candidate.id), rejection, language)
                item.candidate = None
                continue
            last_seq += 1
            row = _event_row(user, device_id, facts, candidate, last_seq, received_at)
            row["business_date"] = business_date
            row["server_data"] = canonical_json(applied.server_data)
            row["prev_hash"] = last_hash
            row["hash"] = last_hash = chain_hash(last_hash, row)
            rows.append(row)
            seen[key] = (station_id, candidate.content_hash)
            _describe_accepted(item.result, candidate, applied, last_seq)
        await _insert_events(rows)
        await _write_projections(state)
        notices = await _enqueue_pickup_notices(station_id, state, rows, language)
        await _record_conflicts(conflicts, user, device_id, received_at)
        if rows:
            await db.execute(
                "UPDATE ledger_chain SET last_seq = $1, last_hash = $2 WHERE station = $3",
                last_seq,
                last_hash,
                station_id,
            )
        await _describe_duplicates([j for j in judged if j.result.status == "duplicate"])
        return rows, last_seq, judged, notices

    # The pickup SMS go out only once the group's commit holds their parcels.
    rows, last_seq, judged, notices = await ingest_queue().run(
        judge_and_write, weight=max(1, len(candidates)), order=str(station_id)
    )
    if rows:
        log.info("sync accepted", extra={"station_id": str(station_id), "count": len(rows)})
    villagers.send_in_background(notices)
    return SyncResponse(results=[j.result for j in judged], cursor=str(last_seq))


async def _enqueue_pickup_notices(station_id, state: StationState, rows, language: str):
    """The pickup SMS of the parcels received in this batch and still on the shelf, written in
    the batch's own transaction (exactly once: a duplicate event is never applied again)."""
    received = []
    for row in rows:
        if row["type"] != "parcel.received":
            continue
        parcel = state.parcels.get(row["id"])
        if parcel is not None and parcel.state == "on_shelf":
            received.append((parcel.id, parcel.recipient_phone, parcel.pickup_code))
    return await villagers.enqueue_pickups(station_id, received, language)


def _event_row(user, device_id, facts, candidate: Candidate, seq: int, received_at):
    return {
        "id": candidate.id,
        "station": facts.id,
        "county": facts.county_id,
        "seq": seq,
        "device_id": device_id,
        "keeper": user.id,
        "type": candidate.type,
        "occurred_at": candidate.occurred_at,
        "received_at": received_at,
        "data": candidate.data_json,
        "content_hash": candidate.content_hash,
    }


def _describe_accepted(result: SyncResult, candidate: Candidate, applied: Applied, seq: int):
    result.seq = seq
    if candidate.warnings:
        result.warnings = list(candidate.warnings)
    if "pickup_code" in applied.server_data:
        result.pickup_code = applied.server_data["pickup_code"]
        if candidate.type == "parcel.received" and candidate.data.get("pickup_code"):
            result.pickup_code_changed = not applied.proposal_kept


async def _describe_duplicates(duplicates: list[_Judged]) -> None:
    """A retried parcel receipt learns its pickup code again, and every duplicate its seq."""
    ids = [uuid.UUID(j.result.id) for j in duplicates if j.result.id]
    if not ids:
        return
    rows = await db.fetch(
        f"SELECT id, seq, server_data FROM ledger_event WHERE id IN ({db.in_list(ids)})", *ids
    )
    known = {str(db.as_uuid(row["id"])): row for row in rows}
    for item in duplicates:
        row = known.get(str(uuid.UUID(item.result.id)))
        if row:
            item.result.seq = row["seq"]
            code = json.loads(row["server_data"]).get("pickup_code")
            if code:
                item.result.pickup_code = code


async def _existing(candidates: list[Candidate]) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    ids = list({c.id for c in candidates})
    if not ids:
        return {}
    rows = await db.fetch(
        f"SELECT id, station, content_hash FROM ledger_event WHERE id IN ({db.in_list(ids)})", *ids
    )
    return {db.as_uuid(r["id"]): (db.as_uuid(r["station"]), r["content_hash"]) for r in rows}


async def _insert_events(rows: list[dict[str, Any]]) -> None:
    await db.executemany(
        f"INSERT INTO ledger_event ({_EVENT_COLUMNS}) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        [
            (
                r["id"], r["station"], r["county"], r["seq"], r["device_id"], r["keeper"],
                r["type"], r["occurred_at"], r["received_at"], r["business_date"], r["data"],
                r["server_data"], r["content_hash"], r["prev_hash"], r["hash"],
            )
            for r in rows
        ],
    )  # fmt: skip


async def _record_conflicts(conflicts, user: CurrentUser, device_id, received_at) -> None:
    await db.executemany(
        "INSERT INTO ledger_conflict (event_id, station, device_id, keeper, content_hash, "
        "received_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (c.id, user.station_id, device_id, user.id, c.content_hash, received_at)
            for c in conflicts
        ],
    )
    for candidate in conflicts:
        log.warning(
            "sync conflict: an event id was sent again with other content",
            extra={"station_id": str(user.station_id), "event": str(candidate.id)},
        )


# Pull -----------------------------------------------------------------------------------------


def mask_data(data: dict[str, Any]) -> dict[str, Any]:
    masked = dict(data)
    for key in PHONE_FIELDS:
        if key in masked:
            masked[key] = mask_phone(masked[key])
    for key in ACCOUNT_FIELDS:
        if key in masked:
            masked[key] = mask_account(masked[key])
    return masked


def parse_cursor(since: str | None) -> int:
    if since in (None, ""):
        return 0
    # str.isdigit() also says yes to "²" and "١٢", which int() then refuses or misreads.
    if not (since.isascii() and since.isdigit()) or len(since) > 12:
        raise DomainError("invalid_cursor", status=400, field="since")
    return int(since)


async def pull(station_id: uuid.UUID, since: int, limit: int = PULL_PAGE) -> PullResponse:
    """The station's events after the cursor, in order, each once; personal data masked."""
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT e.id, e.seq, e.type, e.occurred_at, e.received_at, e.business_date, "
            "e.device_id, e.keeper, e.data, e.server_data, r.reversal "
            "FROM ledger_event e LEFT JOIN ledger_reversal r ON r.target = e.id "
            "WHERE e.station = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
            station_id,
            since,
            limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    events = [
        PulledEvent(
            id=db.as_uuid(row["id"]),
            seq=row["seq"],
            type=row["type"],
            occurred_at=db.as_moment(row["occurred_at"]),
            received_at=db.as_moment(row["received_at"]),
            business_date=db.as_date(row["business_date"]),
            device_id=db.as_uuid(row["device_id"]),
            keeper_id=db.as_uuid(row["keeper"]),
            data=mask_data(json.loads(row["data"])),
            server=json.loads(row["server_data"]),
            reversed_by=db.as_uuid(row["reversal"]) if row["reversal"] else None,
        )
        for row in rows
    ]
    cursor = events[-1].seq if events else since
    return PullResponse(events=events, cursor=str(cursor), more=more)


# Reading --------------------------------------------------------------------------------------

PARCEL_STATES = ("on_shelf", "picked_up", "returned", "all")


def parcel_charges(facts: StationFacts, received_date: datetime.date, today: datetime.date):
    """Days on the shelf, the storage fee due by the county's rule, and whether to return it."""
    days = max(0, (today - received_date).days)
    chargeable = max(0, days - facts.parcel_free_days)
    fee = min(chargeable * facts.parcel_daily_fee_fen, facts.parcel_fee_cap_fen)
    return days, fee, days >= facts.parcel_return_days


async def list_parcels(
    station_id: uuid.UUID,
    state: str,
    unmasked: bool,
    code: str | None = None,
    phone_last4: str | None = None,
    tracking_no: str | None = None,
    limit: int = 500,
) -> list[ParcelOut]:
    if state not in PARCEL_STATES:
        raise DomainError("invalid_choice", status=400, field="state")
    conditions, args = ["station = $1"], [station_id]
    if state != "all":
        args.append(state)
        conditions.append(f"state = ${len(args)}")
    else:
        conditions.append("state <> 'reversed'")
    package = None
    if tracking_no:
        scanned = parse_tracking_no(tracking_no)
        tracking_no, package = scanned.tracking_no, scanned.package
    filters = (("pickup_code", code), ("tracking_no", tracking_no), ("package", package))
    for column, value in filters:
        if value:
            args.append(value.strip().upper())
            conditions.append(f"{column} = ${len(args)}")
    if phone_last4:
        if not (phone_last4.isascii() and phone_last4.isdigit() and len(phone_last4) == 4):
            raise DomainError("invalid_phone_last4", status=400, field="phone_last4")
        args.append(f"%{phone_last4}")
        conditions.append(f"recipient_phone LIKE ${len(args)}")
    args.append(limit)
    async with db.read_transaction():
        facts = await station_facts(station_id)
        rows = await db.fetch(
            f"SELECT * FROM ledger_parcel WHERE {' AND '.join(conditions)} "
            f"ORDER BY received_at DESC LIMIT ${len(args)}",
            *args,
        )
        notices = await villagers.notice_states([db.as_uuid(row["id"]) for row in rows])
    today = local_today(facts)
    parcels = []
    for row in rows:
        parcel = parcel_from_row(row)
        notice, notices_sent = notices.get(parcel.id, ("none", 0))
        days, fee, overdue = parcel_charges(facts, parcel.received_date, today)
        on_shelf = parcel.state == "on_shelf"
        parcels.append(
            ParcelOut(
                id=parcel.id,
                tracking_no=parcel.tracking_no,
                package=parcel.package or None,
                carrier=parcel.carrier,
                recipient_phone=parcel.recipient_phone
                if unmasked
                else mask_phone(parcel.recipient_phone),
                recipient_phone_form=phone_form(parcel.recipient_phone) or "full",
                recipient_name=parcel.recipient_name,
                pickup_code=parcel.pickup_code,
                state=parcel.state,
                received_at=parcel.received_at,
                days_on_shelf=days if on_shelf else 0,
                fee_due_fen=fee if on_shelf else 0,
                overdue=overdue and on_shelf,
                closed_at=parcel.closed_at,
                return_reason=parcel.return_reason,
                notice=notice,
                notices_sent=notices_sent,
            )
        )
    return parcels


async def suggest_recipient_phone(
    station_id: uuid.UUID, phone_last4: str, name: str, unmasked: bool
) -> RecipientSuggestion:
    """The full number for a privacy label: households of the station's village and the
    station's earlier parcels with a full number ending in `phone_last4` and the same name."""
    if not (phone_last4.isdigit() and len(phone_last4) == 4):
        raise DomainError("invalid_phone_last4", status=400, field="phone_last4")
    name = name.strip()
    if not name:
        return RecipientSuggestion(phone=None, source=None)
    async with db.read_transaction():
        households = await db.fetch(
            "SELECT h.phone FROM registry_household h JOIN registry_station s "
            "ON s.village = h.village WHERE s.id = $1 AND h.head_name = $2 AND h.phone LIKE $3",
            station_id,
            name,
            f"%{phone_last4}",
        )
        parcels = await db.fetch(
            "SELECT DISTINCT recipient_phone FROM ledger_parcel WHERE station = $1 "
            "AND recipient_name = $2 AND recipient_phone LIKE $3",
            station_id,
            name,
            f"%{phone_last4}",
        )
    found: dict[str, str] = {}
    for source, rows, column in (
        ("parcel", parcels, "recipient_phone"),
        ("household", households, "phone"),
    ):
        for row in rows:
            if phone_form(row[column] or "") == "full":
                found[row[column]] = source
    if len(found) != 1:
        return RecipientSuggestion(phone=None, source=None)
    phone, source = next(iter(found.items()))
    return RecipientSuggestion(phone=phone if unmasked else mask_phone(phone), source=source)


async def list_purchases(station_id: uuid.UUID, state: str | None) -> list[PurchaseOut]:
    args: list[Any] = [station_id]
    condition = "station = $1"
    if state:
        if state not in ("ordered", "delivered", "reversed"):
            raise DomainError("invalid_choice", status=400, field="state")
        args.append(state)
        condition += " AND state = $2"
    async with db.read_transaction():
        rows = await db.fetch(
            f"SELECT * FROM ledger_purchase WHERE {condition} ORDER BY ordered_at DESC LIMIT 500",
            *args,
        )
    return [
        PurchaseOut(
            id=p.id,
            platform=p.platform,
            item=p.item,
            amount_fen=p.amount_fen,
            commission_fen=p.commission_fen,
            customer_phone=mask_phone(p.customer_phone),
            household_code=p.household_code,
            state=p.state,
            ordered_at=p.ordered_at,
            delivered_at=p.delivered_at,
        )
        for p in map(_purchase_from_row, rows)
    ]


async def cashbook(station_id: uuid.UUID, day: datetime.date | None) -> Cashbook:
    async with db.read_transaction():
        facts = await station_facts(station_id)
        day = day or local_today(facts)
        rows = await db.fetch(
            "SELECT kind, count, amount_fen, fee_fen FROM ledger_cashbook "
            "WHERE station = $1 AND day = $2 ORDER BY kind",
            station_id,
            day,
        )
        counts = await latest_cash_counts([station_id], day, day)
    lines = [
        CashbookLine(
            kind=row["kind"],
            count=row["count"],
            amount_fen=row["amount_fen"],
            fee_fen=row["fee_fen"],
        )
        for row in rows
        if row["count"] or row["amount_fen"] or row["fee_fen"]
    ]
    return Cashbook(
        station_id=station_id,
        date=day,
        kinds=lines,
        total_amount_fen=sum(line.amount_fen for line in lines),
        total_fee_fen=sum(line.fee_fen for line in lines),
        cash=cash_count(
            expected_cash((line.kind, line.amount_fen, line.fee_fen) for line in lines),
            counts.get((station_id, day)),
        ),
    )


def expected_cash(lines) -> int:
    """What the till should hold by a day's entries (the README's "expected"), from its cashbook
    lines `(kind, amount_fen, fee_fen)`: cash taken in for services (amount + fee), postage,
    purchases and storage fees; minus cash handed out: withdrawals (amount, less their fee) and
    the villagers' payouts for sales (amount - commission)."""
    total = 0
    for kind, amount, fee in lines:
        if kind == "service_cash_withdrawal":
            total += fee - amount
        elif kind.startswith("service_"):
            total += amount + fee
        elif kind in ("parcel_dispatched", "parcel_picked_up"):
            total += fee
        elif kind == "purchase_ordered":
            total += amount
        elif kind == "sale_recorded":
            total -= amount - fee
    return total


def cash_count(expected_fen: int, counted_fen: int | None) -> CashCount:
    return CashCount(
        expected_fen=expected_fen,
        counted_fen=counted_fen,
        difference_fen=None if counted_fen is None else counted_fen - expected_fen,
    )


async def latest_cash_counts(
    station_ids: list[uuid.UUID], first: datetime.date, last: datetime.date
) -> dict[tuple[uuid.UUID, datetime.date], int]:
    """日结: each station's count per day, the latest one not reversed (a later count of the same
    day replaces the earlier one). Read inside the caller's transaction."""
    if not station_ids:
        return {}
    rows = await db.fetch(
        "SELECT e.station, e.business_date, e.data FROM ledger_event e "
        "LEFT JOIN ledger_reversal r ON r.target = e.id "
        "WHERE e.type = 'cash.counted' AND r.target IS NULL "
        f"AND e.business_date >= $1 AND e.business_date <= $2 "
        f"AND e.station IN ({db.in_list(station_ids, 3)}) ORDER BY e.seq",
        first,
        last,
        *station_ids,
    )
    counts = {}
    for row in rows:
        key = (db.as_uuid(row["station"]), db.as_date(row["business_date"]))
        counts[key] = int(json.loads(row["data"])["counted_fen"])
    return counts


def week_start(day: datetime.date) -> datetime.date:
    """The county's check-in week runs Monday to Sunday, local time."""
    return day - datetime.timedelta(days=day.weekday())


async def summary(station_id: uuid.UUID) -> StationSummary:
    today_book = await cashbook(station_id, None)
    async with db.read_transaction():
        facts = await station_facts(station_id)
        today = local_today(facts)
        names = (
            await db.fetch(
                "SELECT s.name, s.code, c.name AS county_name FROM registry_station s "
                "JOIN registry_county c ON c.id = s.county WHERE s.id = $1",
                station_id,
            )
        )[0]
        checkins = await db.fetch(
            "SELECT e.occurred_at, e.business_date FROM ledger_event e "
            "LEFT JOIN ledger_reversal r ON r.target = e.id "
            "WHERE e.station = $1 AND e.type = 'checkin.recorded' AND r.target IS NULL "
            "ORDER BY e.seq DESC LIMIT 1",
            station_id,
        )
        shelf = await db.fetch(
            "SELECT received_date FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf'",
            station_id,
        )
    last = checkins[0] if checkins else None
    overdue = sum(
        1 for row in shelf if parcel_charges(facts, db.as_date(row["received_date"]), today)[2]
    )
    return StationSummary(
        station_id=station_id,
        station_name=names["name"],
        station_code=names["code"],
        county_name=names["county_name"],
        timezone=facts.timezone.key,
        today=today,
        week_start=week_start(today),
        checked_in_this_week=bool(last and db.as_date(last["business_date"]) >= week_start(today)),
        last_checkin_at=db.as_moment(last["occurred_at"]) if last else None,
        parcels_on_shelf=len(shelf),
        parcels_overdue=overdue,
        parcel_rule=ParcelRule(
            free_days=facts.parcel_free_days,
            daily_fee_fen=facts.parcel_daily_fee_fen,
            fee_cap_fen=facts.parcel_fee_cap_fen,
            return_days=facts.parcel_return_days,
        ),
        cashbook=today_book,
    )


# Verify and rebuild ---------------------------------------------------------------------------

VERIFY_PAGE = 5000


async def _stations_with_events() -> list[dict[str, Any]]:
    async with db.read_transaction():
        return await db.fetch(
            "SELECT s.id, s.code, s.county, h.last_seq, h.last_hash FROM registry_station s "
            "JOIN ledger_chain h ON h.station = s.id ORDER BY s.code"
        )


def _broken(station: dict[str, Any], seq: int, event_id: Any, problem: str) -> dict[str, Any]:
    return {
        "station_id": str(db.as_uuid(station["id"])),
        "station_code": station["code"],
        "seq": seq,
        "event_id": str(event_id) if event_id else None,
        "problem": problem,
    }


async def _verify_station(station: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """Walk one chain from its first event; the first broken link, if any."""
    expected_seq, running, count = 1, GENESIS_HASH, 0
    while True:
        async with db.read_transaction():
            rows = await db.fetch(
                "SELECT * FROM ledger_event WHERE station = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                station["id"],
                expected_seq,
                VERIFY_PAGE,
            )
        for row in rows:
            count += 1
            row["occurred_at"], row["received_at"] = (
                db.as_moment(row["occurred_at"]),
                db.as_moment(row["received_at"]),
            )
            row["business_date"] = db.as_date(row["business_date"])
            if row["seq"] != expected_seq:
                return count, _broken(station, expected_seq, None, "missing_event")
            if row["prev_hash"] != running:
                return count, _broken(station, row["seq"], row["id"], "previous_hash_differs")
            content = hashlib.sha256(
                f"{row['type']}\n{utc_iso(row['occurred_at'])}\n{row['data']}".encode()
            ).hexdigest()
            if content != row["content_hash"] or chain_hash(running, row) != row["hash"]:
                return count, _broken(station, row["seq"], row["id"], "content_changed")
            running = row["hash"]
            expected_seq += 1
        if len(rows) < VERIFY_PAGE:
            break
    if expected_seq - 1 != station["last_seq"] or running != station["last_hash"]:
        return count, _broken(station, expected_seq, None, "events_missing_at_the_end")
    return count, None


async def verify() -> dict[str, Any]:
    """Every station's chain, checked from its first event; names the first broken link."""
    stations = await _stations_with_events()
    total, broken = 0, []
    for station in stations:
        count, problem = await _verify_station(station)
        total += count
        if problem:
            broken.append(problem)
    return {"stations": len(stations), "events": total, "broken": broken}


PROJECTION_TABLES = (
    "ledger_parcel",
    "ledger_purchase",
    "ledger_dispatch",
    "ledger_reversal",
    "ledger_cashbook",
)


async def rebuild() -> dict[str, int]:
    """Recompute every projection from the log alone, in one transaction."""
    replayed = 0
    async with db.write_transaction():
        for table in PROJECTION_TABLES:
            await db.execute(f"DELETE FROM {table}")
        stations = await db.fetch("SELECT id FROM registry_station ORDER BY code")
        for station in stations:
            replayed += await _replay_station(db.as_uuid(station["id"]))
    return {"stations": len(stations), "events": replayed}


async def _replay_station(station_id: uuid.UUID) -> int:
    facts = await station_facts(station_id)
    state = StationState(facts.id, facts.county_id, facts.shelves, facts.layers)
    state.households = {
        row["code"]
        for row in await db.fetch(
            "SELECT code FROM registry_household WHERE county = $1", facts.county_id
        )
    }
    count, after = 0, 0
    while True:
        rows = await db.fetch(
            "SELECT id, seq, type, occurred_at, received_at, business_date, data, server_data "
            "FROM ledger_event WHERE station = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            station_id,
            after,
            VERIFY_PAGE,
        )
        for row in rows:
            try:
                apply_event(
                    state,
                    db.as_uuid(row["id"]),
                    row["type"],
                    json.loads(row["data"]),
                    db.as_date(row["business_date"]),
                    db.as_moment(row["occurred_at"]),
                    db.as_moment(row["received_at"]),
                    server_data=json.loads(row["server_data"]),
                )
            except Rejection as rejection:
                raise RuntimeError(
                    f"event {row['id']} (seq {row['seq']}) of station {station_id} does not "
                    f"replay: {rejection.code}"
                ) from None
            after = row["seq"]
            count += 1
        if len(rows) < VERIFY_PAGE:
            break
    await _write_projections(state)
    return count
