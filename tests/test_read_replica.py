"""A read replica (CUNZHAN_DATABASE_READ_URL) for the county's pages, API and workbook.

The replica here is this test database read through a role whose every transaction is read-only
(PostgreSQL refuses any write on it, as a streaming replica would): so a page that wrote through
the reader, or read its figures before the primary's catch-up, fails here. Read-your-writes is the
contract: a sync answered before a page asks is counted on it, with no job run."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import os
import subprocess
import sys
import uuid
from urllib.parse import urlparse

import asyncpg
import pytest

from backend import replica
from backend.app import create_app
from backend.settings import get_settings
from tests.support import asgi_client, push, received, running
from tests.test_county_figures import HTML, SHANGHAI, _dashboard, _kpis, _purchase, _sale, _workbook

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
async def reader_url(database_url):
    """The test database through a login role that can only read."""
    role = f"cunzhan_reader_{uuid.uuid4().hex[:10]}"
    database = urlparse(database_url).path.lstrip("/")
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        await admin.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
        await admin.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
        await admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        await admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        yield database_url.replace("://postgres@", f"://{role}@", 1), role
    finally:
        await admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            f"WHERE usename = '{role}'")  # fmt: skip
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


@pytest.fixture
async def replica_staff(reader_url):
    """A client of an app whose county pages read through the reader."""
    url, _ = reader_url
    staff_app = create_app(dataclasses.replace(get_settings(), database_read_url=url))
    async with running(staff_app), asgi_client(staff_app) as staff:
        yield staff


async def _as_admin(database_url: str, statement: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _reader_connections(database_url: str, role: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role
        )
    finally:
        await connection.close()


@pytest.mark.postgres_only
async def test_pages_api_and_workbook_read_the_replica_and_still_see_the_last_sync(
    client, world, reader_url, replica_staff, database_url
):
    _, role = reader_url
    month = datetime.datetime.now(SHANGHAI).strftime("%Y-%m")
    staff = replica_staff
    await push(client, world.keeper_a, [_sale(10000), received()])
    first = await _kpis(staff, world, month)
    # A sync answered, then at once the pages: no job ran, the replica must show it.
    await push(client, world.keeper_a, [_sale(2345), _purchase(700), received()])
    expected = {"retail_fen": 10000 + 2345 + 700, "farm_retail_fen": 12345, "parcels_in": 2}
    assert first == {"retail_fen": 10000, "farm_retail_fen": 10000, "parcels_in": 1}
    assert await _dashboard(staff, world.staff) == expected
    assert await _kpis(staff, world, month) == expected
    assert await _workbook(staff, world, month) == expected

    answer = await staff.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert answer.headers["cunzhan-read-from"].startswith("replica; caught-up-ms=")
    page = await staff.get("/county/?lang=zh-CN", headers={**HTML, **world.staff.headers})
    assert 'data-read-from="replica"' in page.text
    assert "本页数据读自只读副本（追上主库用时" in page.text
    english = await staff.get("/county/?lang=en", headers={**HTML, **world.staff.headers})
    assert "Figures read from the read replica" in english.text
    assert await _reader_connections(database_url, role) >= 1

    # Proof that the figures come through the reader: take its right to read the rollups
    # away and the kpis fail (and the primary's catch-up still runs before, unharmed).
    await _as_admin(database_url, f"REVOKE SELECT ON county_rollup FROM {role}")
    refused = await staff.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert refused.status_code == 500
    await _as_admin(database_url, f"GRANT SELECT ON county_rollup TO {role}")
    assert await _kpis(staff, world, month) == expected

    # The phones' sync and a keeper's own reads stay on the primary.
    synced = await staff.post(
        "/api/v1/sync",
        json={"device_id": str(uuid.uuid4()), "events": [_sale(1)]},
        headers=world.keeper_a.headers,
    )
    assert synced.status_code == 200, synced.text
    assert "cunzhan-read-from" not in synced.headers


@pytest.mark.postgres_only
async def test_without_a_replica_nothing_says_where_it_read(client, world):
    page = await client.get("/county/?lang=zh-CN", headers={**HTML, **world.staff.headers})
    assert page.status_code == 200
    assert "data-read-from" not in page.text and "cunzhan-read-from" not in page.headers


@pytest.mark.sqlite_only
def test_a_read_replica_needs_postgresql(tmp_path):
    env = {
        **os.environ,
        "CUNZHAN_DATA_DIR": str(tmp_path),
        "CUNZHAN_DATABASE_URL": f"sqlite:///{tmp_path}/county.db",
        "CUNZHAN_DATABASE_READ_URL": "postgresql://reader@127.0.0.1:5432/test",
    }
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve", "--port", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CUNZHAN_DATABASE_READ_URL" in result.stderr and "SQLite" in result.stderr


@pytest.mark.postgres_only
async def test_every_county_and_province_page_answers_through_the_replica(
    client, world, reader_url
):
    """Every GET the replica serves, as the home county's staff and as a province officer: a
    page that wrote inside its reads would fail here (the reader refuses writes) with a 500."""
    from tests.test_authorization_matrix import _path_ids, _province, app_routes

    url, _ = reader_url
    ids = (await _path_ids(world))["home"]
    officer = await _province(client, world)
    staff_app = create_app(dataclasses.replace(get_settings(), database_read_url=url))
    failures, read_on_replica = [], 0
    async with running(staff_app), asgi_client(staff_app) as staff:
        for method, path in app_routes(staff_app):
            if method != "GET" or not path.startswith(replica.REPLICA_PATHS):
                continue
            for actor in (world.staff, officer):
                answer = await staff.get(path.format(**ids), headers={**HTML, **actor.headers})
                if answer.status_code >= 500:
                    failures.append(f"GET {path} as {actor.role}: {answer.status_code}")
                read_on_replica += "replica" in answer.headers.get("cunzhan-read-from", "")
    assert not failures, "\n".join(failures)
    assert read_on_replica > 20


@pytest.mark.postgres_only
async def test_a_replica_that_goes_away_sends_the_pages_to_the_primary(
    client, world, reader_url, replica_staff, database_url
):
    _, role = reader_url
    month = datetime.datetime.now(SHANGHAI).strftime("%Y-%m")
    staff = replica_staff
    await push(client, world.keeper_a, [_sale(10000), received()])
    assert (await _kpis(staff, world, month))["retail_fen"] == 10000
    # The replica goes down: its connections cut, new ones refused.
    await _as_admin(database_url, f"ALTER ROLE {role} NOLOGIN")
    await _as_admin(
        database_url,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'",
    )
    await push(client, world.keeper_a, [_sale(2345)])
    answer = await staff.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["figures"]["retail_fen"] == 12345
    assert answer.headers["cunzhan-read-from"].startswith("primary")
    page = await staff.get("/county/?lang=zh-CN", headers={**HTML, **world.staff.headers})
    assert page.status_code == 200 and 'data-read-from="primary"' in page.text


@pytest.mark.postgres_only
@pytest.mark.filterwarnings("ignore:.*Unable to fetch server version")  # Piccolo, replica down
async def test_a_replica_down_at_start_up_neither_stops_the_app_nor_its_pages(
    client, world, reader_url, database_url, monkeypatch
):
    """The app starts while its replica is down (it failed to start): the pages read the
    primary, and the replica is read again once it is back."""
    url, role = reader_url
    monkeypatch.setattr(replica, "LAGGING_S", 0.2)
    month = datetime.datetime.now(SHANGHAI).strftime("%Y-%m")
    await _as_admin(database_url, f"ALTER ROLE {role} NOLOGIN")
    staff_app = create_app(dataclasses.replace(get_settings(), database_read_url=url))
    async with running(staff_app), asgi_client(staff_app) as staff:
        await push(client, world.keeper_a, [_sale(10000)])
        kpis = f"/api/v1/counties/{world.county_id}/kpis?month={month}"
        answer = await staff.get(kpis, headers=world.staff.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["figures"]["retail_fen"] == 10000
        assert answer.headers["cunzhan-read-from"].startswith("primary")
        await _as_admin(database_url, f"ALTER ROLE {role} LOGIN")
        await asyncio.sleep(0.3)
        answer = await staff.get(kpis, headers=world.staff.headers)
        assert answer.headers["cunzhan-read-from"].startswith("replica")
        assert answer.json()["figures"]["retail_fen"] == 10000
