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

from backend import clock, db

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


def moment(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromisoformat(str(value)).replace(tzinfo=datetime.UTC)


def lease_from_row(row: dict, observed_at: datetime.datetime) -> Lease:
    return Lease(
        name=row["name"],
        holder=row["holder"],
        acquired_at=moment(row["acquired_at"]),
        renewed_at=moment(row["renewed_at"]),
        expires_at=moment(row["expires_at"]),
        observed_at=observed_at,
    )


async def database_now() -> datetime.datetime:
    """The clock every process agrees on: PostgreSQL's (its `serve` processes may run on hosts
    whose clocks drift apart); an SQLite file is served from one host, whose clock it is."""
    if db.is_sqlite():
        return clock.utcnow()
    rows = await db.fetch("SELECT clock_timestamp() AS now")
    return moment(rows[0]["now"])


async def acquire(
    holder: str,
    name: str = SCHEDULER_LEASE,
    ttl: float | None = None,
    now: datetime.datetime | None = None,
) -> Lease | None:
    """Take or renew the lease; the Lease when `holder` has it now, None when another does.

    One statement decides: the upsert's WHERE lets the update through only for the current holder
    or over an expired lease, so two processes racing for a free lease cannot both win.
    """
    async with db.write_transaction():
        now = now or await database_now()
        expires = now + datetime.timedelta(seconds=ttl if ttl is not None else ttl_seconds())
        await db.execute(
            "INSERT INTO jobs_lease (name, holder, acquired_at, renewed_at, expires_at) "
            "VALUES ($1, $2, $3, $3, $4) "
            "ON CONFLICT (name) DO UPDATE SET "
            "holder = excluded.holder, renewed_at = excluded.renewed_at, "
            "expires_at = excluded.expires_at, "
            "acquired_at = CASE WHEN jobs_lease.holder = excluded.holder "
            "THEN jobs_lease.acquired_at ELSE excluded.acquired_at END "
            "WHERE jobs_lease.holder = excluded.holder OR jobs_lease.expires_at < $3",
            name,
            holder,
            now,
            expires,
        )
        rows = await db.fetch("SELECT * FROM jobs_lease WHERE name = $1", name)
    lease = lease_from_row(rows[0], observed_at=now)
    return lease if lease.holder == holder else None


async def release(holder: str, name: str = SCHEDULER_LEASE) -> None:
    """Give the lease up at shutdown so another process takes over at once, not after the TTL."""
    async with db.write_transaction():
        await db.execute(
            "UPDATE jobs_lease SET expires_at = $1 WHERE name = $2 AND holder = $3",
            await database_now() - datetime.timedelta(seconds=1),
            name,
            holder,
        )


async def current(name: str = SCHEDULER_LEASE) -> Lease | None:
    async with db.read_transaction():
        return await current_in_transaction(name)


async def current_in_transaction(name: str = SCHEDULER_LEASE) -> Lease | None:
    rows = await db.fetch("SELECT * FROM jobs_lease WHERE name = $1", name)
    return lease_from_row(rows[0], observed_at=await database_now()) if rows else None
