"""The database engines: SQLite tuned for a county server, PostgreSQL for a province.

Piccolo's SQLite engine opens a fresh connection (and thread) for every query outside a
transaction and sets no durability pragmas; `DurableSQLiteEngine` keeps a small pool of
connections, each opened with WAL, `synchronous=FULL`, foreign keys and a busy timeout.
Hot paths write inside `write_transaction()` and may use `execute`/`executemany`/`fetch`
with `$1`-style placeholders, which run unchanged on both engines.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime
import functools
import importlib
import logging
import os
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

log = logging.getLogger("cunzhan.db")

SQLITE_BUSY_TIMEOUT_S = 30.0
POOL_CLOSE_SECONDS = 10.0
SQLITE_POOL_SIZE = 8
# The WAL is checkpointed off the writers' path (`_checkpoint_while_writing`) at most this often
# while writes come in; once it holds SQLITE_RESTART_PAGES, a last short pass under the writer
# lock lets the next write start the WAL over. SQLite's own auto-checkpoint, in the COMMIT that
# passes SQLITE_AUTOCHECKPOINT_PAGES (its default), stays as the safety net (another process's
# readers or writers can keep that pass from finishing) and bounds the WAL on disk as before; it
# now finds most pages already copied.
SQLITE_CHECKPOINT_SECONDS = 0.2
SQLITE_RESTART_PAGES = 400
SQLITE_AUTOCHECKPOINT_PAGES = 1000
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}",
    f"PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}",
)


def checkpoint_wal(path: str) -> int:
    """One PASSIVE checkpoint on a connection of its own: copies the WAL's committed pages into
    the database file without waiting for (or blocking) any reader or writer. The WAL's length
    in pages (0 when it could not run: another process's checkpoint, the file being replaced)."""
    try:
        connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
    except sqlite3.Error:
        log.debug("cannot open the database to checkpoint its WAL", exc_info=True)
        return 0
    try:
        connection.execute("PRAGMA synchronous = FULL")
        row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[1]) if row and row[1] > 0 else 0
    except sqlite3.Error:
        log.debug("WAL checkpoint skipped", exc_info=True)
        return 0
    finally:
        connection.close()


class PooledSQLiteTransaction(SQLiteTransaction):
    """A transaction that borrows a pooled connection and, if it will write, queues for the
    process's writer lock first (SQLite takes one writer at a time anyway: an asyncio queue is
    fair and cheap, where the busy handler's sleep-and-retry lets a flood starve a writer)."""

    _holds_writer = False

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        engine: DurableSQLiteEngine = self.engine  # type: ignore[assignment]
        if self.transaction_type != TransactionType.deferred:
            await engine.loop_pool().writer.acquire()
            self._holds_writer = True
        try:
            return await super().__aenter__()
        except BaseException:
            self._release_writer()
            raise

    def _release_writer(self) -> None:
        if self._holds_writer:
            self._holds_writer = False
            self.engine.loop_pool().writer.release()  # type: ignore[attr-defined]

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        engine: DurableSQLiteEngine = self.engine  # type: ignore[assignment]
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
                if self._holds_writer:
                    engine.committed()
        except BaseException:
            await engine.discard_connection(self.connection)
            self.engine.current_transaction.reset(self.context)
            self._release_writer()
            raise
        await engine.release_connection(self.connection)
        self.engine.current_transaction.reset(self.context)
        self._release_writer()
        return exception is None


@dataclass
class _LoopPool:
    """Connections of one event loop: at most SQLITE_POOL_SIZE open, and one writer at a time."""

    idle: list[aiosqlite.Connection] = field(default_factory=list)
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(SQLITE_POOL_SIZE))
    writer: asyncio.Lock = field(default_factory=asyncio.Lock)
    wrote: bool = False  # committed since the last checkpoint
    checkpointing: asyncio.Task | None = None
    checkpoints: int = 0  # passes run (for the tests)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


