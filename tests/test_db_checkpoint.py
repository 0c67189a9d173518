"""SQLite's WAL checkpointed off the writers' path (DurableSQLiteEngine.committed): soon after
a push commits, its rows are in the database file itself, not only in the WAL, though the WAL is
far from the auto-checkpoint's length; and the process's writers still commit durably (WAL,
synchronous FULL)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import struct

import pytest

from backend import db, sqlite_engine
from tests.support import push, received

pytestmark = pytest.mark.sqlite_only


async def test_a_push_reaches_the_database_file_without_the_commit_checkpointing(
    client, world, tmp_path
):
    engine = db.engine()
    assert isinstance(engine, sqlite_engine.DurableSQLiteEngine)
    pool = engine.loop_pool()
    before = pool.checkpoints
    entries = [received() for _ in range(5)]
    await push(client, world.keeper_a, entries)
    for _ in range(100):  # the checkpoint runs off the push's path, soon after
        if pool.checkpoints > before and pool.checkpointing is None:
            break
        await asyncio.sleep(0.05)
    assert pool.checkpoints > before
    # The database file alone (without its WAL) holds the push: a checkpoint copied it there.
    copy = tmp_path / "file-only.db"
    shutil.copyfile(engine.connection_kwargs["database"], copy)
    alone = sqlite3.connect(copy)
    try:
        ids = {row[0] for row in alone.execute("SELECT id FROM ledger_event")}
    finally:
        alone.close()
    assert {entry["id"] for entry in entries} <= ids
    report = await db.durability_report()
    assert db.durability_ok(report)


def wal_restarts(path: str) -> int:
    """The WAL header's checkpoint sequence: SQLite counts one each time a write starts the WAL
    over from its beginning."""
    with open(f"{path}-wal", "rb") as wal:
        return struct.unpack(">I", wal.read(16)[12:16])[0]


async def test_the_wal_starts_over_under_steady_writes(client, world):
    """Checkpoints that never finish would let the WAL grow without end: the background passes
    let a later write start it over while writes keep coming (the pushes here, ~3,000 pages in
    all, are spread over several checkpoint intervals and never reach the auto-checkpoint's
    bound, so only those passes can). The pass under the writer lock, for writes with no pause
    between them, is not told apart here: without it this test still passes."""
    path = db.engine().connection_kwargs["database"]
    await push(client, world.keeper_a, [received()])
    restarts = wal_restarts(path)
    for _ in range(40):
        await push(client, world.keeper_a, [received() for _ in range(20)])
        await asyncio.sleep(sqlite_engine.SQLITE_CHECKPOINT_SECONDS / 4)
    assert wal_restarts(path) > restarts
    await asyncio.sleep(sqlite_engine.SQLITE_CHECKPOINT_SECONDS * 3)
    probe = sqlite3.connect(path)
    try:
        wal_pages = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        probe.close()
    assert wal_pages <= sqlite_engine.SQLITE_AUTOCHECKPOINT_PAGES
