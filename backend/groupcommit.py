"""Group commit: concurrent writes share one transaction, so one commit (one fsync) answers many.

A commit costs an fsync on either engine; committing each small write alone makes the disk, not
the work, the limit. Writes queued while a transaction is running go together in the next one;
each caller gets its result only after that transaction has committed. If a shared transaction
fails, each write of it is retried alone in its own transaction, so one bad write never takes the
others down with it. Each work must therefore be safe to run again from the start: it builds its
result from scratch, inside the transaction.

Used by the notification chains (backend/notify/groupwrite.py) and by sync ingest
(backend/ledger/ingest.py), each on its own queue. A queue opens its transactions with
`transact`: `in_write_transaction` by default; sync ingest's works run whole in SQLite's
connection thread and take `db.write_in_connection_thread` (one trip for a whole group).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from backend import db, runtime

T = TypeVar("T")

Work = Callable[[], Coroutine[Any, Any, Any]]
Transact = Callable[[Work], Awaitable[Any]]


async def in_write_transaction(work: Work) -> Any:
    async with db.write_transaction():
        return await work()


@dataclass
class _Queued:
    work: Work
    future: asyncio.Future
    weight: int
    order: str


@dataclass
class GroupCommit:
    """One queue of writes of one running app (backend/runtime.py).

    `max_batch` bounds how many writes share a transaction and `max_weight` the sum of their
    weights (e.g. events), so a few bulk writes do not hold the write lock for long. Within a
    transaction writes run sorted by their `order` key (stable: the arrival order otherwise), so
    on PostgreSQL concurrent groups lock rows in one order and cannot deadlock each other.
    """

    max_batch: int = 64
    max_weight: int = 0
    transact: Transact = in_write_transaction
    queue: list[_Queued] = field(default_factory=list)
    flusher: asyncio.Task | None = None

    async def run(
        self, work: Callable[[], Coroutine[Any, Any, T]], weight: int = 1, order: str = ""
    ) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self.queue.append(_Queued(work, future, weight, order))
        if self.flusher is None or self.flusher.done():
            self.flusher = loop.create_task(self._flush())
        return await future

    def _take(self) -> list[_Queued]:
        taken, weight = 0, 0
        for queued in self.queue:
            if taken == self.max_batch or (taken and self.max_weight and
                                           weight + queued.weight > self.max_weight):  # fmt: skip
                break
            taken += 1
            weight += queued.weight
        batch, self.queue = self.queue[:taken], self.queue[taken:]
        return sorted(batch, key=lambda queued: queued.order)

    async def _flush(self) -> None:
        while self.queue:
            batch = self._take()
            try:
                results = await self.transact(functools.partial(_each, batch))
            except Exception:
                await self._one_by_one(batch)
                continue
            for queued, result in zip(batch, results, strict=True):
                if not queued.future.done():
                    queued.future.set_result(result)

    async def _one_by_one(self, batch: list[_Queued]) -> None:
        for queued in batch:
            try:
                result = await self.transact(queued.work)
            except Exception as exc:
                if not queued.future.done():
                    queued.future.set_exception(exc)
            else:
                if not queued.future.done():
                    queued.future.set_result(result)


async def _each(batch: list[_Queued]) -> list[Any]:
    return [await queued.work() for queued in batch]


def queue(
    name: Hashable,
    max_batch: int = 64,
    max_weight: int = 0,
    transact: Transact = in_write_transaction,
) -> GroupCommit:
    """The running app's queue called `name` (created with these settings on first use)."""
    return runtime.current().get(
        ("groupcommit", name), lambda: GroupCommit(max_batch, max_weight, transact=transact)
    )
