"""SQLite tuned for a county server: `DurableSQLiteEngine` and its transactions.

Piccolo's SQLite engine opens a fresh connection (and thread) for every query outside a
transaction and sets no durability pragmas; this one keeps a small pool of connections per event
loop, each opened with WAL, `synchronous=FULL`, foreign keys and a busy timeout, lets one writer
at a time in through an asyncio lock, and checkpoints the WAL off the writers' path. The rest of
the code reaches it through backend/db.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosqlite
from piccolo.engine.sqlite import (
    SQLiteEngine,
    SQLiteTransaction,
    TransactionType,
    convert_int_out,
    dict_factory,
)

log = logging.getLogger("cunzhan.db")

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_S = 30.0
SQLITE_POOL_SIZE = 8
# The WAL is checkpointed off the writers' path (`_checkpoint_while_writing`) at most this often
# while writes come in; once it holds SQLITE_RESTART_PAGES, a last short pass under the writer
# lock lets the next write start the WAL over. SQLite's own auto-checkpoint, in the COMMIT that
# passes SQLITE_AUTOCHECKPOINT_PAGES, stays as the safety net (another process's readers or
# writers can keep that pass from finishing) and bounds the WAL on disk (~40 MB). At its default
# of 1,000 pages it ran in nearly every COMMIT at capacity (the WAL takes ~22,000 pages a second
# there, the background pass runs every 0.2–0.3 s), doubling COMMIT's time inside the writer
# lock (docs/performance.md, 2026-12-06).
SQLITE_CHECKPOINT_SECONDS = 0.2
SQLITE_RESTART_PAGES = 400
SQLITE_AUTOCHECKPOINT_PAGES = 10000
# Prepared statements each connection keeps (sqlite3's default is 128). The writer's pushes run
# a few statements over and over and keep the default; the reading connections run the county's
# reads, whose IN lists of up to a hundred stations make a statement of each length: at 128 the
# pool held ~12 MB of them under staff load (docs/performance.md, 2026-12-06, seventh session).
WRITER_CACHED_STATEMENTS = 128
READER_CACHED_STATEMENTS = 16
# The reading connections' threads run this much nicer than the thread that opened them (Linux
# gives each thread its own priority). On a county's year a staff page keeps them busy for
# hundreds of milliseconds, and at the same priority they took the cores the event loop and the
# writer's thread needed for the phones' pushes: 300 phones' p95 beside five staff 427–466 ms,
# 99–149 ms nicer (docs/performance.md, ninth session). A phone's pull reads there too, but is
# short. SQLite's reads let go of the GIL, so the loop and the writer still run beside them.
READER_NICENESS = 10
MOST_NICENESS = 19
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}",
    f"PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}",
)


def integer_out(value: bytes) -> int:
    """An INTEGER column's value as it is read. Piccolo registers a converter for every INTEGER
    column (its connections parse declared types) that decodes the text and goes through
    `Decimal` for each value, to accept a stored '1.0': a month of a county's rollups (17,000
    rows of 8 figures) spent half its read there. `int` reads an integer's text directly; what
    it cannot read still goes Piccolo's way (tests/test_sqlite_integers.py)."""
    try:
        return int(value)
    except ValueError:
        return convert_int_out(value)


# After Piccolo's own registration (its module registers on import, above): process-wide.
sqlite3.register_converter("INTEGER", integer_out)


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


