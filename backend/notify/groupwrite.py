"""Group commit for the notification writes: concurrent chains share one transaction.

A county-wide reminder runs many small chains at once (one per station); each writes its inbox
item and later its delivery log. One commit costs an fsync on either engine, so committing each
alone makes the database, not the push services, the limit. The queue is backend.groupcommit's:
writes queued while a transaction is committing go together in the next one, and a failed shared
transaction is retried one write at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from backend import groupcommit

T = TypeVar("T")

MAX_BATCH = 64


async def write(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `work` (raw SQL through backend.db) in a write transaction shared with the writes
    queued beside it; returns its result once that transaction has committed."""
    return await groupcommit.queue("notify", max_batch=MAX_BATCH).run(work)
