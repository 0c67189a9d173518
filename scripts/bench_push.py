#!/usr/bin/env python3
"""Push benchmark: the check-in reminder job for 1,000 keepers with one Web Push subscription each,
against a push service on loopback, through the real code (inbox items, pywebpush encryption and
VAPID signing, delivery log). In the same run, two baselines: encryption + signing alone (the CPU
floor of a send) and bare HTTP POSTs to the same loopback service (its own ceiling).

Prints sends/s for each and the ratios. Usage:
    .venv/bin/python scripts/bench_push.py                   # SQLite in a temp dir
    .venv/bin/python scripts/bench_push.py --database-url postgresql://postgres@127.0.0.1:5432/test
(for PostgreSQL a fresh database is created next to the one named, and dropped afterwards)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def configure(database_url: str | None) -> tuple[str, str | None]:
    """Environment first: Piccolo and the settings read it when the backend is imported."""
    data_dir = tempfile.mkdtemp(prefix="cunzhan-bench-push-")
    os.environ.update(
        PICCOLO_CONF="backend.piccolo_conf",
        CUNZHAN_DATA_DIR=data_dir,
        CUNZHAN_SCHEDULER="0",
        CUNZHAN_PUSH_ALLOW_HTTP="1",
        CUNZHAN_LOG_LEVEL="WARNING",
    )
    fresh_pg = None
    if database_url:
        fresh_pg = f"bench_push_{uuid.uuid4().hex[:10]}"
        os.environ["CUNZHAN_DATABASE_URL"] = f"{database_url.rsplit('/', 1)[0]}/{fresh_pg}"
    else:
        os.environ["CUNZHAN_DATABASE_URL"] = f"sqlite:///{data_dir}/bench.db"
    return os.environ["CUNZHAN_DATABASE_URL"], fresh_pg


async def admin_sql(base_url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(base_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def build_county(keepers: int, push_url: str):
    """One county, `keepers` stations with a keeper each, one subscription per keeper."""
    from backend import db
    from backend.notify import subscriptions
    from backend.registry import service as registry
    from backend.registry.schemas import CountyCreate, TownshipCreate, VillageCreate
    from tests.push_fakes import FakeBrowser

    county = await registry.create_county(
        None, CountyCreate(name="压测县", code="BENCH", timezone="Asia/Shanghai")
    )
    township = await registry.create_township(None, county.id, TownshipCreate(name="压测镇"))
    village = await registry.create_village(
        None, county.id, VillageCreate(township_id=township.id, name="压测村")
    )
    browsers, stations, users = [], [], []
    for n in range(keepers):
        station_id, user_id = uuid.uuid4(), uuid.uuid4()
        stations.append((station_id, county.id, township.id, village.id, f"站{n}", f"B{n:05d}"))
        users.append((user_id, f"139{n:08d}", f"站长{n}", "-", "keeper", county.id, station_id))
        browsers.append((user_id, FakeBrowser(push_url)))
    async with db.write_transaction():
        await db.executemany(
            "INSERT INTO registry_station (id, county, township, village, name, code) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            stations,
        )
        await db.executemany(
            "INSERT INTO accounts_user (id, phone, name, password_hash, role, county, station) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            users,
        )
    for user_id, browser in browsers:
        sub = browser.subscription()
        await subscriptions.save_subscription(
            user_id,
            endpoint=sub["endpoint"],
            p256dh=sub["keys"]["p256dh"],
            auth=sub["keys"]["auth"],
            device_id="bench",
        )
    return county, browsers


async def encryption_only(browsers, payload: bytes) -> float:
    """What every send must do on the CPU: aes128gcm encryption and a VAPID signature."""
    from pywebpush import WebPusher

    from backend.notify.channels import vapid_claims
    from backend.notify.keys import vapid_pair
    from backend.settings import get_settings

    pair = await vapid_pair(get_settings())
    started = time.perf_counter()
    for _, browser in browsers:
        info = browser.subscription()
        WebPusher(info).encode(payload, "aes128gcm")
        pair.vapid.sign(vapid_claims(info["endpoint"], "mailto:bench@cunzhan.invalid"))
    return len(browsers) / (time.perf_counter() - started)


async def bare_posts(browsers, concurrency: int) -> float:
    """The loopback push service's ceiling: unencrypted POSTs at the same concurrency."""
    import aiohttp

    gate = asyncio.Semaphore(concurrency)
    body = os.urandom(300)

    async def one(session, endpoint):
        async with gate, session.post(endpoint, data=body, headers={"ttl": "60"}) as response:
            await response.read()

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session, browser.endpoint) for _, browser in browsers))
        return len(browsers) / (time.perf_counter() - started)