class DurableSQLiteEngine(SQLiteEngine):
    """SQLite with durable pragmas on every connection and a bounded per-event-loop pool."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path=path, timeout=SQLITE_BUSY_TIMEOUT_S, **kwargs)
        self._pools: dict[asyncio.AbstractEventLoop, _LoopPool] = {}

    def loop_pool(self) -> _LoopPool:
        # Called several times per statement: a get, not setdefault, which built (and threw
        # away) a pool with its semaphore and lock on every call.
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _LoopPool()
        return pool

    def committed(self) -> None:
        """A write committed: checkpoint the WAL soon, off the writers' path.

        SQLite's auto-checkpoint ran inside the COMMIT of whichever write passed 1,000 WAL pages:
        that commit copied the pages and fsynced the database file while every other writer of
        the process waited (~9 % of the writer's thread at capacity). Durability does not move:
        a commit is durable once its WAL frames are fsynced (synchronous FULL), as before; a
        checkpoint only copies pages already durable, and a crash in one recovers from the WAL."""
        pool = self.loop_pool()
        pool.wrote = True
        if pool.checkpointing is None:
            pool.checkpointing = asyncio.get_running_loop().create_task(
                self._checkpoint_while_writing(pool)
            )

    async def _checkpoint_while_writing(self, pool: _LoopPool) -> None:
        path = self.connection_kwargs["database"]
        try:
            while pool.wrote:
                pool.wrote = False
                # Most of the copying, in a thread of its own while the writers go on.
                pages = await asyncio.to_thread(checkpoint_wal, path)
                pool.checkpoints += 1
                if pages >= SQLITE_RESTART_PAGES:
                    # What was committed meanwhile (little), with this process's writers held:
                    # all copied, the next write starts the WAL over instead of growing it.
                    async with pool.writer:
                        await asyncio.to_thread(checkpoint_wal, path)
                    pool.checkpoints += 1
                await asyncio.sleep(SQLITE_CHECKPOINT_SECONDS)
        finally:
            pool.checkpointing = None

    async def _open(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # Pooled connections must not keep the process alive at exit.
        connection._thread.daemon = True
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        for pragma in SQLITE_PRAGMAS:
            await connection.execute(pragma)
        return connection

    async def get_connection(self) -> aiosqlite.Connection:
        pool = self.loop_pool()
        await pool.slots.acquire()
        if pool.idle:
            return pool.idle.pop()
        try:
            return await self._open()
        except BaseException:
            pool.slots.release()
            raise

    async def release_connection(self, connection: aiosqlite.Connection) -> None:
        pool = self.loop_pool()
        if connection.in_transaction:
            await self._close(connection)
        else:
            pool.idle.append(connection)
        pool.slots.release()

    async def discard_connection(self, connection: aiosqlite.Connection) -> None:
        await self._close(connection)
        self.loop_pool().slots.release()

    async def _close(self, connection: aiosqlite.Connection) -> None:
        with contextlib.suppress(Exception):  # a broken connection is dropped either way
            await connection.close()

    async def close_pool(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool and pool.checkpointing is not None:
            pool.checkpointing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pool.checkpointing
        for connection in pool.idle if pool else []:
            await self._close(connection)

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if query.lstrip()[:6].upper() in _WRITES:
            async with self.loop_pool().writer:
                rows = await self._run_once(query, args)
            self.committed()
            return rows
        return await self._run_once(query, args)

    async def _run_once(self, query, args):
        connection = await self.get_connection()
        try:
            rows = await connection.execute_fetchall(query, args or [])
        except BaseException:
            await self.discard_connection(connection)
            raise
        await self.release_connection(connection)
        return rows

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        return await connection.execute_fetchall(query, args or [])

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> PooledSQLiteTransaction:
        return PooledSQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


def engine_from_url(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        return DurableSQLiteEngine(path=url.removeprefix("sqlite:///"))
    parsed = urlparse(url)
    config = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or "postgres"),
        "database": (parsed.path or "/postgres").lstrip("/"),
    }
    if parsed.password:
        config["password"] = unquote(parsed.password)
    return PostgresEngine(config=config, extensions=())


@functools.cache
def engine() -> Engine:
    """PICCOLO_CONF's DB, the one engine Piccolo's own finder would return. Read here directly:
    the finder imports Piccolo's app machinery (and with it `black`, ~8 MB) into every process."""
    conf = os.environ.get("PICCOLO_CONF")
    if not conf:
        raise RuntimeError("no Piccolo engine: is PICCOLO_CONF set?")
    return importlib.import_module(conf).DB


def bind_tables(db: Engine) -> None:
    """Every table class imported so far reads and writes through `db` without asking Piccolo's
    finder (see engine); a table imported later still finds the same engine through it."""
    pending = list(Table.__subclasses__())
    while pending:
        table = pending.pop()
        pending.extend(table.__subclasses__())
        if table._meta._db is None:
            table._meta.db = db


def is_sqlite() -> bool:
    return engine().engine_type == "sqlite"


async def start(db: Engine | None = None) -> bool:
    """Open the PostgreSQL pool (SQLite's fills on demand); False when it was already open."""
    db = db or engine()
    bind_tables(db)
    if isinstance(db, PostgresEngine):
        if db.pool is not None:
            return False
        await db.start_connection_pool(min_size=2, max_size=20)
    return True


async def stop(db: Engine | None = None) -> None:
    db = db or engine()
    if isinstance(db, PostgresEngine) and db.pool is not None:
        # A task cancelled mid-query can leave a connection that never hands back; closing the
        # pool would then wait forever and a SIGTERMed server would hang.
        try:
            await asyncio.wait_for(db.pool.close(), POOL_CLOSE_SECONDS)
        except TimeoutError:
            log.warning("PostgreSQL pool did not close in %s s; terminating it", POOL_CLOSE_SECONDS)
            db.pool.terminate()
        db.pool = None
    elif isinstance(db, DurableSQLiteEngine):
        await db.close_pool()


# What to run once the outermost write transaction of this task has ended: (callback, whether
# only if it committed). See after_commit and on_commit.
_after_commit: ContextVar[list[tuple[Callable[[], None], bool]] | None] = ContextVar(
    "cunzhan_after_commit", default=None
)


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` when the write transaction this code runs in has ended (committed or rolled
    back), or at once outside one. For caches of rows: forgotten at the statement, a concurrent
    reader could still read the old row and keep it until the commit makes the new one visible."""
    pending = _after_commit.get()
    if pending is None:
        callback()
    else:
        pending.append((callback, False))


def on_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the write transaction this code runs in has committed; never if it
    rolls back (or its commit fails). For keeping what the transaction wrote in memory. Outside
    a write transaction: at once."""
    pending = _after_commit.get()
    if pending is None:
        callback()
    else:
        pending.append((callback, True))


@asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """A transaction that will write: IMMEDIATE on SQLite, so writers queue instead of failing."""
    outermost = _after_commit.get() is None
    token = _after_commit.set([]) if outermost else None
    committed = False
    try:
        db = engine()
        if isinstance(db, SQLiteEngine):
            async with db.transaction(transaction_type=TransactionType.immediate) as tx:
                yield tx
        else:
            async with db.transaction() as tx:
                yield tx
        committed = True
    finally:
        if token is not None:
            callbacks = _after_commit.get() or []
            _after_commit.reset(token)
            for callback, only_if_committed in callbacks:
                if committed or not only_if_committed:
                    callback()


# Where this request's read transactions go when no transaction is open: set for the county's
# and province's pages when a read replica is configured (backend/replica.py), else the primary.
ReadOpener = Callable[[], AbstractAsyncContextManager[None]]
_read_elsewhere: ContextVar[ReadOpener | None] = ContextVar("cunzhan_read_elsewhere", default=None)


@contextlib.contextmanager
def reading_through(opener: ReadOpener | None) -> Iterator[None]:
    """Read transactions opened inside go through `opener` (None: the primary)."""
    token = _read_elsewhere.set(opener)
    try:
        yield
    finally:
        _read_elsewhere.reset(token)


def on_primary() -> contextlib.AbstractContextManager[None]:
    """Reads inside see the primary's newest rows: for code that reads to decide what to write."""
    return reading_through(None)


@asynccontextmanager
async def read_transaction() -> AsyncIterator[Any]:
    """One connection for several reads (Piccolo opens one per query otherwise); on the read
    replica when this request reads through one and no transaction is open yet."""
    opener = _read_elsewhere.get()
    if opener is not None and engine().current_transaction.get() is None:
        async with opener():
            yield None
        return
    async with primary_transaction() as tx:
        yield tx


@asynccontextmanager
async def primary_transaction() -> AsyncIterator[Any]:
    async with engine().transaction() as tx:
        yield tx


_PLACEHOLDER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=1024)
def _sqlite_sql(sql: str) -> str:
    """`$n` placeholders as SQLite's `?n` (cached: the hot statements are a few fixed strings)."""
    return _PLACEHOLDER.sub(r"?\1", sql)


def _sql_for(db: Engine, sql: str) -> str:
    return _sqlite_sql(sql) if db.engine_type == "sqlite" else sql


T = TypeVar("T")

# Set while a piece of work runs whole in its SQLite connection's thread (`in_connection_thread`):
# fetch/execute/executemany then call that connection directly instead of hopping to its thread.
_inline: ContextVar[sqlite3.Connection | None] = ContextVar("cunzhan_inline_sqlite", default=None)


async def in_connection_thread(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `work` inside the current transaction, on SQLite whole in the connection's thread.

    aiosqlite runs each statement in the connection's thread and wakes the event loop for its
    answer: a sync push of ten statements paid ten such trips, more than the statements cost.
    Here the work's statements run straight on the connection, in one trip. `work` may await
    only this module's fetch/fetch_once/execute/executemany (anything else fails loudly, and
    its transaction rolls back); it runs in the caller's context (a copy). On PostgreSQL, or
    outside a transaction, it is simply awaited."""
    db = engine()
    tx = db.current_transaction.get()
    if not isinstance(db, DurableSQLiteEngine) or tx is None or _inline.get() is not None:
        return await work()
    connection = tx.connection
    # `_execute` (run a function in the connection's thread) and `_conn` are aiosqlite's private
    # API, as in 0.22.1 (pinned in requirements/app.lock): check them on upgrade.
    context = contextvars.copy_context()
    return await connection._execute(context.run, _drive, connection._conn, work)


def _drive(raw: sqlite3.Connection, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine that never suspends (its SQL is called directly) to its end."""
    _inline.set(raw)
    coroutine = work()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("work run in the connection's thread awaited something other than SQL")


def _current_connection() -> tuple[Engine, Any]:
    db = engine()
    tx = db.current_transaction.get()
    if tx is None:
        raise RuntimeError("raw SQL helpers run inside write_transaction()/read_transaction()")
    return db, tx.connection


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows as dicts, inside the current transaction."""
    raw = _inline.get()
    if raw is not None:
        return _fetch_dicts(raw, _sqlite_sql(sql), args)
    db, connection = _current_connection()
    if db.engine_type == "sqlite":
        # One trip to the connection's thread (execute, fetch and close a cursor: three).
        return await connection._execute(_fetch_dicts, connection._conn, _sqlite_sql(sql), args)
    return [dict(row) for row in await connection.fetch(sql, *args)]


def _fetch_dicts(raw: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows as dicts, as Piccolo's row factory gives them, but naming the columns once per
    statement: its factory rebuilds `cursor.description` for every row (a third of the sync's
    time reading a full shelf)."""
    cursor = raw.cursor()
    cursor.row_factory = None
    rows = cursor.execute(sql, args).fetchall()
    if not rows:
        return []
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


async def fetch_once(sql: str, *args: Any) -> list[dict[str, Any]]:
    """One read statement on its own pooled connection, outside any transaction: for the lookups
    every request makes (the session), where a transaction's BEGIN and COMMIT would triple the
    round trips and Piccolo's query builder costs more than the query."""
    db = engine()
    if db.current_transaction.get() is not None:
        return await fetch(sql, *args)
    if isinstance(db, DurableSQLiteEngine):
        return list(await db._run_once(_sql_for(db, sql), args))
    if isinstance(db, PostgresEngine) and db.pool is not None:
        return [dict(row) for row in await db.pool.fetch(sql, *args)]
    async with read_transaction():
        return await fetch(sql, *args)


async def execute(sql: str, *args: Any) -> None:
    raw = _inline.get()
    if raw is not None:
        raw.execute(_sqlite_sql(sql), args)
        return
    db, connection = _current_connection()
    if db.engine_type == "sqlite":
        await connection.execute(_sql_for(db, sql), args)
    else:
        await connection.execute(sql, *args)


async def executemany(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    raw = _inline.get()
    if raw is not None:
        raw.executemany(_sqlite_sql(sql), rows)
        return
    db, connection = _current_connection()
    if db.engine_type == "sqlite":
        await connection.executemany(_sql_for(db, sql), rows)
    else:
        await connection.executemany(sql, rows)


async def durability_report() -> dict[str, str]:
    """What the engine really runs with (checked at start-up: C4 of RELIABILITY.md)."""
    async with read_transaction():
        if is_sqlite():
            journal = (await fetch("PRAGMA journal_mode"))[0]["journal_mode"]
            synchronous = (await fetch("PRAGMA synchronous"))[0]["synchronous"]
            return {"journal_mode": str(journal), "synchronous": str(synchronous)}
        commit = (await fetch("SHOW synchronous_commit"))[0]["synchronous_commit"]
        fsync = (await fetch("SHOW fsync"))[0]["fsync"]
        return {"synchronous_commit": str(commit), "fsync": str(fsync)}


def durability_ok(report: dict[str, str]) -> bool:
    if "journal_mode" in report:
        # PRAGMA synchronous answers 2 for FULL, 3 for EXTRA.
        return report["journal_mode"].lower() == "wal" and report["synchronous"] in {"2", "3"}
    return report["synchronous_commit"] == "on" and report["fsync"] == "on"


def is_integrity_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    import asyncpg

    return isinstance(exc, asyncpg.exceptions.IntegrityConstraintViolationError)


# Row values ------------------------------------------------------------------------------------
# PostgreSQL hands back UUIDs, dates and aware datetimes; SQLite hands back text. Every reader of
# raw rows converts through these, so both engines give the same Python values.


def as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def as_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def as_moment(value: Any) -> datetime.datetime:
    """An aware datetime; a naive one (SQLite without offset) is UTC, as the app writes it."""
    moment = (
        value
        if isinstance(value, datetime.datetime)
        else datetime.datetime.fromisoformat(str(value))
    )
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def in_list(values: Sequence[Any], start: int = 1) -> str:
    """`$n, $n+1, …` for an IN list of `values` whose first argument is `$start`."""
    return ", ".join(f"${i}" for i in range(start, start + len(values)))
