"""Test set-up: a fresh database per run (SQLite file, or a new PostgreSQL database), migrated
once, emptied before every test; the real app behind Litestar's AsyncTestClient.

CUNZHAN_TEST_ENGINE=postgres runs the same tests on PostgreSQL (scripts/test does both).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid

# Piccolo reads its configuration when tables are imported: set everything first.
_ENGINE = os.environ.get("CUNZHAN_TEST_ENGINE", "sqlite")
_DATA_DIR = tempfile.mkdtemp(prefix="cunzhan-test-")
_PG_BASE = os.environ.get("CUNZHAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_PG_NAME = f"cunzhan_test_{uuid.uuid4().hex[:12]}"
os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
os.environ["CUNZHAN_DATA_DIR"] = _DATA_DIR
os.environ["CUNZHAN_SCHEDULER"] = "0"
os.environ["CUNZHAN_LOG_JSON"] = "0"
os.environ.setdefault("CUNZHAN_DEMO_HISTORY_DAYS", "0")  # tests that want history ask for it
# Every test client calls from 127.0.0.1: rate limits are tested with their own small limit.
os.environ["CUNZHAN_API_RATE_LIMIT_PER_MINUTE"] = "1000000"
if _ENGINE == "postgres":
    _server = _PG_BASE.rsplit("/", 1)[0]
    os.environ["CUNZHAN_DATABASE_URL"] = f"{_server}/{_PG_NAME}"
else:
    os.environ["CUNZHAN_DATABASE_URL"] = f"sqlite:///{_DATA_DIR}/test.db"


async def _admin_sql(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_PG_BASE)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


if _ENGINE == "postgres":
    asyncio.run(_admin_sql(f'CREATE DATABASE "{_PG_NAME}"'))

import pytest  # noqa: E402

from tests.support import World, asgi_client, build_world, running  # noqa: E402

# scripts/test hashes passwords with argon2id at its smallest cost in this process: every `world`
# creates and logs in six accounts, and at the real cost that hashing was three quarters of the
# suite's time. Servers started as processes keep the real cost (tests/test_cli.py checks it).
_CHEAP_HASHES = os.environ.get("CUNZHAN_TEST_CHEAP_HASHES") == "1"
if _CHEAP_HASHES:
    from argon2 import PasswordHasher

    from backend.accounts import service as _accounts

    _accounts.PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    _accounts._DUMMY_HASH = _accounts.PASSWORD_HASHER.hash("cunzhan-timing-equaliser")


def pytest_collection_modifyitems(config, items) -> None:
    """Tests of one engine's own mechanisms (SQLite's file lock, PostgreSQL's settings) are
    deselected, not skipped, on the other engine."""
    other = "postgres_only" if _ENGINE == "sqlite" else "sqlite_only"
    deselected = [item for item in items if item.get_closest_marker(other)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(other)]


def pytest_report_header(config) -> str:
    hashes = "; cheap password hashes" if _CHEAP_HASHES else ""
    return f"cunzhan: database engine {_ENGINE} ({os.environ['CUNZHAN_DATABASE_URL']}){hashes}"


def pytest_sessionfinish(session, exitstatus) -> None:
    if _ENGINE == "postgres":
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{_PG_NAME}" WITH (FORCE)'))
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def engine_name() -> str:
    return _ENGINE


@pytest.fixture(scope="session")
def database_url() -> str:
    return os.environ["CUNZHAN_DATABASE_URL"]


@pytest.fixture(scope="session")
def data_dir() -> str:
    return _DATA_DIR


@pytest.fixture
async def fresh_database_url(tmp_path):
    """An empty database of the engine under test, for tests that run `cunzhan` as a process."""
    if _ENGINE != "postgres":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    name = f"cunzhan_fresh_{uuid.uuid4().hex[:12]}"
    await _admin_sql(f'CREATE DATABASE "{name}"')
    yield f"{_PG_BASE.rsplit('/', 1)[0]}/{name}"
    await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
async def migrated_database():
    from backend import db
    from backend.migrations import migrate

    await db.start()
    await migrate()
    yield
    await db.stop()


@pytest.fixture(autouse=True)
async def local_runtime():
    """A test that calls the ingest or the notification chain directly runs in a runtime of its
    own, as a CLI command does; the apps a test starts open their own."""
    from backend import runtime

    async with runtime.running() as opened:
        yield opened


@pytest.fixture(autouse=True)
async def empty_database(migrated_database):
    """Every test starts from empty tables (per-test transactions do not carry into async tests)."""
    from tests.support import truncate_all

    await truncate_all()


@pytest.fixture(scope="session")
async def app(migrated_database):
    from backend.app import create_app

    return create_app()


@pytest.fixture
async def client(app, empty_database):
    """The app in this test loop, started and stopped around each test as a server process would
    be: what the app holds in memory (the login throttle) lives and dies with the test, and the
    next test starts without cookies. (Litestar's AsyncTestClient runs the app on another thread's
    loop, which a PostgreSQL pool opened here cannot serve; the database is opened above.)"""
    async with running(app), asgi_client(app) as test_client:
        yield test_client


@pytest.fixture
async def world(client) -> World:
    """Two counties: the home county (3 stations, keepers, staff) and a foreign one."""
    return await build_world(client)
