"""Accepting a sync batch exactly once: validation, judging against the station's state,
chaining, projecting, all in one group-committed transaction.

A batch is judged event by event, in order, against the station's state as the earlier events of
the same batch left it; everything accepted is written in one transaction together with its
projections. The station's chain-head row is locked for the whole batch, so one station's writers
queue while other stations proceed; a duplicate id inserted concurrently by another station makes
the primary key refuse the whole transaction, which is then judged again.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from backend import clock, db, groupcommit
from backend.accounts.schemas import CurrentUser
from backend.catalogue import service as catalogue
from backend.errors import DomainError, problem_document
from backend.ledger import months
from backend.ledger.chain import BatchChain
from backend.ledger.projector import Applied, StationState, apply_event
from backend.ledger.schemas import MAX_BATCH_EVENTS, SyncResponse, SyncResult
from backend.ledger.service import local_today, station_facts
from backend.ledger.store import events as event_store
from backend.ledger.store import months as month_store
from backend.ledger.store import projections as projection_store
from backend.ledger.store.events import Conflict, EventRow
from backend.ledger.store.stations import StationFacts
from backend.ledger.validation import (
    Candidate,
    Rejection,
    business_moment,
    canonical_json,
    check_event,
)
from backend.notify import villagers
from backend.settings import Settings
from backend.trace import service as trace

log = logging.getLogger("cunzhan.ledger")

# Sync group commit: concurrent pushes share one transaction (one fsync), at most this many
# pushes and about this many events together, so a bulk push does not hold the writer long.
INGEST_GROUP_PUSHES = 64
INGEST_GROUP_EVENTS = 2000


def ingest_queue() -> groupcommit.GroupCommit:
    return groupcommit.queue(
        "ledger.sync",
        INGEST_GROUP_PUSHES,
        INGEST_GROUP_EVENTS,
        transact=db.write_in_connection_thread,
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


@dataclass
class Pushed:
    """A batch as judged, and the villagers' pickup SMS it wrote: the caller sends them once it
    has answered (`villagers.send_after_commit`), so a slow provider never delays the phone."""

    answer: SyncResponse
    pickup_notices: list[uuid.UUID]


async def push(
    settings: Settings,
    user: CurrentUser,
    device_id: uuid.UUID,
    raw_events: list[Any],
    language: str,
) -> Pushed:
    """Accept a batch: exactly once per event id, in order, in one transaction."""
    if user.station_id is None:
        raise DomainError("keepers_only", status=403)
    if len(raw_events) > MAX_BATCH_EVENTS:
        raise DomainError("payload_too_large", status=413)
    for attempt in range(3):
        try:
            return await _push_once(settings, user, device_id, raw_events, language)
        except Exception as exc:
            # Another station inserted one of these ids at the same moment: judge again, now
            # the row exists and the event is a conflict.
            if attempt < 2 and db.is_integrity_error(exc):
                log.warning("sync batch raced on an event id; judging it again")
                continue
            raise
    raise AssertionError("unreachable")


async def _push_once(
    settings: Settings,
    user: CurrentUser,
    device_id: uuid.UUID,
    raw_events: list[Any],
    language: str,
) -> Pushed:
    received_at = clock.utcnow()
    station_id = user.station_id
    assert station_id is not None  # push() admits keepers only
    checked: list[_Judged] = []
    for index, raw in enumerate(raw_events):
        raw_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else None
        try:
            candidate = check_event(raw, received_at)
            checked.append(_Judged(index, SyncResult(id=raw_id, status="accepted"), candidate))
        except Rejection as rejection:
            checked.append(_Judged(index, _rejected(raw_id, rejection, language)))
    candidates = [j.candidate for j in checked if j.candidate]

    async def judge_and_write() -> tuple[list[EventRow], int, list[_Judged], list[uuid.UUID]]:
        """Inside the group's transaction; may run twice (alone, if the group failed)."""
        judged = [_Judged(j.index, msgspec.structs.replace(j.result), j.candidate) for j in checked]
        facts = await station_facts(station_id)
        last_seq, last_hash = await event_store.lock_chain(station_id)
        # After the lock: a close of this station's month is wholly before or after this batch.
        closed = await month_store.closed_months(station_id)
        today = local_today(facts, received_at)
        existing = await event_store.owners(list({c.id for c in candidates}))
        state = await projection_store.load_state(facts, candidates, (last_seq, last_hash))
        await _named_codes(state, candidates)
        chain = BatchChain(facts.id, device_id, user.id, received_at)
        rows: list[EventRow] = []
        conflicts: list[Conflict] = []
        seen: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
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
                    conflicts.append(Conflict(candidate.id, candidate.content_hash))
                item.candidate = None
                continue
            business_at = business_moment(candidate.occurred_at, received_at)
            business_date = business_at.astimezone(facts.timezone).date()
            adjusts_month = None
            if closed:
                business_date, adjusts_month = months.counting_day(business_date, closed, today)
            try:
                if closed and candidate.type == "entry.reversed":
                    _refuse_reversal_in_closed_month(state, candidate, closed)
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
            row.business_date = business_date
            row.adjusts_month = adjusts_month
            row.server_data = canonical_json(applied.server_data)
            row.prev_hash = last_hash
            row.hash = last_hash = chain.link(last_hash, row, candidate)
            rows.append(row)
            seen[key] = (station_id, candidate.content_hash)
            _describe_accepted(item.result, candidate, applied, last_seq)
        await event_store.insert(rows)
        await projection_store.write_projections(state)
        notices = await _enqueue_pickup_notices(settings, station_id, state, rows, language)
        await _record_conflicts(conflicts, user, device_id, received_at)
        if rows:
            await event_store.advance_chain(station_id, last_seq, last_hash)
        projection_store.keep_shelf(state, (last_seq, last_hash))
        await _describe_duplicates([j for j in judged if j.result.status == "duplicate"])
        return rows, last_seq, judged, notices

    # The pickup SMS go out only once the group's commit holds their parcels. On SQLite the
    # group's statements run in one trip to the connection's thread (write_in_connection_thread).
    rows, last_seq, judged, notices = await ingest_queue().run(
        judge_and_write,
        weight=max(1, len(candidates)),
        order=str(station_id),
    )
    if rows:
        log.info("sync accepted", extra={"station_id": str(station_id), "count": len(rows)})
    return Pushed(SyncResponse(results=[j.result for j in judged], cursor=str(last_seq)), notices)


