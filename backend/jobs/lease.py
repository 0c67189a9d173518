"""A lease in the database: the one process holding it runs the scheduled jobs.

APScheduler's shared job stores do not stop two processes from running the same job, so every
`serve` process runs a scheduler but only the lease holder's ticks do any work. The lease is one
row, taken or renewed by a single conditional upsert (atomic on SQLite and PostgreSQL): it goes to
the caller if nobody holds it, if the caller already holds it, or if the holder stopped renewing
and it expired. A killed holder is replaced within the TTL.
"""

from __future__ import annotations

import datetime
import os
import secrets
import socket
from dataclasses import dataclass

from backend.jobs import store

SCHEDULER_LEASE = "scheduler"
DEFAULT_TTL_SECONDS = 30.0


def ttl_seconds() -> float:
    """How long a lease lives without renewal (CUNZHAN_JOBS_LEASE_SECONDS; tests shorten it)."""
    return float(os.environ.get("CUNZHAN_JOBS_LEASE_SECONDS") or DEFAULT_TTL_SECONDS)


def renew_seconds() -> float:
    """The holder renews at a third of the TTL, so two missed renewals still keep the lease."""
    return max(0.2, ttl_seconds() / 3)


def new_holder_id() -> str:
    """hostname:pid:random — unique per process start, readable in the jobs page."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    acquired_at: datetime.datetime
    renewed_at: datetime.datetime
    expires_at: datetime.datetime
    observed_at: datetime.datetime  # the database's clock when this was read

    @property
    def live(self) -> bool:
        return self.expires_at > self.observed_at

    @property
    def remaining(self) -> datetime.timedelta:
        """How long it still runs: reckoned by the database's clock, used with the caller's."""
        return self.expires_at - self.observed_at


def _lease(row: store.LeaseRow, observed_at: datetime.datetime) -> Lease:
    return Lease(
        name=row.name,
        holder=row.holder,
        acquired_at=row.acquired_at,
        renewed_at=row.renewed_at,
        expires_at=row.expires_at,
        observed_at=observed_at,
    )


async def acquire(
    holder: str,
    name: str = SCHEDULER_LEASE,
    ttl: float | None = None,
    now: datetime.datetime | None = None,
) -> Lease | None:
    """Take or renew the lease; the Lease when `holder` has it now, None when another does.
    One statement decides (see store.take_lease)."""
    seconds = ttl if ttl is not None else ttl_seconds()
    row, decided_at = await store.take_lease(name, holder, datetime.timedelta(seconds=seconds), now)
    return _lease(row, observed_at=decided_at) if row.holder == holder else None


async def release(holder: str, name: str = SCHEDULER_LEASE) -> None:
    """Give the lease up at shutdown so another process takes over at once, not after the TTL."""
    await store.expire_lease(name, holder)


async def current(name: str = SCHEDULER_LEASE) -> Lease | None:
    """Whoever holds the lease (live or not), in the caller's transaction if any."""
    found = await store.lease(name)
    return _lease(*found) if found else None
