"""`db.in_connection_thread`: a transaction's work run whole in SQLite's connection thread (the
sync ingest's one trip per push) sees and writes the same rows as awaited statement by statement,
and work that awaits anything but SQL fails loudly, its transaction rolled back.
`db.write_in_connection_thread` (a group of pushes: BEGIN, work and COMMIT in one trip) commits
all of its work or none, and readers never see a write before its commit."""

from __future__ import annotations

import asyncio

import pytest

from backend import db

PROBE = "CREATE TABLE IF NOT EXISTS test_inline_probe (n INTEGER NOT NULL)"


async def _count() -> int:
    async with db.read_transaction():
        return (await db.fetch("SELECT COUNT(*) AS n FROM test_inline_probe"))[0]["n"]


async def test_work_in_the_connection_thread_reads_and_writes_in_the_transaction(client):
    async with db.write_transaction():
        await db.execute(PROBE)
        await db.execute("DELETE FROM test_inline_probe")

    async def work() -> list[int]:
        await db.execute("INSERT INTO test_inline_probe (n) VALUES ($1)", 1)
        await db.executemany("INSERT INTO test_inline_probe (n) VALUES ($1)", [(2,), (3,)])
        await db.fetch_once("SELECT 1 AS one")
        rows = await db.fetch("SELECT n FROM test_inline_probe WHERE n >= $1 ORDER BY n", 2)
        return [row["n"] for row in rows]

    async with db.write_transaction():
        assert await db.in_connection_thread(work) == [2, 3]
    assert await _count() == 3


@pytest.mark.sqlite_only  # on PostgreSQL the work is simply awaited
async def test_work_awaiting_more_than_sql_fails_and_rolls_back(client):
    async with db.write_transaction():
        await db.execute(PROBE)
        await db.execute("DELETE FROM test_inline_probe")

    async def work() -> None:
        await db.execute("INSERT INTO test_inline_probe (n) VALUES ($1)", 1)
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="awaited something other than SQL"):
        async with db.write_transaction():
            await db.in_connection_thread(work)
    assert await _count() == 0


async def test_a_write_in_the_connection_thread_commits_all_or_nothing(client):
    async with db.write_transaction():
        await db.execute(PROBE)
        await db.execute("DELETE FROM test_inline_probe")
    kept: list[str] = []

    async def work(fail: bool) -> int:
        db.on_commit(lambda: kept.append("committed"))
        db.after_commit(lambda: kept.append("ended"))
        await db.execute("INSERT INTO test_inline_probe (n) VALUES ($1)", 1)
        await db.executemany("INSERT INTO test_inline_probe (n) VALUES ($1)", [(2,), (3,)])
        if fail:
            await db.execute("INSERT INTO no_such_table (n) VALUES (1)")
        return len(await db.fetch("SELECT n FROM test_inline_probe"))

    with pytest.raises(Exception, match="no_such_table"):
        await db.write_in_connection_thread(lambda: work(fail=True))
    assert await _count() == 0, "the work's first statements stayed after a later one failed"
    assert kept == ["ended"]
    # The writers' connection is fit for the next write after a failed one.
    assert await db.write_in_connection_thread(lambda: work(fail=False)) == 3
    assert await _count() == 3
    assert kept == ["ended", "committed", "ended"]


async def test_readers_never_see_a_write_before_its_commit(client):
    async with db.write_transaction():
        await db.execute(PROBE)
        await db.execute("DELETE FROM test_inline_probe")
    written, seen = asyncio.Event(), []

    async def writer() -> None:
        async with db.write_transaction():
            await db.execute("INSERT INTO test_inline_probe (n) VALUES ($1)", 7)
            written.set()
            await asyncio.sleep(0.2)  # a reader runs meanwhile

    async def reader() -> None:
        await written.wait()
        seen.append(await _count())

    await asyncio.gather(writer(), reader())
    assert seen == [0]
    assert await _count() == 1
