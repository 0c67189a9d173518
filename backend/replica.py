"""Staff pages, exports and reports read from a PostgreSQL read replica when one is configured
(`CUNZHAN_DATABASE_READ_URL`), so a province's inspectors and county officers do not load the
primary that the phones write to.

A replica replays the primary's log a little behind it, and a page must still show an entry as
soon as its sync was answered (API.md "The programme's figures"). So every read transaction of
such a request first asks the primary where its log stands (`pg_current_wal_lsn()`, after
anything the request itself wrote, such as the rollups' catch-up) and reads from the replica only
once it has replayed that far; if it has not within `CATCH_UP_WAIT_S`, the read goes to the
primary, and so do the app's reads of the next `LAGGING_S`. The answer says where it was read
and how long the replica took to catch up (`Cunzhan-Read-From`), and the county pages' footer
says it in the reader's language.

What reads where is decided by path (`reads_from_replica`): GET requests of the county and
province pages and of the counties' and province's API. The phones' own reads and every write
stay on the primary; so does anything that must see the newest rows to write correctly
(`db.on_primary()`: the rollups' catch-up).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from piccolo.engine.postgres import PostgresEngine

from backend import db

log = logging.getLogger("cunzhan.replica")

CATCH_UP_WAIT_S = 1.0
CATCH_UP_POLL_S = 0.01
LAGGING_S = 5.0
POOL_SIZE = 10
REPLICA_PATHS = ("/county", "/api/v1/counties/", "/api/v1/province/")
READ_FROM_HEADER = "cunzhan-read-from"


@dataclass
class ReadFrom:
    """Where this request's figures were read: the replica (and how long it took to catch up
    with the primary), or the primary because the replica was too far behind."""

    replica: bool
    waited_ms: float = 0.0

    def header(self) -> str:
        if self.replica:
            return f"replica; caught-up-ms={self.waited_ms:.0f}"
        return f"primary; replica-behind-ms>{CATCH_UP_WAIT_S * 1000:.0f}"


@dataclass
class _RequestReads:
    """Set once per request and filled in by its reads: a holder, not the value, so reads in
    tasks the request starts (the province page reads its counties side by side) are told too."""

    worst: ReadFrom | None = None


_reads: ContextVar[_RequestReads | None] = ContextVar("cunzhan_replica_reads", default=None)


def read_from() -> ReadFrom | None:
    """Where the current request read its figures, if it went to the replica at all."""
    reads = _reads.get()
    return reads.worst if reads is not None else None


class _ReplicaTransaction:
    """What Piccolo needs of a current transaction: its connection. Set as the primary engine's
    current transaction, it sends every query of the block — the ORM's and `db.fetch`'s — to the
    replica's connection; a write there fails loudly (a replica is read-only)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection


class ReadReplica:
    def __init__(self, url: str) -> None:
        engine = db.engine_from_url(url)
        if not isinstance(engine, PostgresEngine):
            raise SystemExit("CUNZHAN_DATABASE_READ_URL must be a postgresql:// URL")
        self.engine = engine
        self._behind_since = -LAGGING_S
        self._opening = asyncio.Lock()

    async def open(self) -> None:
        """At start-up. A replica that is down then does not stop the app: the pages read the
        primary, and the pool is tried again once every LAGGING_S until it opens."""
        if not await self._pool_open():
            self._behind_since = time.monotonic()

    async def _pool_open(self) -> bool:
        async with self._opening:
            if self.engine.pool is not None:
                return True
            try:
                await self.engine.start_connection_pool(min_size=1, max_size=POOL_SIZE)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("read replica unavailable (%s): read the primary", error)
                return False
            return True

    async def close(self) -> None:
        await db.stop(self.engine)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        """One read transaction on the replica once it has replayed what the primary had
        committed now; on the primary if it does not within CATCH_UP_WAIT_S."""
        primary = db.engine()
        if not self._lagging() and not await self._pool_open():
            self._behind_since = time.monotonic()  # down since start-up: tried again in LAGGING_S
        if self._lagging():
            async with self._on_primary():
                yield
            return
        wanted = (await db.fetch_once("SELECT pg_current_wal_lsn()::text AS lsn"))[0]["lsn"]
        connection = await self._caught_up_connection(wanted)
        if connection is None:
            self._behind_since = time.monotonic()
            async with self._on_primary():
                yield
            return
        assert self.engine.pool is not None
        try:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                token = primary.current_transaction.set(_ReplicaTransaction(connection))
                try:
                    yield
                finally:
                    primary.current_transaction.reset(token)
        finally:
            await self.engine.pool.release(connection)

    async def _caught_up_connection(self, lsn: str) -> Any | None:
        """A replica connection that has replayed up to `lsn`; None if the replica is behind,
        down or refusing (the pages then read the primary, never fail for it)."""
        assert self.engine.pool is not None
        connection = None
        try:
            connection = await self.engine.pool.acquire()
            waited = await _catch_up(connection, lsn)
            if waited is None:
                log.warning("read replica not caught up in %s s: read the primary", CATCH_UP_WAIT_S)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("read replica unavailable (%s): read the primary", error)
            waited = None
        if waited is None:
            if connection is not None:
                await self.engine.pool.release(connection)
            return None
        _note(ReadFrom(replica=True, waited_ms=waited * 1000))
        return connection

    def _lagging(self) -> bool:
        """Once the replica fell behind, reads skip it for LAGGING_S instead of each waiting
        CATCH_UP_WAIT_S for it: a page reads in several transactions."""
        return time.monotonic() - self._behind_since < LAGGING_S

    @asynccontextmanager
    async def _on_primary(self) -> AsyncIterator[None]:
        _note(ReadFrom(replica=False))
        async with db.primary_transaction():
            yield


def _note(read: ReadFrom) -> None:
    """A request reads in several transactions: its answer tells the worst of them."""
    reads = _reads.get()
    if reads is None:
        return
    before = reads.worst
    if before is not None and (
        not before.replica or (read.replica and before.waited_ms >= read.waited_ms)
    ):
        return
    reads.worst = read


async def _catch_up(connection: Any, lsn: str) -> float | None:
    """Seconds the replica took to replay up to `lsn`, or None if it did not in time. A server
    not in recovery (the primary itself, read through a read-only role) has nothing to replay."""
    started = time.monotonic()
    while True:
        if await connection.fetchval(
            "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn
        ):
            return time.monotonic() - started
        if time.monotonic() - started > CATCH_UP_WAIT_S:
            return None
        await asyncio.sleep(CATCH_UP_POLL_S)


def reads_from_replica(scope: Scope) -> bool:
    return scope.get("method") in ("GET", "HEAD") and scope["path"].startswith(REPLICA_PATHS)


def replica_middleware(app: ASGIApp) -> ASGIApp:
    """The county's and province's GET requests read through the app's replica, if it has one,
    and their answer says where they read."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        replica = scope["app"].state.get("read_replica")
        if replica is None or not reads_from_replica(scope):
            await app(scope, receive, send)
            return

        async def send_saying_where(message: Message) -> None:
            found = read_from()
            if message["type"] == "http.response.start" and found is not None:
                headers = list(message.get("headers", []))
                headers.append((READ_FROM_HEADER.encode(), found.header().encode()))
                message = {**message, "headers": headers}
            await send(message)

        token = _reads.set(_RequestReads())
        try:
            with db.reading_through(replica.reading):
                await app(scope, receive, send_saying_where)
        finally:
            _reads.reset(token)

    return middleware
