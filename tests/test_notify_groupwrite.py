"""Group commit: writes queued together share a transaction, and one that fails does not take
the others down with it (the batch is retried one write at a time)."""

from __future__ import annotations

import asyncio
import datetime
import uuid

import pytest

from backend import db
from backend.notify import groupwrite


async def vapid_rows() -> list[int]:
    async with db.read_transaction():
        return [row["id"] for row in await db.fetch("SELECT id FROM notify_vapid_key ORDER BY id")]


def insert(row_id: int):
    async def work() -> int:
        await db.execute(
            "INSERT INTO notify_vapid_key (id, private_key, public_key, created_at) "
            "VALUES ($1, $2, $3, $4)",
            row_id,
            "k",
            "p",
            datetime.datetime.now(datetime.UTC),
        )
        return row_id

    return work


async def test_concurrent_writes_commit_and_answer_each_caller():
    answers = await asyncio.gather(*(groupwrite.write(insert(n)) for n in range(10, 30)))
    assert answers == list(range(10, 30))
    assert await vapid_rows() == list(range(10, 30))


async def test_a_failing_write_fails_alone():
    async def broken() -> None:
        await db.execute("INSERT INTO notify_no_such_table VALUES ($1)", str(uuid.uuid4()))

    results = await asyncio.gather(
        groupwrite.write(insert(1)),
        groupwrite.write(broken),
        groupwrite.write(insert(2)),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], Exception)
    assert await vapid_rows() == [1, 2]
    with pytest.raises(Exception):  # noqa: B017 (the engine's own error type)
        await groupwrite.write(broken)
