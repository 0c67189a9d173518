"""Group commit for the notification writes: concurrent chains share one transaction.

A county-wide reminder runs many small chains at once (one per station); each writes its inbox
item and later its delivery log. One commit costs an fsync on either engine, so committing each
alone makes the database, not the push services, the limit. Writes queued while a transaction is
committing go together in the next one. If a shared transaction fails, each write of that batch
is retried alone, so one bad write never takes the others down with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from backend import db

T = TypeVar("T")

MAX_BATCH = 64

_writers: dict[asyncio.AbstractEventLoop, _GroupWriter] = {}


class _GroupWriter:
    def __init__(self) -> None:
        self.queue: list[tuple[Callable[[], Awaitable[Any]], asyncio.Future]] = []
        self.flusher: asyncio.Task | None = None

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.queue.append((work, future))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self.queue:
            batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
            try:
                results = []
                async with db.write_transaction():
                    for work, _ in batch:
                        results.append(await work())
            except Exception:
                await self._one_by_one(batch)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    @staticmethod
    async def _one_by_one(batch) -> None:
        for work, future in batch:
            try:
                async with db.write_transaction():
                    result = await work()
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)


async def write(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` (raw SQL through backend.db) in a write transaction shared with the writes
    queued beside it; returns its result once that transaction has committed."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = _GroupWriter()
    return await writer.run(work)
