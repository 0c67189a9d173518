"""The ledger checked and rebuilt from its log: verify walks every station's hash chain and names
the first broken link; rebuild replays the log into fresh projections."""

from __future__ import annotations

import uuid
from typing import Any

from backend import db
from backend.catalogue import service as catalogue
from backend.ledger.chain import chain_hash
from backend.ledger.projector import StationState, apply_event
from backend.ledger.service import station_facts
from backend.ledger.store import events as event_store
from backend.ledger.store import projections as projection_store
from backend.ledger.store import stations as station_store
from backend.ledger.store.events import GENESIS_HASH, ChainHead
from backend.ledger.validation import Rejection, content_hash
from backend.trace import service as trace

VERIFY_PAGE = 5000


def _broken(head: ChainHead, seq: int, event_id: uuid.UUID | None, problem: str) -> dict[str, Any]:
    return {
        "station_id": str(head.station_id),
        "station_code": head.station_code,
        "seq": seq,
        "event_id": str(event_id) if event_id else None,
        "problem": problem,
    }


async def _verify_station(head: ChainHead) -> tuple[int, dict[str, Any] | None]:
    """Walk one chain from its first event; the first broken link, if any."""
    expected_seq, running, count = 1, GENESIS_HASH, 0
    while True:
        async with db.read_transaction():
            rows = await event_store.chain_page(head.station_id, expected_seq, VERIFY_PAGE)
        for row in rows:
            count += 1
            if row.seq != expected_seq:
                return count, _broken(head, expected_seq, None, "missing_event")
            if row.prev_hash != running:
                return count, _broken(head, row.seq, row.id, "previous_hash_differs")
            if (
                content_hash(row.type, row.occurred_at, row.data) != row.content_hash
                or chain_hash(running, row) != row.hash
            ):
                return count, _broken(head, row.seq, row.id, "content_changed")
            running = row.hash
            expected_seq += 1
        if len(rows) < VERIFY_PAGE:
            break
    if expected_seq - 1 != head.last_seq or running != head.last_hash:
        return count, _broken(head, expected_seq, None, "events_missing_at_the_end")
    return count, None


async def verify() -> dict[str, Any]:
    """Every station's chain, checked from its first event; names the first broken link."""
    async with db.read_transaction():
        heads = await event_store.chain_heads()
    total, broken = 0, []
    for head in heads:
        count, problem = await _verify_station(head)
        total += count
        if problem:
            broken.append(problem)
    return {"stations": len(heads), "events": total, "broken": broken}


async def rebuild() -> dict[str, int]:
    """Recompute every projection from the log alone, in one transaction."""
    replayed = 0
    async with db.write_transaction():
        await projection_store.clear()
        projection_store.forget_shelves()
        station_ids = await station_store.ids_by_code()
        for station_id in station_ids:
            replayed += await _replay_station(station_id)
    return {"stations": len(station_ids), "events": replayed}


async def _replay_station(station_id: uuid.UUID) -> int:
    facts = await station_facts(station_id)
    state = StationState(facts.id, facts.county_id, facts.shelves, facts.layers)
    state.households = await station_store.household_codes(facts.county_id)
    state.product_codes = await catalogue.existing_codes(facts.county_id)
    state.batch_codes = await trace.existing_codes(facts.county_id)
    count, after = 0, 0
    while True:
        rows = await event_store.replay_page(station_id, after, VERIFY_PAGE)
        for row in rows:
            try:
                apply_event(
                    state,
                    row.id,
                    row.type,
                    row.data,
                    row.business_date,
                    row.occurred_at,
                    row.received_at,
                    server_data=row.server_data,
                )
            except Rejection as rejection:
                raise RuntimeError(
                    f"event {row.id} (seq {row.seq}) of station {station_id} does not "
                    f"replay: {rejection.code}"
                ) from None
            after = row.seq
            count += 1
        if len(rows) < VERIFY_PAGE:
            break
    await projection_store.write_projections(state)
    return count
