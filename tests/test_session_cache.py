"""The few seconds a token's account is kept: every change made through this server counts at
once, a change it cannot hear of (another process) within `TTL_SECONDS`, expiry always."""

from __future__ import annotations

import asyncio
import contextvars
import time
from datetime import UTC, datetime, timedelta

from backend import clock, db
from backend.accounts import session_cache
from backend.accounts import store as accounts_store
from backend.accounts.tables import Session
from tests.support import push, received, statuses


async def _me(client, actor) -> int:
    return (await client.get("/api/v1/auth/me", headers=actor.headers)).status_code


async def test_a_session_revoked_by_another_process_is_refused_within_the_bound(
    client, world, monkeypatch
):
    assert await _me(client, world.keeper_a) == 200  # now kept
    # Another process of the same server revokes it: this one cannot hear of it.
    await Session.update({Session.revoked_at: datetime.now(UTC)}).where(
        Session.user == world.keeper_a.id
    )
    later = time.monotonic() + session_cache.TTL_SECONDS
    monkeypatch.setattr(session_cache.time, "monotonic", lambda: later)
    assert await _me(client, world.keeper_a) == 401
    response = await client.post(
        "/api/v1/sync",
        json={"device_id": "00000000-0000-4000-8000-000000000001", "events": []},
        headers=world.keeper_a.headers,
    )
    assert response.status_code == 401


async def test_a_logout_and_a_disabled_account_count_at_once(client, world):
    assert await _me(client, world.keeper_a) == 200
    assert await _me(client, world.keeper_b) == 200
    out = await client.post("/api/v1/auth/logout", headers=world.keeper_a.headers)
    assert out.status_code == 200
    assert await _me(client, world.keeper_a) == 401
    disabled = await client.patch(
        f"/api/v1/users/{world.keeper_b.id}", json={"active": False}, headers=world.staff.headers
    )
    assert disabled.status_code == 200
    assert await _me(client, world.keeper_b) == 401


async def test_a_keeper_moved_to_another_station_pushes_there_at_once(client, world):
    before = await push(client, world.keeper_a, [received()])
    assert statuses(before) == ["accepted"]
    moved = await client.patch(
        f"/api/v1/users/{world.keeper_a.id}",
        json={"station_id": str(world.station_b)},
        headers=world.staff.headers,
    )
    assert moved.status_code == 200
    me = await client.get("/api/v1/auth/me", headers=world.keeper_a.headers)
    assert me.json()["station_id"] == str(world.station_b)
    parcel = received()
    assert statuses(await push(client, world.keeper_a, [parcel])) == ["accepted"]
    listed = await client.get(
        f"/api/v1/stations/{world.station_b}/parcels", headers=world.keeper_a.headers
    )
    assert parcel["data"]["tracking_no"] in {p["tracking_no"] for p in listed.json()}


async def test_a_kept_session_still_ends_when_it_expires(client, world, monkeypatch):
    assert await _me(client, world.staff) == 200
    session = await Session.select(Session.expires_at).where(Session.user == world.staff.id).first()
    after = session["expires_at"] + timedelta(seconds=1)
    monkeypatch.setattr(clock, "utcnow", lambda: after)
    assert await _me(client, world.staff) == 401


async def test_a_lookup_that_raced_a_change_is_not_kept(client, world):
    assert await _me(client, world.keeper_a) == 200
    looked_up_in = session_cache.generation()
    session_cache.forget_all()  # an account changed while the row was being read
    kept = session_cache._entries.copy()
    session_cache.keep("a-token-hash", looked_up_in, object(), time.time() + 60)  # type: ignore[arg-type]
    assert session_cache._entries == kept


async def test_a_session_read_before_its_revocation_committed_is_not_kept(client, world):
    """Another request reads the session while the revocation is written but not yet committed
    (it sees the old row): once the revocation commits, the token is refused at once."""
    assert await _me(client, world.keeper_a) == 200
    async with db.write_transaction():
        await accounts_store.revoke_sessions(world.keeper_a.id, clock.utcnow())
        # A request of its own (not inside this transaction), as another phone's would be.
        outside = contextvars.copy_context()
        outside.run(db.engine().current_transaction.set, None)
        seen = await asyncio.create_task(_me(client, world.keeper_a), context=outside)
        assert seen == 200  # the old row: the revocation is not committed yet
    assert await _me(client, world.keeper_a) == 401
