"""The shelf's index kept in memory between pushes (ledger/store/projections.ShelfCache): a push
uses a kept index only at the chain head it was kept at, so whatever else changed the shelf
(another process's push, a push that rolled back, a reversal, a rebuild) is seen."""

from __future__ import annotations

import pytest

from backend import runtime
from backend.app import create_app
from backend.ledger import integrity
from backend.ledger.store import projections
from tests.support import asgi_client, event, push, received, running, statuses, tracking


def shelves_of(app) -> projections.ShelfCache:
    with runtime.use(app.state.runtime):
        cache = projections.shelf_cache()
    assert cache is not None
    return cache


def picked_up(tracking_no: str, code: str) -> dict:
    return event("parcel.picked_up", {"tracking_no": tracking_no, "pickup_code": code})


async def test_the_next_push_uses_the_kept_shelf(app, client, world):
    first = await push(client, world.keeper_a, [received(), received()])
    cache = shelves_of(app)
    assert world.station_a in cache.kept
    hits = cache.hits
    second = await push(client, world.keeper_a, [received(), received()])
    assert cache.hits == hits + 1
    codes = {r["pickup_code"] for r in first + second}
    assert len(codes) == 4, "a kept shelf gave a code already on the shelf"


async def test_a_push_through_another_process_is_seen(app, client, world):
    """Another app on the same database (as another `--workers` process or server would be)
    takes a parcel off the shelf: this app's kept index no longer matches the chain head."""
    number = tracking()
    [receipt] = await push(client, world.keeper_a, [received(number)])
    assert world.station_a in shelves_of(app).kept
    other = create_app()
    async with running(other), asgi_client(other) as other_client:
        other_results = await push(
            other_client, world.keeper_a, [picked_up(number, receipt["pickup_code"])]
        )
    assert statuses(other_results) == ["accepted"]
    # The same number arrives again: on the shelf only if this app still believed the old index.
    again = await push(client, world.keeper_a, [received(number)])
    assert statuses(again) == ["accepted"]
    # And the other way round: what this app received is on the other's shelf too.
    other = create_app()
    async with running(other), asgi_client(other) as other_client:
        twice = await push(other_client, world.keeper_a, [received(number)])
    assert twice[0]["error"]["code"] == "parcel_already_on_shelf"


async def test_a_push_that_rolled_back_leaves_no_kept_shelf(app, client, world, monkeypatch):
    """The push's index had the parcel shelved in memory when its transaction failed: the next
    push must not find it on the shelf, nor its pickup code taken."""
    await push(client, world.keeper_a, [received()])
    original = projections.write_projections

    async def failing(state):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(projections, "write_projections", failing)
    number = tracking()
    response = await client.post(
        "/api/v1/sync",
        json={"device_id": str(world.keeper_a.id), "events": [received(number)]},
        headers=world.keeper_a.headers,
    )
    assert response.status_code == 500
    assert world.station_a not in shelves_of(app).kept
    monkeypatch.setattr(projections, "write_projections", original)
    retried = await push(client, world.keeper_a, [received(number)])
    assert statuses(retried) == ["accepted"]
    [pickup] = await push(client, world.keeper_a, [picked_up(number, retried[0]["pickup_code"])])
    assert pickup["status"] == "accepted"


async def test_a_failed_group_retried_alone_keeps_only_what_committed(
    app, client, world, monkeypatch
):
    """Two stations' pushes share a transaction that fails for station B: A is retried alone
    and commits, B fails. A's kept shelf is the committed one, B keeps none."""
    import asyncio

    from tests.test_sync_groupcommit import hold_the_queue, post

    await push(client, world.keeper_a, [received()])
    await push(client, world.keeper_b, [received()])
    original = projections.write_projections

    async def failing_for_b(state):
        if state.station_id == world.station_b:
            raise RuntimeError("disk trouble for station B only")
        await original(state)

    monkeypatch.setattr(projections, "write_projections", failing_for_b)
    number_a, number_b = tracking(), tracking()
    answers = await asyncio.gather(
        hold_the_queue(app, 0.3),
        post(client, world.keeper_a, [received(number_a)]),
        post(client, world.keeper_b, [received(number_b)]),
    )
    assert [a.status_code for a in answers[1:]] == [200, 500]
    cache = shelves_of(app)
    assert world.station_b not in cache.kept
    monkeypatch.setattr(projections, "write_projections", original)
    # A's parcel is on its shelf (kept or read); B's never arrived.
    again_a = await push(client, world.keeper_a, [received(number_a)])
    assert again_a[0]["error"]["code"] == "parcel_already_on_shelf"
    again_b = await push(client, world.keeper_b, [received(number_b)])
    assert statuses(again_b) == ["accepted"]


async def test_reversals_move_parcels_on_and_off_the_kept_shelf(app, client, world):
    number = tracking()
    [receipt] = await push(client, world.keeper_a, [received(number)])
    # The receipt undone: off the shelf, the number can arrive again.
    undo = event("entry.reversed", {"target_id": receipt["id"], "reason": "扫错了"})
    assert statuses(await push(client, world.keeper_a, [undo])) == ["accepted"]
    [again] = await push(client, world.keeper_a, [received(number)])
    assert again["status"] == "accepted"
    # Picked up, then the pickup undone: back on the shelf, under a code no other parcel has.
    pickup = picked_up(number, again["pickup_code"])
    assert statuses(await push(client, world.keeper_a, [pickup])) == ["accepted"]
    undo_pickup = event("entry.reversed", {"target_id": pickup["id"], "reason": "没取走"})
    assert statuses(await push(client, world.keeper_a, [undo_pickup])) == ["accepted"]
    [third] = await push(client, world.keeper_a, [received(number)])
    assert third["error"]["code"] == "parcel_already_on_shelf"
    assert shelves_of(app).hits >= 4


async def test_a_rebuild_forgets_the_kept_shelves(app, client, world):
    await push(client, world.keeper_a, [received()])
    cache = shelves_of(app)
    assert cache.kept
    with runtime.use(app.state.runtime):
        await integrity.rebuild()
    assert not cache.kept


@pytest.mark.parametrize("limit", [3])
async def test_the_kept_shelves_stay_within_their_bound(app, client, world, limit, monkeypatch):
    cache = shelves_of(app)
    monkeypatch.setattr(cache, "limit", limit)
    await push(client, world.keeper_a, [received(), received()])
    await push(client, world.keeper_b, [received(), received()])
    assert list(cache.kept) == [world.station_b]
    assert cache.parcels == 2
    await push(client, world.keeper_b, [received(), received()])
    assert not cache.kept and cache.parcels == 0
    # Too big to keep: read from the database every time, still right.
    results = await push(client, world.keeper_b, [received()])
    assert statuses(results) == ["accepted"]
