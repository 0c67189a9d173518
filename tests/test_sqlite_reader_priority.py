"""A staff page's reads run below the phones' pushes on the CPU.

On a county's year a staff page keeps SQLite's reading connections busy for hundreds of
milliseconds; at the priority of the event loop and the writer's thread they took the cores the
phones' pushes needed (300 phones' p95 beside five staff, docs/performance.md, ninth session). The
reading connections' threads now run at a lower priority than the loop and the writer's thread."""

from __future__ import annotations

import os
import threading

import pytest

from backend import db, sqlite_engine
from tests.support import bearer, push, received, statuses

pytestmark = pytest.mark.sqlite_only


def niceness(thread: threading.Thread) -> int:
    assert thread.native_id is not None
    return os.getpriority(os.PRIO_PROCESS, thread.native_id)


async def test_the_readers_of_a_staff_page_run_below_the_writer_and_the_loop(client, world):
    answer = await push(client, world.keeper_a, [received()])
    assert statuses(answer) == ["accepted"]
    page = await client.get("/county/", headers=bearer(world.staff.token))
    assert page.status_code == 200

    pool = db.engine().loop_pool()
    readers = [connection._thread for connection in pool.idle]
    assert readers, "the page read through the pool's reading connections"
    assert pool.writer_connection is not None
    loop_niceness = niceness(threading.current_thread())
    lowered = min(loop_niceness + sqlite_engine.READER_NICENESS, sqlite_engine.MOST_NICENESS)
    assert {niceness(reader) for reader in readers} == {lowered}
    assert niceness(pool.writer_connection._thread) == loop_niceness
