"""Notifying many stations at once, a bounded number at a time.

Each station's notification is a short write and then network sends (push, SMS, WeChat); doing
them one after another makes a county-wide reminder as slow as the sum of every push service's
latency, doing them all at once would open a connection per keeper. A small fixed concurrency
keeps the database's writer queue short and the pushes overlapping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

NOTIFY_CONCURRENCY = 16


async def bounded_map(
    function: Callable[[T], Awaitable[R]], items: Iterable[T], limit: int = NOTIFY_CONCURRENCY
) -> list[R]:
    """`function` over `items`, at most `limit` at a time; results in the items' order.

    The first error is raised after the running calls finish, so no send is left half-done."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with gate:
            return await function(item)

    results = await asyncio.gather(*(one(item) for item in items), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]
