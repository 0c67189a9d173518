"""Notifying many stations at once, a bounded number at a time; one county's failure isolated.

Each station's notification is a short write and then network sends (push, SMS, WeChat); doing
them one after another makes a county-wide reminder as slow as the sum of every push service's
latency, doing them all at once would open a connection per keeper. A small fixed concurrency
keeps the database's writer queue short and the pushes overlapping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from backend.registry.store import CountySchedule

log = logging.getLogger("cunzhan.jobs")

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


class PartialFailure(Exception):
    """Some counties failed; the others' work is done and counted (the run is recorded failed,
    with these counts and every county's error)."""

    def __init__(self, counts: dict[str, int], errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.counts = counts


async def each_county(
    counties: Iterable[CountySchedule],
    handle: Callable[[CountySchedule], Awaitable[None]],
    counts: dict[str, int],
) -> dict[str, int]:
    """Run `handle` for every county; a county with bad data (an unknown time zone…) is logged
    and reported at the end instead of stopping the counties after it."""
    errors = []
    for county in counties:
        try:
            await handle(county)
        except Exception as error:
            log.exception("job failed for county %s", county.id)
            errors.append(f"county {county.id}: {error!r}")
    if errors:
        raise PartialFailure(counts, errors)
    return counts
