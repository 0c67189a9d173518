"""Sync group commit: pushes in flight together share one transaction, each answered after it
commits; every event stored once with each station's chain intact; a push that fails inside a
shared transaction fails alone while the others commit. (SIGKILL under streaming pushes:
tests/test_sync_crash.py.)"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

from backend import db, runtime
from backend.ledger import ingest, integrity
from backend.ledger.store import projections
from tests.support import event, push, received


async def hold_the_queue(app, seconds: float) -> None:
    """A write that keeps the app's sync queue's transaction busy, so the pushes arriving
    meanwhile are certain to go together into the next one."""

    async def busy() -> None:
        if db.is_sqlite():
            time.sleep(seconds)  # in the connection's thread, as the group's statements run
        else:
            await db.execute("SELECT pg_sleep($1)", seconds)

    with runtime.use(app.state.runtime):
        await ingest.ingest_queue().run(busy)


async def post(client, actor, events: list[dict]):
    return await client.post(
        "/api/v1/sync", json={"device_id": str(actor.id), "events": events}, headers=actor.headers
    )


def entries(count: int, salt: int) -> list[dict]:
    return [
        received()
        if n % 4 == 0
        else event("service.recorded", {"service": "water", "amount_fen": salt + n, "fee_fen": 0})
        for n in range(count)
    ]


async def stored() -> dict[str, tuple[str, int]]:
    async with db.read_transaction():
        rows = await db.fetch("SELECT id, station, seq FROM ledger_event")
    return {str(db.as_uuid(r["id"])): (str(db.as_uuid(r["station"])), r["seq"]) for r in rows}


@asynccontextmanager
async def counting_transactions(app):
    """How many write transactions the app's sync queue opens meanwhile."""
    with runtime.use(app.state.runtime):
        queue = ingest.ingest_queue()
    opened = []
    original = queue.transact

    async def counted(work):
        opened.append(1)
        return await original(work)

    queue.transact = counted
    try:
        yield opened
    finally:
        queue.transact = original


async def test_pushes_in_flight_together_share_commits_and_store_each_event_once(
    app, client, world
):
    keepers = [world.keeper_a, world.keeper_b, world.foreign_keeper]
    batches = [(keepers[n % 3], entries(20, 1000 * n)) for n in range(24)]
    # Half the batches are sent twice at once, as a phone does when an answer was lost.
    jobs = batches + batches[::2]
    async with counting_transactions(app) as opened:
        answers = await asyncio.gather(
            hold_the_queue(app, 0.5), *(push(client, actor, batch) for actor, batch in jobs)
        )
    answers = answers[1:]
    assert len(opened) < len(jobs) / 4, "concurrent pushes did not share transactions"
    statuses: dict[str, list[str]] = {}
    for (_, batch), results in zip(jobs, answers, strict=True):
        for entry, result in zip(batch, results, strict=True):
            statuses.setdefault(entry["id"], []).append(result["status"])
    for _, batch in batches[::2]:
        for entry in batch:
            assert sorted(statuses[entry["id"]]) == ["accepted", "duplicate"]
    for _, batch in batches[1::2]:
        for entry in batch:
            assert statuses[entry["id"]] == ["accepted"]
    rows = await stored()
    assert len(rows) == 24 * 20
    for keeper in keepers:  # each chain gap-free from 1
        seqs = sorted(seq for station, seq in rows.values() if station == str(keeper.station_id))
        assert seqs == list(range(1, len(seqs) + 1))
    assert (await integrity.verify())["broken"] == []


async def test_a_push_failing_in_a_shared_transaction_fails_alone(app, client, world, monkeypatch):
    original = projections.write_projections
    broken_station = world.keeper_b.station_id

    async def failing_for_b(state):
        if state.station_id == broken_station:
            raise RuntimeError("disk trouble for station B only")
        await original(state)

    monkeypatch.setattr(projections, "write_projections", failing_for_b)
    good = [entries(10, 100 * n) for n in range(6)]
    bad = entries(10, 9000)
    async with counting_transactions(app) as opened:
        answers = await asyncio.gather(
            hold_the_queue(app, 0.5),
            *(post(client, world.keeper_a, batch) for batch in good[:3]),
            post(client, world.keeper_b, bad),
            *(post(client, world.keeper_a, batch) for batch in good[3:]),
        )
    # The holder, the shared transaction that failed, then each of the 7 pushes alone.
    assert len(opened) == 1 + 1 + 7
    statuses = [response.status_code for response in answers[1:]]
    assert statuses == [200, 200, 200, 500, 200, 200, 200]
    rows = await stored()
    assert not {e["id"] for e in bad} & set(rows)
    assert {e["id"] for batch in good for e in batch} == set(rows)
    seqs = sorted(seq for _, seq in rows.values())
    assert seqs == list(range(1, 61))
    monkeypatch.setattr(projections, "write_projections", original)
    # Station B's phone retries once the trouble is gone: accepted, chain from 1.
    results = await push(client, world.keeper_b, bad)
    assert {r["status"] for r in results} == {"accepted"}
    assert (await integrity.verify())["broken"] == []