class ProcessWriterLock:
    """The database's writer turn across processes: `flock` on a file beside it.

    SQLite lets one writer in at a time, but a second process's writer learns it only from its
    busy handler, which sleeps and retries (1, 2, 5, … 100 ms): two `serve --workers 2`
    processes took turns at that pace, no faster than one (push p95 911 ms, docs/performance.md
    2026-12-06). Waiting on this lock instead, in the connection's thread, wakes a waiter the
    moment the other commits. Taken after the process's own asyncio writer lock, so at most one
    thread of a process waits here. SQLite's own locking stays what keeps the data safe: a
    process that does not take this lock (the sqlite3 shell) is still serialised by it."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}.writer-lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    async def take_turn(self) -> None:
        """`acquire` in a thread. If the caller is cancelled while it waits, the thread still
        takes the turn when it comes, and gives it back at once."""
        taking = asyncio.get_running_loop().run_in_executor(None, self.acquire)
        try:
            await asyncio.shield(taking)
        except asyncio.CancelledError:
            taking.add_done_callback(self._give_back_if_taken)
            raise

    def _give_back_if_taken(self, taking: asyncio.Future) -> None:
        if not taking.cancelled() and taking.exception() is None:
            self.release()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class PooledSQLiteTransaction(SQLiteTransaction):
    """A transaction that borrows a pooled connection and, if it will write, queues for the
    process's writer lock first (SQLite takes one writer at a time anyway: an asyncio queue is
    fair and cheap, where the busy handler's sleep-and-retry lets a flood starve a writer)."""

    _holds_writer = False

    async def get_connection(self) -> aiosqlite.Connection:
        engine: DurableSQLiteEngine = self.engine  # type: ignore[assignment]
        if self._holds_writer:
            return await engine.writing_connection()
        return await engine.get_connection()

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        engine: DurableSQLiteEngine = self.engine  # type: ignore[assignment]
        if self.transaction_type != TransactionType.deferred:
            pool = engine.loop_pool()
            await pool.writer.acquire()
            self._holds_writer = True
            try:
                await pool.processes.take_turn()
            except BaseException:
                pool.writer.release()
                self._holds_writer = False
                raise
        try:
            return await super().__aenter__()
        except BaseException:
            self._release_writer()
            raise

    def _release_writer(self) -> None:
        if self._holds_writer:
            self._holds_writer = False
            pool = self.engine.loop_pool()  # type: ignore[attr-defined]
            pool.processes.release()
            pool.writer.release()

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
            await engine.give_back(self.connection, self._holds_writer, broken=True)
            self.engine.current_transaction.reset(self.context)
            self._release_writer()
            raise
        await engine.give_back(self.connection, self._holds_writer)
        self.engine.current_transaction.reset(self.context)
        self._release_writer()
        return exception is None


