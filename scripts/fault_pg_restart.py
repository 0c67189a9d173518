#!/usr/bin/env python3
"""Fault scenario C2 on PostgreSQL: `pg_ctlcluster … restart -m immediate` while phones sync.

Runs two `cunzhan serve` processes on a fresh database, 30 phones pushing batches, restarts the
PostgreSQL cluster (immediate mode: no checkpoint, like a crash) several times, then lets the
phones drain. Prints the error window seen by the phones and checks: nothing lost, nothing
doubled, nothing unexpected, every chain verifies. Needs root (it restarts the local cluster).

    .venv/bin/python scripts/fault_pg_restart.py [--restarts 3] [--database-url postgresql://…/test]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.server_process import Server, environment, run
from tests.support import event, received

FAILURE_KINDS: Counter[str] = Counter()


def restart_postgresql() -> float:
    version = sorted(Path("/etc/postgresql").iterdir())[-1].name
    began = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart",
         "-m", "immediate"],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.monotonic() - began


class Phone:
    def __init__(self, n: int):
        self.phone = f"1380000{n:04d}"
        self.device_id = str(uuid.uuid4())
        self.outbox = [
            received() if k % 2 else event("service.recorded",
                {"service": "water", "amount_fen": k + 1, "fee_fen": 0})
            for k in range(1500)
        ]  # fmt: skip
        self.created = {e["id"] for e in self.outbox}
        self.failures: list[float] = []

    async def sync(self, http: httpx.AsyncClient, urls: list[str], until: float) -> None:
        token = ""
        turn = 0
        while self.outbox and time.monotonic() < until:
            url = urls[turn % len(urls)]
            turn += 1
            try:
                if not token:
                    answer = await http.post(
                        f"{url}/api/v1/auth/login",
                        json={"phone": self.phone, "password": "demo1234"},
                    )
                    answer.raise_for_status()
                    token = answer.json()["token"]
                response = await http.post(
                    f"{url}/api/v1/sync",
                    json={"device_id": self.device_id, "events": self.outbox[:10]},
                    headers={"authorization": f"Bearer {token}"},
                )
                response.raise_for_status()
            except httpx.HTTPError as error:
                self.failures.append(time.monotonic())
                status = getattr(getattr(error, "response", None), "status_code", None)
                FAILURE_KINDS[f"HTTP {status}" if status else type(error).__name__] += 1
                await asyncio.sleep(0.2)
                continue
            done = {
                r["id"]
                for r in response.json()["results"]
                if r["status"] in ("accepted", "duplicate")
            }
            self.outbox = [e for e in self.outbox if e["id"] not in done]
            await asyncio.sleep(0.1)


async def main_async(args) -> int:
    name = f"cunzhan_pgfault_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-pgfault-"))
    env = environment(workdir / "data", url, CUNZHAN_LOG_LEVEL="WARNING")
    run(env, "migrate", "--quiet")
    run(env, "demo")
    connection = await asyncpg.connect(url)
    before = {str(r[0]) for r in await connection.fetch("SELECT id FROM ledger_event")}
    await connection.close()
    servers = [Server(env), Server(env)]
    for server in servers:
        server.start()
    phones = [Phone(n) for n in range(1, 31)]
    restarts: list[float] = []
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            until = time.monotonic() + 180

            async def restarter() -> None:
                for _ in range(args.restarts):
                    await asyncio.sleep(3)
                    restarts.append(await asyncio.to_thread(restart_postgresql))

            await asyncio.gather(
                restarter(), *(p.sync(http, [s.url for s in servers], until) for p in phones)
            )
            await asyncio.gather(*(p.sync(http, [s.url for s in servers], until) for p in phones))
    finally:
        for server in servers:
            server.stop()
    connection = await asyncpg.connect(url)
    rows = await connection.fetch("SELECT id, COUNT(*) FROM ledger_event GROUP BY id")
    await connection.close()
    stored = {str(r[0]): r[1] for r in rows if str(r[0]) not in before}
    created = set().union(*(p.created for p in phones))
    lost = len(created - set(stored))
    doubled = sum(n - 1 for n in stored.values() if n > 1)
    unexpected = len(set(stored) - created)
    failures = sorted(t for p in phones for t in p.failures)
    window = (failures[-1] - failures[0]) if failures else 0.0
    verify = run(env, "verify").stdout.strip()
    print(f"restarts: {len(restarts)} (each {max(restarts):.1f} s at most); failed requests "
          f"{len(failures)} spread over {window:.1f} s; outboxes left: "
          f"{sum(len(p.outbox) for p in phones)}")  # fmt: skip
    print(f"failures by kind: {dict(FAILURE_KINDS)}")
    print(f"ledger: lost={lost} dup={doubled} unexpected={unexpected}; {verify}")
    admin = await asyncpg.connect(args.database_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()
    return 0 if lost == doubled == unexpected == 0 and "verifies" in verify else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