async def _named_codes(state: StationState, candidates: list[Candidate]) -> None:
    """Which of the catalogue products and trace batches the batch's sales name are the county's
    (a sale naming another is rejected by the projector)."""

    def named(key: str) -> list[str]:
        return sorted({c.data[key] for c in candidates if key in c.data})

    state.product_codes |= await catalogue.existing_codes(state.county_id, named("product_code"))
    state.batch_codes |= await trace.existing_codes(state.county_id, named("batch_code"))


async def _enqueue_pickup_notices(
    settings: Settings,
    station_id: uuid.UUID,
    state: StationState,
    rows: list[EventRow],
    language: str,
) -> list[uuid.UUID]:
    """The pickup SMS of the parcels received in this batch and still on the shelf, written in
    the batch's own transaction (exactly once: a duplicate event is never applied again)."""
    received = []
    for row in rows:
        if row.type != "parcel.received":
            continue
        parcel = state.parcels.get(row.id)
        if parcel is not None and parcel.state == "on_shelf":
            number = parcel.tracking_no
            if parcel.package:  # a JD package, written as its label shows it (JD…-n-m-)
                number += "-{}-{}-".format(*parcel.package.split("/"))
            received.append((parcel.id, parcel.recipient_phone, parcel.pickup_code, number))
    return await villagers.enqueue_pickups(settings, station_id, received, language)


def _refuse_reversal_in_closed_month(
    state: StationState, candidate: Candidate, closed: set[str]
) -> None:
    """Undoing an entry counted in a closed month would change that month: refused (reopen it)."""
    try:
        target = state.events.get(uuid.UUID(str(candidate.data.get("target_id"))))
    except ValueError:
        return  # the projector names the unknown entry
    if target is not None and months.month_key(target.business_date) in closed:
        month = months.month_key(target.business_date)
        raise Rejection("month_closed", "target_id", {"month": month})


def _event_row(
    user: CurrentUser,
    device_id: uuid.UUID,
    facts: StationFacts,
    candidate: Candidate,
    seq: int,
    received_at: datetime.datetime,
) -> EventRow:
    """The row before judging fills in its business date, server data and links."""
    return EventRow(
        id=candidate.id,
        station=facts.id,
        county=facts.county_id,
        seq=seq,
        device_id=device_id,
        keeper=user.id,
        type=candidate.type,
        occurred_at=candidate.occurred_at,
        received_at=received_at,
        business_date=received_at.date(),
        data=candidate.data_json,
        server_data="",
        content_hash=candidate.content_hash,
        prev_hash="",
    )


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
    known = await event_store.seqs_and_server_data(ids)
    for item in duplicates:
        found = known.get(str(uuid.UUID(item.result.id)))
        if found:
            item.result.seq, server_data = found
            code = server_data.get("pickup_code")
            if code:
                item.result.pickup_code = code


async def _record_conflicts(
    conflicts: list[Conflict],
    user: CurrentUser,
    device_id: uuid.UUID,
    received_at: datetime.datetime,
) -> None:
    assert user.station_id is not None
    await event_store.record_conflicts(conflicts, user.station_id, device_id, user.id, received_at)
    for conflict in conflicts:
        log.warning(
            "sync conflict: an event id was sent again with other content",
            extra={"station_id": str(user.station_id), "event": str(conflict.event_id)},
        )
