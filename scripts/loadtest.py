#!/usr/bin/env python3
"""Load test: N station phones recording and syncing with the real protocol, plus county staff
reading, against a real `cunzhan serve` on loopback. At the end it checks that the server holds
exactly the entries the phones created, once each, and that every hash chain verifies.

    .venv/bin/python scripts/loadtest.py                                  # SQLite, one process
    .venv/bin/python scripts/loadtest.py --database-url postgresql://postgres@127.0.0.1:5432/test \
        --workers 3                                                       # PostgreSQL, 3 processes
Options: --devices 300 --duration 60 --retry-share 0.1 --staff 5

Each phone keeps an outbox, records an entry every few seconds (parcel receipts and pickups,
dispatches, top-ups, sales, purchases), pushes its outbox every few seconds, resends 10 % of its
batches as if the answer had been lost, and pulls its station's events now and then.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.server_process import Server, environment, run
from tests.support import event, received, tracking

STAFF_PHONE, PASSWORD = "13900000001", "demo1234"


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.retries = 0
        self.lost_answers = 0
        self.kills = 0
        self.flood_window: tuple[float, float] | None = None
        self.push_times: list[tuple[float, float]] = []  # (when, seconds)

    async def timed(self, kind: str, call):
        began = time.perf_counter()
        try:
            response = await call
        except httpx.HTTPError as exc:
            self.errors[f"{kind}: {type(exc).__name__}"] += 1
            return None
        self.latency[kind].append(time.perf_counter() - began)
        if kind == "sync push":
            self.push_times.append((time.monotonic(), time.perf_counter() - began))
        if response.status_code >= 400:
            self.errors[f"{kind}: HTTP {response.status_code}"] += 1
            return None
        return response


class Phone:
    def __init__(self, phone: str, token: str, station_id: str, rng: random.Random):
        self.phone = phone
        self.headers = {"authorization": f"Bearer {token}"}
        self.station_id = station_id
        self.rng = rng
        self.device_id = str(uuid.uuid4())
        self.outbox: dict[str, dict] = {}
        self.created: set[str] = set()
        self.shelf: list[tuple[str, str]] = []
        self.open_orders: list[str] = []
        self.cursor = "0"

    def record(self) -> None:
        roll = self.rng.random()
        if roll < 0.35:
            entry = received(tracking_no=tracking("SF"), pickup_code=f"P{len(self.created)}")
            self.shelf.append((entry["data"]["tracking_no"], entry["data"]["pickup_code"]))
        elif roll < 0.6 and self.shelf:
            number, code = self.shelf.pop(0)
            entry = event("parcel.picked_up", {"tracking_no": number, "pickup_code": code})
        elif roll < 0.7:
            entry = event(
                "parcel.dispatched",
                {
                    "tracking_no": tracking("JT"),
                    "carrier": "JT",
                    "weight_g": 3000,
                    "fee_fen": 1200,
                    "destination": "杭州市",
                    "farm_product": True,
                },
            )
        elif roll < 0.8:
            entry = event(
                "purchase.ordered",
                {
                    "platform": "pinduoduo",
                    "item": "电饭煲",
                    "amount_fen": 15900,
                    "commission_fen": 300,
                },
            )
            self.open_orders.append(entry["id"])
        elif roll < 0.85 and self.open_orders:
            entry = event("purchase.delivered", {"purchase_id": self.open_orders.pop(0)})
        elif roll < 0.93:
            entry = event(
                "service.recorded",
                {
                    "service": "phone_topup",
                    "amount_fen": self.rng.choice([3000, 5000]),
                    "fee_fen": 0,
                },
            )
        else:
            entry = event(
                "sale.recorded",
                {
                    "product": "核桃",
                    "quantity": 10,
                    "unit": "斤",
                    "amount_fen": 22000,
                    "commission_fen": 1100,
                    "channel": "拼多多",
                },
            )
        self.outbox[entry["id"]] = entry
        self.created.add(entry["id"])

    async def push(
        self, http: httpx.AsyncClient, url: str, stats: Stats, retry: bool, lose: bool = False
    ) -> None:
        batch = list(self.outbox.values())[:200]
        if not batch:
            return
        body = {"device_id": self.device_id, "events": batch}
        response = await stats.timed(
            "sync push", http.post(f"{url}/api/v1/sync", json=body, headers=self.headers)
        )
        if retry:  # as if the answer was lost: the phone sends the same batch again
            stats.retries += 1
            response = await stats.timed(
                "sync push", http.post(f"{url}/api/v1/sync", json=body, headers=self.headers)
            )
        if response is None:
            return
        if lose:  # S1: committed on the server, the answer lost on the way back
            stats.lost_answers += 1
            return
        for result in response.json()["results"]:
            if result["status"] in ("accepted", "duplicate"):
                self.outbox.pop(result["id"], None)
            elif result["status"] == "conflict":
                stats.errors["conflict"] += 1

    async def pull(self, http: httpx.AsyncClient, url: str, stats: Stats) -> None:
        response = await stats.timed(
            "sync pull", http.get(f"{url}/api/v1/sync?since={self.cursor}", headers=self.headers)
        )
        if response is not None:
            self.cursor = response.json()["cursor"]


async def phone_loop(phone: Phone, http, url, stats, until: float, args) -> None:
    rng = phone.rng
    await asyncio.sleep(rng.uniform(0, 5))  # phones do not all wake at once
    next_push = time.monotonic() + rng.uniform(3, 8)
    while time.monotonic() < until:
        phone.record()
        if time.monotonic() >= next_push:
            await phone.push(
                http,
                url,
                stats,
                retry=rng.random() < args.retry_share,
                lose=rng.random() < args.lose_answers,
            )
            if rng.random() < 0.2:
                await phone.pull(http, url, stats)
            next_push = time.monotonic() + rng.uniform(3, 8)
        await asyncio.sleep(rng.uniform(1, 4))


async def killer(server: Server, stats: Stats, until: float, every: float) -> None:
    """L2: SIGKILL the server every `every` seconds and start it again."""
    while every and time.monotonic() + every < until:
        await asyncio.sleep(every)
        server.kill()
        stats.kills += 1
        await asyncio.to_thread(server.start)


FLOOD_SCRIPT = """
import asyncio, sys, httpx
async def main(url, count):
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=count)) as http:
        await asyncio.gather(*(http.post(f"{url}/api/v1/auth/login",
            json={"phone": f"1330{n:07d}", "password": "not-the-password"}) for n in range(count)))
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def login_flood(url: str, stats: Stats, until: float, count: int) -> None:
    """L3: `count` wrong-password logins at once, half-way through the run, from another
    process (as an attacker would be), so the phones' own client is not what slows down."""
    if not count:
        return
    await asyncio.sleep(max(0.0, (until - time.monotonic()) / 2))
    began = time.monotonic()
    attacker = await asyncio.create_subprocess_exec(sys.executable, "-c", FLOOD_SCRIPT, url,
                                                    str(count))  # fmt: skip
    await attacker.wait()
    stats.flood_window = (began, time.monotonic())