async def reminder_job(county_id, server) -> tuple[float, dict]:
    """The real `checkin-reminder` job at the county's reminder hour this week."""
    from backend.jobs.checkin import reminder_window, send_checkin_reminders
    from backend.settings import get_settings

    now = datetime.datetime.now(datetime.UTC)
    window = reminder_window("Asia/Shanghai", 1, 9, now)
    at = window.first_at.astimezone(datetime.UTC) + datetime.timedelta(minutes=1)
    before = len(server.requests)
    started = time.perf_counter()
    counts = await send_checkin_reminders(get_settings(), at)
    elapsed = time.perf_counter() - started
    return (len(server.requests) - before) / elapsed, counts


async def batch_notify(browsers, server) -> float:
    """`notify_users` for all keepers at once (one transaction, pushes overlapping)."""
    from backend.notify import service
    from backend.settings import get_settings

    before = len(server.requests)
    started = time.perf_counter()
    await service.notify_users(
        get_settings(),
        [user_id for user_id, _ in browsers],
        kind="reminder",
        title_key="notify.checkin.title",
        body_key="notify.checkin.body",
        params={"week": "2026-11-30"},
        url="/app/#/home",
        dedupe_key=f"bench:{uuid.uuid4().hex[:8]}",
    )
    return (len(server.requests) - before) / (time.perf_counter() - started)


async def delivered_count() -> dict[str, int]:
    from backend import db

    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT status, COUNT(*) AS n FROM notify_delivery WHERE channel = 'push' "
            "GROUP BY status"
        )
    return {row["status"]: int(row["n"]) for row in rows}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (else SQLite)")
    parser.add_argument("--keepers", type=int, default=1000)
    args = parser.parse_args()
    database_url, fresh_pg = configure(args.database_url)
    if fresh_pg:
        await admin_sql(args.database_url, f'CREATE DATABASE "{fresh_pg}"')
    from backend import db, runtime
    from backend.migrations import migrate
    from backend.notify.channels import PROVIDER_TIMEOUT_S  # noqa: F401 (imports the stack)
    from backend.notify.pushes import PUSH_CONCURRENCY
    from tests.push_fakes import LoopbackServer

    engine = "PostgreSQL" if fresh_pg else "SQLite"
    try:
        await db.start()
        await migrate()
        async with runtime.running():
            with LoopbackServer() as server:
                print(f"building a county of {args.keepers} keepers with one subscription each…")
                county, browsers = await build_county(args.keepers, server.url)
                payload = json.dumps(
                    {"title": "本周还没打卡", "body": "x" * 60, "url": "/app/#/home", "tag": "t"},
                    ensure_ascii=False,
                ).encode()
                crypto = await encryption_only(browsers, payload)
                ceiling = await bare_posts(browsers, PUSH_CONCURRENCY)
                job_rate, counts = await reminder_job(county.id, server)
                before = len(server.requests)
                started = time.perf_counter()
                await reminder_job(county.id, server)  # again, same window: nothing is owed
                rerun_s, rerun_sends = time.perf_counter() - started, len(server.requests) - before
                batch_rate = await batch_notify(browsers, server)
                statuses = await delivered_count()
        print(f"engine: {engine} ({database_url})")
        print(f"reminder job counts: {counts}; push deliveries logged: {statuses}")
        print(f"checkin-reminder job, {args.keepers} subscriptions: {job_rate:8.1f} sends/s")
        print(f"the same job again in its window: {rerun_sends} sends, {rerun_s:.2f} s")
        print(f"notify_users batch, {args.keepers} subscriptions:   {batch_rate:8.1f} sends/s")
        print(f"baseline: encryption + VAPID signing only:        {crypto:8.1f} sends/s")
        print(f"baseline: bare POSTs to the loopback service:      {ceiling:8.1f} sends/s")
        print(
            f"ratios: job / encryption = {job_rate / crypto:.2f}, job / bare POST = "
            f"{job_rate / ceiling:.2f}, batch / bare POST = {batch_rate / ceiling:.2f}"
        )
    finally:
        await db.stop()
        if fresh_pg:
            await admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{fresh_pg}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
