"""The server process SIGKILLed again and again while phones stream batches; restarted each time,
the phones retry until every entry is acknowledged. Nothing lost, nothing doubled, chains verify,
and SQLite's integrity check passes."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
import uuid

import httpx
import pytest

from tests.server_process import Server, environment, run
from tests.support import event, received

KEEPERS = ["13800000001", "13800000002", "13800000003"]
ENTRIES_PER_PHONE = 3000
BATCH = 50


class Phone:
    def __init__(self, phone: str):
        self.phone = phone
        self.device_id = str(uuid.uuid4())
        self.outbox = [
            received() if n % 2 else event("service.recorded", {
                "service": "phone_topup", "amount_fen": 100 * n, "fee_fen": 0})
            for n in range(ENTRIES_PER_PHONE)
        ]  # fmt: skip
        self.created = {e["id"] for e in self.outbox}
        self.acknowledged: set[str] = set()
        self.retries = 0
        self.token = ""

    async def sync_until_empty(self, http: httpx.AsyncClient, server: Server, deadline: float):
        while self.outbox and time.monotonic() < deadline:
            batch = self.outbox[:BATCH]
            try:
                if not self.token:
                    answer = await http.post(
                        f"{server.url}/api/v1/auth/login",
                        json={"phone": self.phone, "password": "demo1234"},
                    )
                    answer.raise_for_status()
                    self.token = answer.json()["token"]
                response = await http.post(
                    f"{server.url}/api/v1/sync",
                    json={"device_id": self.device_id, "events": batch},
                    headers={"authorization": f"Bearer {self.token}"},
                )
            except httpx.TransportError:
                self.retries += 1  # INDET: the batch stays in the outbox
                await asyncio.sleep(0.05)
                continue
            if response.status_code != 200:
                self.retries += 1
                await asyncio.sleep(0.05)
                continue
            for result in response.json()["results"]:
                assert result["status"] in ("accepted", "duplicate"), result
                self.acknowledged.add(result["id"])
            self.outbox = [e for e in self.outbox if e["id"] not in self.acknowledged]


async def killer(server: Server, phones: list[Phone], kills: list[float]) -> None:
    rng = random.Random(3)
    while any(p.outbox for p in phones) and len(kills) < 8:
        await asyncio.sleep(rng.uniform(0.1, 0.5))
        server.kill()
        kills.append(await asyncio.to_thread(server.start))


@pytest.mark.slow
async def test_sigkill_while_batches_stream_in_loses_and_doubles_nothing(
    tmp_path, fresh_database_url, engine_name
):
    env = environment(tmp_path / "data", fresh_database_url)
    run(env, "migrate", "--quiet")
    run(env, "demo")
    before = set(await stored_ids(fresh_database_url, engine_name))  # the demo's own entries
    server = Server(env)
    server.start()
    phones = [Phone(phone) for phone in KEEPERS]
    restart_seconds: list[float] = []
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            deadline = time.monotonic() + 240
            await asyncio.gather(
                killer(server, phones, restart_seconds),
                *(p.sync_until_empty(http, server, deadline) for p in phones),
            )
            for p in phones:  # the last kill may have come after a phone finished
                await p.sync_until_empty(http, server, deadline)
    finally:
        server.stop()
    assert len(restart_seconds) >= 3, "the server was not killed often enough to mean anything"
    assert all(not p.outbox for p in phones)
    stored = {
        entry_id: n
        for entry_id, n in (await stored_ids(fresh_database_url, engine_name)).items()
        if entry_id not in before
    }
    created = set().union(*(p.created for p in phones))
    lost = created - set(stored)
    doubled = sum(n - 1 for n in stored.values() if n > 1)
    unexpected = set(stored) - created
    print(
        f"kills={len(restart_seconds)} retries={sum(p.retries for p in phones)} "
        f"restart_s={max(restart_seconds):.2f} lost={len(lost)} dup={doubled} "
        f"unexpected={len(unexpected)}"
    )
    assert (len(lost), doubled, len(unexpected)) == (0, 0, 0)
    verify = run(env, "verify")
    assert "every hash chain verifies" in verify.stdout
    if engine_name == "sqlite":
        path = fresh_database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def stored_ids(database_url: str, engine_name: str) -> dict[str, int]:
    query = "SELECT id, COUNT(*) FROM ledger_event GROUP BY id"
    if engine_name == "sqlite":
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return {str(row[0]): row[1] for row in connection.execute(query)}
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        return {str(row[0]): row[1] for row in await connection.fetch(query)}
    finally:
        await connection.close()