async def staff_loop(headers, county_id, stations, http, url, stats, until, rng) -> None:
    while time.monotonic() < until:
        station = rng.choice(stations)
        await stats.timed(
            "staff reads", http.get(f"{url}/api/v1/stations/{station}/summary", headers=headers)
        )
        await stats.timed(
            "staff reads", http.get(f"{url}/api/v1/counties/{county_id}/stations", headers=headers)
        )
        await stats.timed("county page", http.get(f"{url}/county/", headers=headers))
        await asyncio.sleep(rng.uniform(0.5, 2))


async def provision(
    http: httpx.AsyncClient,
    url: str,
    devices: int,
    rng,
    staff_login=(STAFF_PHONE, PASSWORD),
    phone_prefix: str = "1370",
) -> tuple:
    """One station and keeper per phone, created by staff (the demo's, unless `staff_login`
    names another: phone, password) through the API; the keepers' phones are `phone_prefix`
    and seven digits."""
    phone, password = staff_login
    staff = (
        await http.post(f"{url}/api/v1/auth/login", json={"phone": phone, "password": password})
    ).json()
    headers = {"authorization": f"Bearer {staff['token']}"}
    county = staff["user"]["county_id"]
    villages = (await http.get(f"{url}/api/v1/counties/{county}/villages", headers=headers)).json()
    semaphore = asyncio.Semaphore(8)

    async def one(n: int) -> Phone:
        async with semaphore:
            station = (
                await http.post(
                    f"{url}/api/v1/counties/{county}/stations",
                    json={
                        "village_id": rng.choice(villages)["id"],
                        "name": f"压测站{n}",
                        "code": f"LT{n:04d}",
                    },
                    headers=headers,
                )
            ).json()
            phone = f"{phone_prefix}{n:07d}"
            created = await http.post(
                f"{url}/api/v1/counties/{county}/users",
                json={
                    "phone": phone,
                    "name": f"压测{n}",
                    "password": PASSWORD,
                    "station_id": station["id"],
                },
                headers=headers,
            )
            created.raise_for_status()
            login = (
                await http.post(
                    f"{url}/api/v1/auth/login", json={"phone": phone, "password": PASSWORD}
                )
            ).json()
            return Phone(phone, login["token"], station["id"], random.Random(n))

    phones = await asyncio.gather(*(one(n) for n in range(devices)))
    return phones, headers, county


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_pids(server: Server) -> list[int]:
    """The serve process and, with --workers, its worker children."""
    pids = [server.process.pid]
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return pids


