"""The database engines: SQLite tuned for a county server (backend/sqlite_engine.py),
PostgreSQL for a province.

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
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from backend.sqlite_engine import DurableSQLiteEngine, drive, inline_connection

log = logging.getLogger("cunzhan.db")

POOL_CLOSE_SECONDS = 10.0

T = TypeVar("T")


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


@dataclass
class _Outcome:
    committed: bool = False


@asynccontextmanager
async def _commit_callbacks() -> AsyncIterator[_Outcome]:
    """Collects after_commit/on_commit callbacks of the outermost write transaction inside and
    runs them once it has ended (the body sets `committed` once it has)."""
    outcome = _Outcome()
    if _after_commit.get() is not None:  # an inner transaction: the outermost runs them
        yield outcome
        return
    token = _after_commit.set([])
    try:
        yield outcome
    finally:
        callbacks = _after_commit.get() or []
        _after_commit.reset(token)
        for callback, only_if_committed in callbacks:
            if outcome.committed or not only_if_committed:
                callback()


@asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """A transaction that will write: IMMEDIATE on SQLite, so writers queue instead of failing."""
    async with _commit_callbacks() as outcome:
        db = engine()
        if isinstance(db, SQLiteEngine):
            async with db.transaction(transaction_type=TransactionType.immediate) as tx:
                yield tx
        else:
            async with db.transaction() as tx:
                yield tx
        outcome.committed = True


async def write_in_connection_thread(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`work` in a write transaction of its own (what it may await: `in_connection_thread`).

    On SQLite its BEGIN IMMEDIATE, statements and COMMIT run in one trip to the connection's
    thread: under load the event loop is busy answering and reading pushes, and the trip back
    after a BEGIN of its own waited ~9 ms there, once per group of pushes, while the writer lock
    was held. On PostgreSQL, or inside another transaction, it is an ordinary write_transaction
    (nested in the other)."""
    db = engine()
    if not isinstance(db, DurableSQLiteEngine) or db.current_transaction.get() is not None:
        async with write_transaction():
            return await in_connection_thread(work)
    async with _commit_callbacks() as outcome:
        result = await db.write_in_one_trip(work)
        outcome.committed = True
    return result


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
    if not isinstance(db, DurableSQLiteEngine) or tx is None or inline_connection.get() is not None:
        return await work()
    connection = tx.connection
    # `_execute` (run a function in the connection's thread) and `_conn` are aiosqlite's private
    # API, as in 0.22.1 (pinned in requirements/app.lock): check them on upgrade.
    context = contextvars.copy_context()
    return await connection._execute(context.run, drive, connection._conn, work)


def _current_connection() -> tuple[Engine, Any]:
    db = engine()
    tx = db.current_transaction.get()
    if tx is None:
        raise RuntimeError("raw SQL helpers run inside write_transaction()/read_transaction()")
    return db, tx.connection


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows as dicts, inside the current transaction."""
    return await _fetch(sql, args, _fetch_dicts, _records_as_dicts)


async def fetch_tuples(sql: str, *args: Any) -> Sequence[Sequence[Any]]:
    """Rows as tuples (PostgreSQL: records, indexed alike) in the order the SELECT names its
    columns, inside the current transaction: for a read of tens of thousands of rows, where
    making a dict of each cost half as much as the query (a month's 28,848 dispatches: 29 ms
    against 54, measured outside the server)."""
    return await _fetch(sql, args, _fetch_tuples, _records_as_they_are)


async def _fetch(
    sql: str,
    args: Sequence[Any],
    read_sqlite: Callable[[sqlite3.Connection, str, Sequence[Any]], Any],
    shape_records: Callable[[list], Any],
) -> Any:
    raw = inline_connection.get()
    if raw is not None:
        return read_sqlite(raw, _sqlite_sql(sql), args)
    db, connection = _current_connection()
    if db.engine_type == "sqlite":
        # One trip to the connection's thread (execute, fetch and close a cursor: three).
        return await connection._execute(read_sqlite, connection._conn, _sqlite_sql(sql), args)
    return shape_records(await connection.fetch(sql, *args))


def _records_as_dicts(records: list) -> list[dict[str, Any]]:
    return [dict(record) for record in records]


def _records_as_they_are(records: list) -> list:
    return records


def _fetch_tuples(raw: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[tuple]:
    cursor = raw.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, args).fetchall()


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
    raw = inline_connection.get()
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
    raw = inline_connection.get()
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


def json_field(column: str, key: str) -> str:
    """One field of a JSON text column in SQL: SQLite's json_extract (its own type), PostgreSQL's
    `->>` on the text parsed as jsonb (text; the caller casts a number)."""
    if is_sqlite():
        return f"json_extract({column}, '$.{key}')"
    return f"({column}::jsonb ->> '{key}')"


def indexed_by(index: str) -> str:
    """` INDEXED BY index` on SQLite, nothing elsewhere: for a statement whose index SQLite's
    planner, without statistics (nothing runs ANALYZE), is known to choose wrongly. PostgreSQL
    keeps its own statistics."""
    return f" INDEXED BY {index}" if is_sqlite() else ""


def in_list(values: Sequence[Any], start: int = 1) -> str:
    """`$n, $n+1, …` for an IN list of `values` whose first argument is `$start`."""
    return ", ".join(f"${i}" for i in range(start, start + len(values)))
