#!/usr/bin/env python3
"""Ingest benchmark: 20,000 events through the real HTTP sync API in batches of 500, and, in the
same run, the same rows inserted raw with executemany into a bare table on the same engine.

Prints events/s for both and their ratio. Usage:
    .venv/bin/python scripts/bench_ingest.py                       # SQLite in a temp dir
    .venv/bin/python scripts/bench_ingest.py --database-url postgresql://postgres@127.0.0.1:5432/test
(for PostgreSQL a fresh database is created next to the one named, and dropped afterwards)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.server_process import Server, environment, run

PHONE, PASSWORD = "13800000001", "demo1234"


def make_events(count: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    base = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    events = []
    for n in range(count):
        moment = (base - datetime.timedelta(seconds=count - n)).isoformat()
        kind = n % 4
        if kind == 0:
            data = {"tracking_no": f"SF{rng.randrange(10**13):013d}", "carrier": "SF",
                    "recipient_phone": f"138{rng.randrange(10**8):08d}"}  # fmt: skip
            event_type = "parcel.received"
        elif kind == 1:
            data = {"service": "phone_topup", "amount_fen": rng.randrange(100, 10000), "fee_fen": 0}
            event_type = "service.recorded"
        elif kind == 2:
            data = {"product": "核桃", "quantity": rng.randrange(1, 40), "unit": "斤",
                    "amount_fen": rng.randrange(100, 90000), "commission_fen": 100,
                    "channel": "拼多多"}  # fmt: skip
            event_type = "sale.recorded"
        else:
            data = {"tracking_no": f"JT{rng.randrange(10**13):013d}", "carrier": "JT",
                    "weight_g": 2500, "fee_fen": 1000, "destination": "杭州市",
                    "farm_product": True}  # fmt: skip
            event_type = "parcel.dispatched"
        events.append({"id": str(uuid.uuid4()), "type": event_type, "occurred_at": moment,
                       "data": data})  # fmt: skip
    return events


def push_all(server: Server, events: list[dict], batch: int) -> float:
    with httpx.Client(timeout=60) as http:
        token = http.post(
            f"{server.url}/api/v1/auth/login", json={"phone": PHONE, "password": PASSWORD}
        ).json()["token"]
        headers = {"authorization": f"Bearer {token}"}
        device = str(uuid.uuid4())
        began = time.perf_counter()
        for start in range(0, len(events), batch):
            response = http.post(
                f"{server.url}/api/v1/sync",
                json={"device_id": device, "events": events[start : start + batch]},
                headers=headers,
            )
            response.raise_for_status()
            refused = [r for r in response.json()["results"] if r["status"] != "accepted"]
            assert not refused, refused[:1]
        return time.perf_counter() - began


RAW_COLUMNS = (
    "id TEXT PRIMARY KEY, station TEXT, county TEXT, seq INTEGER, device_id TEXT, keeper TEXT, "
    "type TEXT, occurred_at TEXT, received_at TEXT, business_date TEXT, data TEXT, "
    "server_data TEXT, content_hash TEXT, prev_hash TEXT, hash TEXT"
)


def raw_rows(events: list[dict]) -> list[tuple]:
    station, county, keeper, device = (str(uuid.uuid4()) for _ in range(4))
    now = datetime.datetime.now(datetime.UTC).isoformat()
    return [
        (e["id"], station, county, n, device, keeper, e["type"], e["occurred_at"], now,
         now[:10], json.dumps(e["data"], ensure_ascii=False), "{}", "0" * 64, "0" * 64, "0" * 64)
        for n, e in enumerate(events, start=1)
    ]  # fmt: skip


def raw_sqlite(path: str, rows: list[tuple], batch: int) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute(f"CREATE TABLE bench_raw ({RAW_COLUMNS})")
    placeholders = ", ".join("?" * 15)
    began = time.perf_counter()
    for start in range(0, len(rows), batch):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            f"INSERT INTO bench_raw VALUES ({placeholders})", rows[start : start + batch]
        )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - began
    connection.close()
    return elapsed


async def raw_postgres(url: str, rows: list[tuple], batch: int) -> float:
    import asyncpg

    connection = await asyncpg.connect(url)
    await connection.execute(f"CREATE TABLE bench_raw ({RAW_COLUMNS})")
    placeholders = ", ".join(f"${i}" for i in range(1, 16))
    began = time.perf_counter()
    for start in range(0, len(rows), batch):
        async with connection.transaction():
            await connection.executemany(
                f"INSERT INTO bench_raw VALUES ({placeholders})", rows[start : start + batch]
            )
    elapsed = time.perf_counter() - began
    await connection.close()
    return elapsed


async def admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    await connection.execute(statement)
    await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-bench-"))
    postgres = args.database_url.startswith("postgresql://")
    if postgres:
        name = f"cunzhan_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(admin(args.database_url, f'CREATE DATABASE "{name}"'))
        url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{workdir}/bench.db"
    env = environment(workdir / "data", url, CUNZHAN_LOG_LEVEL="WARNING")
    try:
        run(env, "migrate", "--quiet")
        run(env, "demo")
        server = Server(env)
        server.start()
        events = make_events(args.events)
        try:
            api_seconds = push_all(server, events, args.batch)
        finally:
            server.stop()
        rows = raw_rows(make_events(args.events, seed=2))
        if postgres:
            raw_seconds = asyncio.run(raw_postgres(url, rows, args.batch))
        else:
            raw_seconds = raw_sqlite(str(workdir / "raw.db"), rows, args.batch)
    finally:
        if postgres:
            asyncio.run(admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    api_rate = args.events / api_seconds
    raw_rate = args.events / raw_seconds
    engine = "PostgreSQL" if postgres else "SQLite"
    print(f"engine: {engine}; {args.events} events in batches of {args.batch}")
    print(f"through the HTTP sync API: {api_seconds:6.2f} s  {api_rate:8.0f} events/s")
    print(f"raw executemany, bare table: {raw_seconds:6.2f} s  {raw_rate:8.0f} events/s")
    print(f"API / raw: {api_rate / raw_rate:.3f}  (raw is {raw_rate / api_rate:.1f}x faster)")


if __name__ == "__main__":
    main()