async def stored_counts(url: str) -> dict[str, int]:
    query = "SELECT id, COUNT(*) FROM ledger_event GROUP BY id"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            return {str(row[0]): row[1] for row in connection.execute(query)}
    import asyncpg

    connection = await asyncpg.connect(url)
    rows = await connection.fetch(query)
    await connection.close()
    return {str(row[0]): row[1] for row in rows}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


async def main_async(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-load-"))
    postgres = args.database_url.startswith("postgresql://")
    if postgres:
        import asyncpg

        name = f"cunzhan_load_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.database_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{workdir}/load.db"
    env = environment(
        workdir / "data",
        url,
        CUNZHAN_LOG_LEVEL="WARNING",
        CUNZHAN_DEMO_HISTORY_DAYS=str(args.history_days),
    )
    run(env, "migrate", "--quiet")
    run(env, "demo", timeout=600)
    baseline = set(await stored_counts(url))  # the demo's own history
    server = Server(env, extra_args=["--workers", str(args.workers)])
    server.start()
    rng = random.Random(1)
    stats = Stats()
    rss_samples: list[float] = []
    try:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            phones, staff_headers, county = await provision(http, server.url, args.devices, rng)
            print(f"provisioned {len(phones)} stations and phones; running {args.duration} s")
            until = time.monotonic() + args.duration
            stations = [p.station_id for p in phones]

            async def sample_rss() -> None:
                while time.monotonic() < until:
                    rss_samples.append(max(rss_mb(pid) for pid in server_pids(server)))
                    await asyncio.sleep(1)

            began = time.monotonic()
            await asyncio.gather(
                sample_rss(),
                *(phone_loop(p, http, server.url, stats, until, args) for p in phones),
                killer(server, stats, until, args.kill_every),
                login_flood(server.url, stats, until, args.login_flood),
                *(
                    staff_loop(
                        staff_headers,
                        county,
                        stations,
                        http,
                        server.url,
                        stats,
                        until,
                        random.Random(100 + n),
                    )
                    for n in range(args.staff)
                ),
            )
            elapsed = time.monotonic() - began
            for phone in phones:  # the network heals: drain every outbox
                for _ in range(20):
                    if not phone.outbox:
                        break
                    await phone.push(http, server.url, stats, retry=False)
    finally:
        server.stop()
    stored = await stored_counts(url)
    created = set().union(*(p.created for p in phones))
    lost = len(created - set(stored))
    doubled = sum(n - 1 for n in stored.values() if n > 1)
    unexpected = len(set(stored) - created - baseline)
    verify = run(env, "verify")
    requests = sum(len(v) for v in stats.latency.values())
    engine = f"PostgreSQL, {args.workers} processes" if postgres else "SQLite, 1 process"
    print(f"\nengine: {engine}; {args.devices} phones, {args.staff} staff, {elapsed:.0f} s")
    print(
        f"requests: {requests} ({requests / elapsed:.1f}/s); entries created: {len(created)} "
        f"({len(created) / elapsed:.1f}/s); resends: {stats.retries}"
    )
    for kind, values in sorted(stats.latency.items()):
        print(
            f"  {kind:12s} n={len(values):6d}  p50={percentile(values, 0.5):7.1f} ms  "
            f"p95={percentile(values, 0.95):7.1f} ms  p99={percentile(values, 0.99):7.1f} ms"
        )
    print(f"errors: {dict(stats.errors) or 0}")
    if stats.kills or stats.lost_answers:
        print(f"faults: {stats.kills} server kills, {stats.lost_answers} answers lost after commit")
    if stats.flood_window:
        start, end = stats.flood_window
        during = [t for when, t in stats.push_times if start <= when <= end + 1]
        print(
            f"login flood: {args.login_flood} wrong logins in {end - start:.1f} s; sync push "
            f"p95 during it {percentile(during, 0.95):.1f} ms (n={len(during)})"
        )
    print(
        f"server RSS: max {max(rss_samples):.0f} MB, median {statistics.median(rss_samples):.0f} MB"
        " (per process)"
    )
    print(f"ledger: lost={lost} dup={doubled} unexpected={unexpected}; {verify.stdout.strip()}")
    # With faults injected, errors are expected; the ledger must still be exact.
    ok = (not stats.errors or stats.kills) and lost == doubled == unexpected == 0
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--staff", type=int, default=5)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--retry-share", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--history-days", type=int, default=0)
    parser.add_argument("--kill-every", type=float, default=0, help="L2: SIGKILL every N s")
    parser.add_argument("--lose-answers", type=float, default=0, help="L2: share of answers lost")
    parser.add_argument("--login-flood", type=int, default=0, help="L3: wrong logins at once")
    parser.add_argument("--database-url", default="")
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
