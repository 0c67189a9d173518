"""Many pushes at once: overlapping batches from several phones of a station, and another
station replaying the same ids, all in flight together. The database decides, not a race."""

import asyncio
import random
from collections import Counter

import pytest

from backend import db
from backend.ledger import integrity
from tests.support import event, push, received
from tests.test_projections import projection_snapshot


def pool_of_entries(count: int) -> list[dict]:
    entries = []
    for n in range(count):
        if n % 3 == 0:
            entries.append(received())
        else:
            entries.append(
                event("service.recorded", {"service": "water", "amount_fen": n, "fee_fen": 0})
            )
    return entries


async def push_all_at_once(client, jobs) -> list[tuple[dict, dict, str]]:
    """Run every (label, actor, batch, device) push concurrently; (entry, result, label) back."""
    answers = await asyncio.gather(
        *(push(client, actor, batch, device) for _, actor, batch, device in jobs)
    )
    return [
        (entry, result, label)
        for (label, _, batch, _), results in zip(jobs, answers, strict=True)
        for entry, result in zip(batch, results, strict=True)
    ]


@pytest.mark.slow
async def test_overlapping_batches_in_flight_together_store_each_event_once(client, world):
    rng = random.Random(11)
    pools = {"a": pool_of_entries(240), "b": pool_of_entries(240)}
    actors = {"a": world.keeper_a, "b": world.keeper_b}
    # Phase 1: eight phones per station push overlapping random batches, plus each pool whole.
    jobs = [
        (
            station,
            actors[station],
            rng.sample(pools[station], 60),
            f"{device:08d}-0000-4000-8000-000000000000",
        )
        for station in ("a", "b")
        for device in range(8)
    ]
    for station in ("a", "b"):
        jobs += [(station, actors[station], pools[station][:120], None)]
        jobs += [(station, actors[station], pools[station][120:], None)]
    rng.shuffle(jobs)
    accepted = Counter()
    for entry, result, _ in await push_all_at_once(client, jobs):
        assert result["status"] in ("accepted", "duplicate"), result
        if result["status"] == "accepted":
            accepted[entry["id"]] += 1
    assert set(accepted) == {e["id"] for pool in pools.values() for e in pool}
    assert set(accepted.values()) == {1}, "an event was accepted twice"
    # Phase 2: station A's phones retry while station B replays A's ids, all at once.
    jobs = [("a", world.keeper_a, rng.sample(pools["a"], 80), None) for _ in range(4)]
    jobs += [("b-replays-a", world.keeper_b, rng.sample(pools["a"], 40), None) for _ in range(4)]
    rng.shuffle(jobs)
    for _, result, label in await push_all_at_once(client, jobs):
        assert result["status"] == ("conflict" if label == "b-replays-a" else "duplicate")
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT station, COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi "
            "FROM ledger_event GROUP BY station"
        )
    by_station = {str(row["station"]): row for row in rows}
    for station_id in (world.station_a, world.station_b):
        row = by_station[str(station_id)]
        assert (row["n"], row["lo"], row["hi"]) == (240, 1, 240)
    assert (await integrity.verify())["broken"] == []
    before = await projection_snapshot()
    await integrity.rebuild()
    assert await projection_snapshot() == before


@pytest.mark.slow
async def test_two_stations_racing_for_one_new_id_store_it_once(client, world):
    """The same brand-new id pushed by two stations at the same instant: one row, one owner."""
    for _ in range(10):
        entry = event("checkin.recorded", {})
        results = await asyncio.gather(
            push(client, world.keeper_a, [entry]),
            push(client, world.keeper_b, [entry]),
            push(client, world.foreign_keeper, [entry]),
        )
        outcome = sorted(r[0]["status"] for r in results)
        assert outcome == ["accepted", "conflict", "conflict"], outcome
    async with db.read_transaction():
        rows = await db.fetch("SELECT COUNT(*) AS n FROM ledger_event")
    assert rows[0]["n"] == 10
