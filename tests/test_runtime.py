"""What an app shares between its requests (the group-commit queues, the push session) belongs to
that app and dies with it (backend/runtime.py): a request runs in its app's runtime, not the
caller's; a closed runtime closes what it holds and makes nothing more; and nothing writes
through a group commit outside a runtime."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from backend import groupcommit, runtime
from backend.app import create_app
from tests.support import asgi_client, build_world, push, received, running


async def test_a_request_uses_its_apps_queue_and_the_app_closes_it(empty_database, local_runtime):
    app = create_app()
    async with running(app), asgi_client(app) as client:
        world = await build_world(client)
        results = await push(client, world.keeper_a, [received()])
        assert results[0]["status"] == "accepted"
        owned = app.state.runtime
        # The ingest's queue was made in the app's runtime, not in the test's around the call.
        made = []
        queue = owned.get(("groupcommit", "ledger.sync"), lambda: made.append(1))
        assert isinstance(queue, groupcommit.GroupCommit) and not made
        assert groupcommit.queue("ledger.sync") is not queue
    assert owned.closed
    with pytest.raises(RuntimeError, match="closed"):
        owned.get("anything", object)


async def test_a_closed_runtime_closes_what_it_holds_last_made_first():
    closed: list[str] = []

    async def close(name: str) -> None:
        closed.append(name)

    async with runtime.running() as opened:
        for name in ("session", "queue"):
            opened.get(name, lambda name=name: name, close=close)
        assert opened.get("session", lambda: "another") == "session"  # made once
        assert closed == []
    assert closed == ["queue", "session"]


async def test_outside_a_runtime_a_group_write_says_where_to_run():
    async def write() -> None:
        await groupcommit.queue("anywhere").run(lambda: asyncio.sleep(0))

    task = asyncio.get_running_loop().create_task(write(), context=contextvars.Context())
    with pytest.raises(RuntimeError, match="no runtime here"):
        await task