@dataclass
class _LoopPool:
    """Connections of one event loop: at most SQLITE_POOL_SIZE open, and one writer at a time
    (of this loop: `writer`; of every process: `processes`, taken after it)."""

    processes: ProcessWriterLock
    idle: list[aiosqlite.Connection] = field(default_factory=list)
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(SQLITE_POOL_SIZE))
    writer: asyncio.Lock = field(default_factory=asyncio.Lock)
    wrote: bool = False  # committed since the last checkpoint
    checkpointing: asyncio.Task | None = None
    checkpoints: int = 0  # passes run (for the tests)
    # The connection every writer uses in turn, apart from the pool's readers (writing_connection).
    writer_connection: aiosqlite.Connection | None = None


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
            database = self.connection_kwargs["database"]
            pool = self._pools[loop] = _LoopPool(ProcessWriterLock(database))
        return pool

    def committed(self) -> None:
        """A write committed: checkpoint the WAL soon, off the writers' path.

        SQLite's auto-checkpoint runs inside the COMMIT of whichever write passes its bound:
        that commit copies the pages and fsyncs the database file while every other writer of
        the process waits (~9 % of the writer's thread at capacity, at 1,000 pages). Durability
        does not move: a commit is durable once its WAL frames are fsynced (synchronous FULL), as
        before; a checkpoint only copies pages already durable, and a crash in one recovers from
        the WAL."""
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
                        await asyncio.to_thread(_checkpoint_holding, pool.processes, path)
                    pool.checkpoints += 1
                await asyncio.sleep(SQLITE_CHECKPOINT_SECONDS)
        finally:
            pool.checkpointing = None

    async def _open(self, writer: bool = False) -> aiosqlite.Connection:
        statements = WRITER_CACHED_STATEMENTS if writer else READER_CACHED_STATEMENTS
        kwargs = {**self.connection_kwargs, "cached_statements": statements}
        connection = aiosqlite.connect(**kwargs)
        # Pooled connections must not keep the process alive at exit.
        connection._thread.daemon = True
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        for pragma in SQLITE_PRAGMAS:
            await connection.execute(pragma)
        if not writer:
            await connection._execute(_yield_to_writers)
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

    async def writing_connection(self) -> aiosqlite.Connection:
        """The connection each writer uses in turn (the caller holds the writer lock): always the
        same one, so its page cache stays warm. A pooled connection that another had written
        behind since it last ran threw its cache away and read its pages again."""
        pool = self.loop_pool()
        if pool.writer_connection is None:
            pool.writer_connection = await self._open(writer=True)
        return pool.writer_connection

    async def give_back(
        self, connection: aiosqlite.Connection, writer: bool, broken: bool = False
    ) -> None:
        """A transaction's connection, once it has ended: the writer's kept unless left broken
        or inside a transaction, a reader's back to the pool (or closed, the same)."""
        if not writer:
            await (self.discard_connection if broken else self.release_connection)(connection)
        elif broken or connection.in_transaction:
            self.loop_pool().writer_connection = None
            await self._close(connection)

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
        if pool and pool.writer_connection is not None:
            await self._close(pool.writer_connection)
        if pool:
            pool.processes.close()

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if query.lstrip()[:6].upper() in _WRITES:
            pool = self.loop_pool()
            async with pool.writer:
                connection = await self.writing_connection()
                await pool.processes.take_turn()
                try:
                    rows = await connection.execute_fetchall(query, args or [])
                except BaseException:
                    await self.give_back(connection, writer=True, broken=True)
                    raise
                finally:
                    pool.processes.release()
                await self.give_back(connection, writer=True)
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

    async def write_in_one_trip(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """A write transaction whose BEGIN IMMEDIATE, `work` (see `drive`) and COMMIT run in one
        trip to the writers' connection's thread, the writer lock held meanwhile. A statement that
        raises rolls it all back and the exception reaches the caller."""
        pool = self.loop_pool()
        async with pool.writer:
            connection = await self.writing_connection()
            transaction = self.transaction(TransactionType.immediate)
            transaction.connection = connection
            context = contextvars.copy_context()  # `work` finds its transaction where Piccolo looks
            context.run(self.current_transaction.set, transaction)
            try:
                result = await connection._execute(
                    context.run, _one_transaction, connection._conn, pool.processes, work
                )
            finally:
                await self.give_back(connection, writer=True)  # closed if left in a transaction
        self.committed()
        return result

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> PooledSQLiteTransaction:
        return PooledSQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


# Set while a piece of work runs whole in its SQLite connection's thread (`in_connection_thread`):
# fetch/execute/executemany then call that connection directly instead of hopping to its thread.
inline_connection: ContextVar[sqlite3.Connection | None] = ContextVar(
    "cunzhan_inline_sqlite", default=None
)


def drive(raw: sqlite3.Connection, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine that never suspends (its SQL is called directly) to its end."""
    inline_connection.set(raw)
    coroutine = work()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("work run in the connection's thread awaited something other than SQL")


def _one_transaction(
    raw: sqlite3.Connection,
    processes: ProcessWriterLock,
    work: Callable[[], Coroutine[Any, Any, T]],
) -> T:
    processes.acquire()
    try:
        raw.execute("BEGIN IMMEDIATE")
        try:
            result = drive(raw, work)
        except BaseException:
            if raw.in_transaction:  # some errors (a full disk) roll back by themselves
                raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")
        return result
    finally:
        processes.release()


def _yield_to_writers() -> None:
    """Run in a reading connection's thread: lower that thread's CPU priority by READER_NICENESS
    below the thread that opened it (Linux's threads inherit it), as far as 19. Where threads
    have no priority of their own, nothing changes."""
    with contextlib.suppress(OSError, AttributeError):
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + READER_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(niceness, MOST_NICENESS))


def _checkpoint_holding(processes: ProcessWriterLock, path: str) -> int:
    """A checkpoint with every process's writers held, so the next write can start the WAL over."""
    processes.acquire()
    try:
        return checkpoint_wal(path)
    finally:
        processes.release()
