"""Faults between the phone and the ledger, each ending with: every entry created is stored once,
and every hash chain verifies.

- the network: a loopback proxy loses requests, loses responses after the commit, stalls;
- the disk: the SQLite file's filesystem fills up mid-sync, then space comes back;
- the phone's clock: hours or a month wrong.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.faulty_proxy import FaultyProxy
from tests.server_process import Server, environment, run
from tests.support import event, now_iso, push, received, statuses
from tests.test_sync_crash import stored_ids


class Phone:
    def __init__(self, phone: str, entries: int):
        self.phone = phone
        self.device_id = str(uuid.uuid4())
        self.outbox = [
            received() if n % 3 == 0 else event(
                "service.recorded", {"service": "water", "amount_fen": n + 1, "fee_fen": 0})
            for n in range(entries)
        ]  # fmt: skip
        self.created = {e["id"] for e in self.outbox}
        self.token = ""
        self.indeterminate = 0
        self.refused: dict[int, int] = {}

    async def sync(self, base_url: str, batch: int = 30, rounds: int = 400) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=2, limits=limits) as http:
            for _ in range(rounds):
                if not self.outbox:
                    return
                try:
                    if not self.token:
                        answer = await http.post(f"{base_url}/api/v1/auth/login",
                            json={"phone": self.phone, "password": "demo1234"})  # fmt: skip
                        answer.raise_for_status()
                        self.token = answer.json()["token"]
                    response = await http.post(
                        f"{base_url}/api/v1/sync",
                        json={"device_id": self.device_id, "events": self.outbox[:batch]},
                        headers={"authorization": f"Bearer {self.token}"},
                    )
                except httpx.HTTPError:
                    self.indeterminate += 1
                    continue
                if response.status_code != 200:
                    self.refused[response.status_code] = (
                        self.refused.get(response.status_code, 0) + 1
                    )
                    assert response.headers["content-type"].startswith("application/problem+json")
                    await asyncio.sleep(0.1)
                    continue
                done = {r["id"] for r in response.json()["results"]
                        if r["status"] in ("accepted", "duplicate")}  # fmt: skip
                self.outbox = [e for e in self.outbox if e["id"] not in done]


def fresh_server(tmp_path: Path, database_url: str, data_dir: Path | None = None) -> tuple:
    env = environment(data_dir or tmp_path / "data", database_url)
    run(env, "migrate", "--quiet")
    run(env, "demo")
    return env, Server(env)


async def assert_exactly_once(database_url, engine_name, env, phones, before: set[str]):
    stored = {
        entry_id: n
        for entry_id, n in (await stored_ids(database_url, engine_name)).items()
        if entry_id not in before
    }
    created = set().union(*(p.created for p in phones))
    lost = created - set(stored)
    doubled = sum(n - 1 for n in stored.values() if n > 1)
    unexpected = set(stored) - created
    assert (len(lost), doubled, len(unexpected)) == (0, 0, 0)
    assert "every hash chain verifies" in run(env, "verify").stdout


@pytest.mark.slow
async def test_lost_requests_lost_answers_and_stalls_lose_and_double_nothing(
    tmp_path, fresh_database_url, engine_name
):
    env, server = fresh_server(tmp_path, fresh_database_url)
    before = set(await stored_ids(fresh_database_url, engine_name))
    server.start()
    proxy = FaultyProxy(
        server.port, {"pass": 0.55, "drop_request": 0.15, "drop_response": 0.2, "stall": 0.1}
    )
    await proxy.start()
    phones = [Phone(p, 600) for p in ("13800000001", "13800000002", "13800000003")]
    try:
        await asyncio.gather(*(p.sync(f"http://127.0.0.1:{proxy.port}") for p in phones))
        proxy.heal()
        await asyncio.gather(*(p.sync(f"http://127.0.0.1:{proxy.port}") for p in phones))
    finally:
        await proxy.stop()
        server.stop()
    faults = sum(n for fault, n in proxy.injected.items() if fault != "pass")
    print(f"network faults injected: {dict(proxy.injected)}")
    assert faults >= 20
    assert all(not p.outbox for p in phones)
    await assert_exactly_once(fresh_database_url, engine_name, env, phones, before)


@pytest.mark.slow
@pytest.mark.sqlite_only
async def test_disk_full_gives_a_clean_503_no_false_ack_and_syncs_when_space_returns(
    tmp_path, engine_name
):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    disk = tmp_path / "small-disk"
    disk.mkdir()
    # Room for the demo county's database and its WAL at its bound (~40 MB, docs/deploy.md): the
    # WAL grows as far as the checkpoints let it, so a smaller disk could fill before the test.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], check=True)
    try:
        database_url = f"sqlite:///{disk}/cunzhan.db"
        env, server = fresh_server(tmp_path, database_url, data_dir=disk / "data")
        before = set(await stored_ids(database_url, engine_name))
        server.start()
        filler = disk / "filler"
        stat = os.statvfs(disk)
        free = stat.f_bavail * stat.f_frsize
        with open(filler, "wb") as handle:  # leave about 300 KB free
            handle.write(b"\0" * max(0, free - 300 * 1024))
        phones = [Phone("13800000001", 1500)]
        await phones[0].sync(server.url, batch=100, rounds=30)
        assert phones[0].refused.get(503), "the disk never filled up"
        assert phones[0].outbox, "everything fitted: the disk was not full"
        filler.unlink()
        await phones[0].sync(server.url, batch=100, rounds=60)
        server.stop()
        assert not phones[0].outbox
        print(f"disk full: refusals {phones[0].refused}")
        await assert_exactly_once(database_url, engine_name, env, phones, before)
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


async def test_a_phone_offline_for_long_with_its_clock_a_month_ahead_syncs_all_500(client, world):
    """S6: 500 entries recorded offline with the clock 30 days ahead: all 500 once."""
    entries = [
        event("service.recorded", {"service": "phone_topup", "amount_fen": 100, "fee_fen": 0},
              occurred_at=now_iso(offset_hours=24 * 30 + n / 60))
        for n in range(500)
    ]  # fmt: skip
    assert statuses(await push(client, world.keeper_a, entries)) == ["accepted"] * 500
    assert statuses(await push(client, world.keeper_a, entries)) == ["duplicate"] * 500


@pytest.mark.parametrize("hours", [-9, -3, 3, 9])
async def test_a_phone_clock_hours_wrong_is_stored_as_data(client, world, hours):
    entry = event("checkin.recorded", {}, occurred_at=now_iso(offset_hours=hours))
    result = (await push(client, world.keeper_a, [entry]))[0]
    assert result["status"] == "accepted"
    assert ("clock_ahead" in result.get("warnings", [])) == (hours > 0)
    pulled = (await client.get("/api/v1/sync", headers=world.keeper_a.headers)).json()
    assert pulled["events"][0]["occurred_at"]  # the phone's time is kept as it said


@pytest.mark.slow
@pytest.mark.sqlite_only
async def test_sqlite_write_lock_held_10_s_by_another_process_delays_but_loses_nothing(
    tmp_path, engine_name
):
    """C2: a backup tool or a stray sqlite3 shell holds the write lock for 10 s (PostgreSQL's
    restart under load is scripts/fault_pg_restart.py)."""
    database_url = f"sqlite:///{tmp_path}/locked.db"
    env, server = fresh_server(tmp_path, database_url)
    before = set(await stored_ids(database_url, engine_name))
    server.start()
    phones = [Phone("13800000001", 200)]
    locker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")
        loop = asyncio.get_running_loop()
        began = loop.time()
        release = loop.call_later(10, locker.execute, "COMMIT")
        phone = phones[0]
        async with httpx.AsyncClient(timeout=60) as http:
            login = await http.post(
                f"{server.url}/api/v1/auth/login",
                json={"phone": phone.phone, "password": "demo1234"},
            )
            token = login.json()["token"]
            response = await http.post(
                f"{server.url}/api/v1/sync",
                json={"device_id": phone.device_id, "events": phone.outbox},
                headers={"authorization": f"Bearer {token}"},
            )
        waited = loop.time() - began
        release.cancel()
        assert response.status_code == 200
        assert statuses(response.json()["results"]) == ["accepted"] * 200
        assert waited >= 9, "the push did not wait for the lock"
        phone.outbox = []
    finally:
        locker.close()
        server.stop()
    await assert_exactly_once(database_url, engine_name, env, phones, before)


@pytest.mark.postgres_only
async def test_unsafe_postgresql_durability_stops_the_server_from_starting(
    tmp_path, fresh_database_url, engine_name
):
    """C4: start-up refuses synchronous_commit=off (SQLite's pragmas are set per connection)."""
    import asyncpg

    env = environment(tmp_path / "data", fresh_database_url)
    run(env, "migrate", "--quiet")
    name = fresh_database_url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(fresh_database_url)
    await connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    await connection.close()
    server = Server(env)
    with pytest.raises(RuntimeError, match="exited"):
        server.start(timeout=180)  # ends as soon as it exits; a busy machine starts slowly
