"""SQLite's one writer across processes (sqlite_engine.ProcessWriterLock): a push waits while
another process (a second `serve --workers` process, a `cunzhan` command) has the writer's turn,
and goes in as soon as it is given back, instead of polling SQLite's lock with the busy handler's
sleeps; every kind of write takes the turn, and gives it back when it fails."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from backend import db
from tests.support import push, received, statuses

pytestmark = pytest.mark.sqlite_only

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""


@contextlib.contextmanager
def another_process_writing() -> Iterator[subprocess.Popen]:
    """A process of its own holding the writer's turn until the block ends."""
    path = f"{db.engine().connection_kwargs['database']}.writer-lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        if holder.stdin:
            holder.stdin.close()  # the holder reads EOF and exits, giving the turn back
        holder.wait(timeout=10)


def turn_is_free() -> bool:
    path = f"{db.engine().connection_kwargs['database']}.writer-lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


async def test_a_push_waits_for_another_process_and_then_goes_in(client, world):
    entry = received()
    with another_process_writing():
        pushing = asyncio.create_task(push(client, world.keeper_a, [entry]))
        await asyncio.sleep(1.0)
        assert not pushing.done(), "the push wrote while another process had the writer's turn"
    results = await asyncio.wait_for(pushing, timeout=30)
    assert statuses(results) == ["accepted"]
    assert turn_is_free(), "the push kept the writer's turn after its commit"


async def test_a_staff_write_waits_its_turn_too(client, world):
    """Writes outside sync (a staff member's, in a transaction of their own) take the turn."""
    with another_process_writing():
        writing = asyncio.create_task(
            client.post(
                f"/api/v1/counties/{world.county_id}/products",
                json={"code": "ht-01", "name": "薄皮核桃", "category": "farm", "unit": "斤"},
                headers=world.staff.headers,
            )
        )
        await asyncio.sleep(1.0)
        assert not writing.done()
    response = await asyncio.wait_for(writing, timeout=30)
    assert response.status_code < 300, response.text
    assert turn_is_free()


async def test_a_failed_write_gives_the_turn_back(client, world):
    """A push refused by the database (its transaction rolled back) must not leave every other
    process waiting behind it."""
    entry = received()
    await push(client, world.keeper_a, [entry])
    with pytest.raises(Exception):  # noqa: B017 - any error of the database will do
        async with db.write_transaction():
            await db.execute("INSERT INTO ledger_event (id) VALUES ($1)", entry["id"])
    assert turn_is_free()
    again = await push(client, world.keeper_a, [received()])
    assert statuses(again) == ["accepted"]
