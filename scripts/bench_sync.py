#!/usr/bin/env python3
"""Issue 17's side-by-side table in one run: the project's sync API against a bare Litestar +
msgspec + SQLite append-only endpoint (scripts/bare_sync.py) and a raw `executemany`.

    .venv/bin/python scripts/bench_sync.py                 # project on SQLite, everything
    .venv/bin/python scripts/bench_sync.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python scripts/bench_sync.py --staff 5       # with 5 county staff reading pages
    .venv/bin/python scripts/bench_sync.py --history DIR/bench.db   # beside a county's year
    .venv/bin/python scripts/bench_sync.py --staff 5 --staff-pages dashboard   # one page's share

Loads, each against the project and then the bare endpoint (each server alone on the machine):
- phones: 300 phones, each pushing 20 new events every 4–6 s for 30 s (≈ 1,200 events/s);
  p50/p95/p99 of a push, errors; at the end lost (acknowledged but not stored) and duplicated ids;
- capacity: 50 phones pushing 20 events in a closed loop for 10 s (events/s);
- bulk: one phone pushing 20,000 events in batches of 500 (events/s);
and the same 20,000 rows into a bare table by raw `executemany`, 500 per transaction (the floor).
Every ratio is against the bare endpoint measured in the same run; `uptime`'s load average is
printed beside each phase, since the machine may be shared. Loopback only; every loop is bounded
in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_county  # noqa: E402  (its county's staff login, for --history)
import loadtest  # noqa: E402  (scripts/loadtest.py: provisioning and the phones' entries)
from bench_ingest import make_events, raw_rows, raw_sqlite  # noqa: E402
from bench_sync_report import load, pct, print_table, summarise  # noqa: E402

from tests.server_process import Server, environment, free_port, run  # noqa: E402

MAX_DRAIN_ROUNDS = 20


def _stat_cpu(stat: Path) -> float:
    """User + system CPU seconds from a process's or a thread's `stat` file."""
    fields = stat.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the server processes have used so far."""
    return sum(_stat_cpu(Path(f"/proc/{pid}/stat")) for pid in pids)


def loop_cpu_seconds(pids: list[int]) -> float:
    """The same, of the servers' main threads only: the event loop, which bounds capacity (the
    rest is SQLite's threads: statements, commits, fsync)."""
    return sum(_stat_cpu(Path(f"/proc/{pid}/task/{pid}/stat")) for pid in pids)


def thread_cpu_seconds(pids: list[int]) -> dict[tuple[int, int], float]:
    """CPU of each thread of the servers but their main ones, by (process, thread)."""
    found = {}
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            tid = int(task.name)
            if tid == pid:
                continue
            try:
                found[(pid, tid)] = _stat_cpu(task / "stat")
            except OSError:  # the thread ended meanwhile
                continue
    return found


def busiest_thread(before: dict[tuple[int, int], float], pids: list[int]) -> float:
    """The CPU of the busiest other thread since `before`: SQLite's writer connection (a push
    group's judging and writing run whole in it, one group at a time: the serial path)."""
    after = thread_cpu_seconds(pids)
    return max((v - before.get(k, 0.0) for k, v in after.items()), default=0.0)


class Target:
    """Where pushes go: the project's /api/v1/sync with a keeper's token, or the bare endpoint."""

    def __init__(self, name: str, url: str, path: str, phones: list[loadtest.Phone], pids=()):
        self.name, self.url, self.path, self.phones = name, url, path, phones
        self.pids = list(pids)
        self.acked: set[str] = set()
        self.created: set[str] = set()


class Phase:
    def __init__(self) -> None:
        self.latency: list[float] = []
        self.errors: dict[str, int] = defaultdict(int)
        self.events = 0


async def push(http: aiohttp.ClientSession, target: Target, phone, phase: Phase, limit=500):
    batch = list(phone.outbox.values())[:limit]
    if not batch:
        return
    body = json.dumps({"device_id": phone.device_id, "events": batch}, ensure_ascii=False)
    headers = {**phone.headers, "content-type": "application/json"}
    began = time.perf_counter()
    try:
        async with http.post(target.url + target.path, data=body, headers=headers) as response:
            payload = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        phase.errors[type(exc).__name__] += 1
        return
    phase.latency.append(time.perf_counter() - began)
    if status >= 400:
        phase.errors[f"HTTP {status}"] += 1
        return
    for result in json.loads(payload)["results"]:
        if result["status"] in ("accepted", "duplicate"):
            phone.outbox.pop(result["id"], None)
            target.acked.add(result["id"])
            phase.events += result["status"] == "accepted"
        else:
            phase.errors[result["status"]] += 1


def record(phone, target: Target, count: int) -> None:
    for _ in range(count):
        phone.record()
    target.created.update(phone.outbox)


async def phones_phase(http, target: Target, args) -> Phase:
    phase = Phase()
    until = time.monotonic() + args.duration

    async def one(phone) -> None:
        rng = phone.rng
        await asyncio.sleep(rng.uniform(0, args.every))
        while time.monotonic() < until:
            record(phone, target, args.per_push)
            await push(http, target, phone, phase)
            await asyncio.sleep(rng.uniform(args.every - 1, args.every + 1))

    await asyncio.gather(*(one(phone) for phone in target.phones))
    return phase


async def capacity_phase(http, target: Target, args) -> tuple[Phase, float]:
    phase = Phase()
    began = time.monotonic()
    until = began + args.capacity_seconds

    async def one(phone) -> None:
        for _ in range(100_000):  # bounded; the clock ends it long before
            if time.monotonic() >= until:
                return
            record(phone, target, args.per_push)
            await push(http, target, phone, phase)

    await asyncio.gather(*(one(phone) for phone in target.phones[: args.concurrency]))
    return phase, time.monotonic() - began


async def bulk_phase(http, target: Target, phone, args) -> tuple[Phase, float]:
    phase = Phase()
    events = make_events(args.bulk, seed=11 if target.name == "project" else 12)
    began = time.monotonic()
    for start in range(0, len(events), args.bulk_batch):
        for entry in events[start : start + args.bulk_batch]:
            phone.outbox[entry["id"]] = entry
            target.created.add(entry["id"])
        await push(http, target, phone, phase)
    return phase, time.monotonic() - began


async def drain(http, target: Target) -> None:
    phase = Phase()
    for _ in range(MAX_DRAIN_ROUNDS):
        pending = [p for p in target.phones if p.outbox]
        if not pending:
            return
        await asyncio.gather(*(push(http, target, p, phase) for p in pending))


async def run_loads(target: Target, args, staff=None) -> dict:
    figures: dict = {}
    # Idle connections closed by the client before uvicorn closes them (5 s), or a push races
    # the server's close and fails as a disconnect that no phone would see as an error.
    connector = aiohttp.TCPConnector(limit=args.phones + 10, keepalive_timeout=2)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        print(f"[{target.name}] phones: {args.phones} × {args.per_push} events every ~{args.every}"
              f" s for {args.duration} s; {load()}", flush=True)  # fmt: skip
        readers = staff(http) if staff else None
        cpu, loop_cpu = cpu_seconds(target.pids), loop_cpu_seconds(target.pids)
        threads, client = thread_cpu_seconds(target.pids), time.process_time()
        phase = await phones_phase(http, target, args)
        figures["phones_client_cpu"] = time.process_time() - client
        if readers:
            readers.cancel()
            figures["staff"] = await asyncio.gather(readers, return_exceptions=True)
        figures["phones"] = phase
        figures["phones_cpu"] = cpu_seconds(target.pids) - cpu
        figures["phones_loop_cpu"] = loop_cpu_seconds(target.pids) - loop_cpu
        figures["phones_writer_cpu"] = busiest_thread(threads, target.pids)
        figures["phones_load"] = os.getloadavg()[0]
        print(f"[{target.name}] capacity: {args.concurrency} concurrent pushes of "
              f"{args.per_push}, {args.capacity_seconds} s; {load()}", flush=True)  # fmt: skip
        cpu, loop_cpu = cpu_seconds(target.pids), loop_cpu_seconds(target.pids)
        threads, client = thread_cpu_seconds(target.pids), time.process_time()
        figures["capacity"] = await capacity_phase(http, target, args)
        figures["capacity_client_cpu"] = time.process_time() - client
        figures["capacity_cpu"] = cpu_seconds(target.pids) - cpu
        figures["capacity_loop_cpu"] = loop_cpu_seconds(target.pids) - loop_cpu
        figures["capacity_writer_cpu"] = busiest_thread(threads, target.pids)
        figures["capacity_load"] = os.getloadavg()[0]
        print(f"[{target.name}] bulk: {args.bulk} events in batches of {args.bulk_batch}; "
              f"{load()}", flush=True)  # fmt: skip
        bulk_phone = target.phones[-1]
        cpu, loop_cpu = cpu_seconds(target.pids), loop_cpu_seconds(target.pids)
        threads, client = thread_cpu_seconds(target.pids), time.process_time()
        figures["bulk"] = await bulk_phase(http, target, bulk_phone, args)
        figures["bulk_client_cpu"] = time.process_time() - client
        figures["bulk_cpu"] = cpu_seconds(target.pids) - cpu
        figures["bulk_loop_cpu"] = loop_cpu_seconds(target.pids) - loop_cpu
        figures["bulk_writer_cpu"] = busiest_thread(threads, target.pids)
        figures["bulk_load"] = os.getloadavg()[0]
        await drain(http, target)
    return figures


def ledger_check(target: Target, stored: dict[str, int]) -> tuple[int, int, int]:
    lost = len(target.acked - set(stored))
    doubled = sum(n - 1 for n in stored.values() if n > 1)
    missing = len(target.created - set(stored))  # created but never stored (after the drain)
    return lost, doubled, missing


# The project --------------------------------------------------------------------------------


async def provision_project(url: str, phones: int, history: bool) -> tuple[list, dict, str]:
    """The phones' stations and keepers: in the demo county, or beside a history's (gen_county.py
    builds bench_county.py's county, with its staff login)."""
    county = bench_county if history else loadtest
    async with httpx.AsyncClient(timeout=120) as http:
        return await loadtest.provision(
            http, url, phones, random.Random(1), (county.STAFF_PHONE, county.PASSWORD)
        )


STAFF_PAGES = ("stations", "dashboard", "summary")


def staff_path(page: str, county: str, station: str) -> str:
    return {
        "stations": f"/api/v1/counties/{county}/stations",
        "dashboard": "/county/",
        "summary": f"/api/v1/stations/{station}/summary",
    }[page]


# What docs/deploy.md's proxy sends to the staff's own process (`--staff-process`).
STAFF_PROCESS_PATHS = ("/county", "/api/v1/counties", "/api/v1/townships/", "/api/v1/province")


async def staff_reader(
    http: aiohttp.ClientSession, urls, headers, county, stations, latency, pages=STAFF_PAGES
):
    """County staff reading pages beside the phones (each a page of `pages` at random), until
    cancelled. `urls`: the phones' server, and the staff's own (the same one, without
    `--staff-process`)."""
    rng = random.Random(7)
    phones_url, staff_url = urls
    for _ in range(1_000_000):
        path = staff_path(rng.choice(pages), county, rng.choice(stations))
        url = staff_url if path.startswith(STAFF_PROCESS_PATHS) else phones_url
        began = time.perf_counter()
        async with http.get(url + path, headers=headers) as response:
            await response.read()
        latency.append(time.perf_counter() - began)
        await asyncio.sleep(rng.uniform(0.5, 2))


def copy_history(source: Path, target: Path) -> None:
    """The project's database starts as a copy of `source` (its WAL folded in first): the phones'
    stations are added beside a county's year, so each push writes into indexes of millions."""
    began = time.monotonic()
    with sqlite3.connect(source) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)
    with open(target, "rb+") as copied:  # on disk before the phones: their fsyncs wait for it
        os.fsync(copied.fileno())
        while copied.read(1 << 24):  # and read once, as a server's page cache would hold it
            pass
    size = target.stat().st_size / 2**30
    print(f"history: {source} copied ({size:.1f} GiB) in {time.monotonic() - began:.0f} s")


async def project(args, workdir: Path) -> tuple[dict, Target, tuple, list[float]]:
    postgres = args.database_url.startswith("postgresql://")
    if postgres:
        import asyncpg

        name = f"cunzhan_sync_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.database_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{workdir}/project.db"
        if args.history:
            copy_history(Path(args.history), workdir / "project.db")
    env = environment(workdir / "data", url, CUNZHAN_LOG_LEVEL="WARNING",
                      CUNZHAN_API_RATE_LIMIT_PER_MINUTE="100000")  # fmt: skip
    rss: list[float] = []
    staff_rss: list[float] = []  # the staff's own process (--staff-process)
    try:
        run(env, "migrate", "--quiet")
        if not args.history:  # a history has its own county and staff
            run(env, "demo", timeout=600)
        server = Server(env, extra_args=["--workers", str(args.workers)])
        server.start(timeout=180)  # a busy shared machine can take a while
        # The staff's own process on the same database (docs/deploy.md's proxy sends it the
        # county's paths), so their pages' Python never holds the phones' process's interpreter.
        staff_server = Server(env) if args.staff_process else server
        spy = None
        try:
            if args.staff_process:
                staff_server.start(timeout=180)
            phones, staff_headers, county = await provision_project(
                server.url, args.phones, bool(args.history)
            )
            pids = loadtest.server_pids(server)
            target = Target("project", server.url, "/api/v1/sync", phones, pids)
            print(f"server RSS after provisioning: {max(map(loadtest.rss_mb, pids)):.0f} MB")
            staff_latency: list[float] = []
            stop = asyncio.Event()

            async def sample_rss() -> None:
                for _ in range(100_000):
                    if stop.is_set():
                        return
                    try:
                        rss.append(max(map(loadtest.rss_mb, loadtest.server_pids(server))))
                        if args.staff_process:
                            staff_rss.append(loadtest.rss_mb(staff_server.process.pid))
                    except FileNotFoundError:  # the server has ended: its run fails elsewhere
                        return
                    await asyncio.sleep(0.5)

            def staff(http):
                stations = [p.station_id for p in phones]
                return asyncio.gather(*(
                    staff_reader(
                        http, (server.url, staff_server.url), staff_headers, county, stations,
                        staff_latency,
                        args.staff_pages,
                    )
                    for _ in range(args.staff)
                ))  # fmt: skip

            sampler = asyncio.create_task(sample_rss())
            if args.profile:  # py-spy on the server for the phones and capacity phases
                seconds = str(args.profile_seconds or args.duration + args.capacity_seconds)
                command = [
                    "py-spy",
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--rate",
                    "200",
                    "--duration",
                    seconds,
                    "--format",
                    "raw",
                    "--threads",  # each stack under its thread: the loop's apart from SQLite's
                    "-o",
                    args.profile,
                    *(["--native"] if args.profile_native else []),
                ]
                spy = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # fmt: skip
            figures = await run_loads(target, args, staff if args.staff else None)
            figures["staff_latency"] = staff_latency
            stop.set()
            await sampler
        finally:
            if spy:
                spy.wait(timeout=args.profile_seconds + args.duration + args.capacity_seconds + 60)
            server.stop()
            if args.staff_process:
                staff_server.stop()
        stored = await loadtest.stored_counts(url)
        verify = run(env, "verify", timeout=1800 if args.history else 180).stdout.strip()
    finally:
        if postgres:
            admin = await asyncpg.connect(args.database_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    if staff_rss:
        print(f"staff process RSS: max {max(staff_rss):.0f} MB")
    return figures, target, (*ledger_check(target, stored), verify), rss


# The bare endpoint ---------------------------------------------------------------------------


async def bare(args, workdir: Path) -> tuple[dict, Target, tuple]:
    path = workdir / "bare.db"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "bare_sync.py"), "--port", str(port),
         "--database", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.post(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        phones = [
            loadtest.Phone(f"1370{n:07d}", f"bare-{n}", str(uuid.uuid4()), random.Random(n))
            for n in range(args.phones)
        ]
        target = Target("bare", url, "/sync", phones, [process.pid])
        figures = await run_loads(target, args)
    finally:
        process.terminate()
        process.wait(timeout=15)
    with sqlite3.connect(path) as connection:
        stored = {
            row[0]: row[1]
            for row in connection.execute("SELECT id, COUNT(*) FROM bare_event GROUP BY id")
        }
    return figures, target, (*ledger_check(target, stored), "")


async def main_async(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-sync-"))
    try:
        return await measure(args, workdir)
    finally:  # a --history copy is a county's year: gigabytes
        shutil.rmtree(workdir, ignore_errors=True)


async def measure(args, workdir: Path) -> int:
    print(f"start: {load()}", flush=True)
    project_figures, _, project_check, rss = await project(args, workdir)
    # --only-project leaves the bare columns "not run" (they once repeated the project's figures).
    bare_run = None if args.only_project else await bare(args, workdir)
    rows = raw_rows(make_events(args.bulk, seed=3))
    raw_seconds = raw_sqlite(str(workdir / "raw.db"), rows, args.bulk_batch)
    raw_rate = args.bulk / raw_seconds
    mine = summarise("project", project_figures, project_check)
    base = summarise("bare", bare_run[0], bare_run[2]) if bare_run else None
    print_table(args, mine, base, raw_rate)
    staff = project_figures.get("staff_latency") or []
    if staff:
        p50, p95 = pct(staff, 0.5), pct(staff, 0.95)
        print(f"staff reads: n={len(staff)} p50 {p50:.0f} ms p95 {p95:.0f} ms")
    if rss:
        print(f"project server RSS: max {max(rss):.0f} MB, median {statistics.median(rss):.0f} MB")
    print(f"project ledger: {project_check[3]}")
    ok = (
        mine["errors"] == 0
        and mine["lost"] == mine["dup"] == mine["missing"] == 0
        and (base is None or base["lost"] == base["dup"] == 0)
    )
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--per-push", type=int, default=20)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--capacity-seconds", type=int, default=10)
    parser.add_argument("--bulk", type=int, default=20_000)
    parser.add_argument("--bulk-batch", type=int, default=500)
    parser.add_argument("--staff", type=int, default=0)
    parser.add_argument(
        "--staff-pages",
        type=lambda text: tuple(text.split(",")),
        default=STAFF_PAGES,
        help="which pages the staff read, of " + ",".join(STAFF_PAGES) + " (all by default)",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--staff-process",
        action="store_true",
        help="the staff read from a second `cunzhan serve` on the same database",
    )
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--history",
        default="",
        help="SQLite: the project starts from a copy of this database (gen_county.py's bench.db: "
        "a county's year of 5 M events)",
    )
    parser.add_argument("--only-project", action="store_true", help="skip the bare endpoint")
    parser.add_argument("--profile", default="", help="py-spy raw profile of the server to FILE")
    parser.add_argument("--profile-seconds", type=int, default=0)
    parser.add_argument(
        "--profile-native", action="store_true", help="with C frames (uvloop, sqlite, zlib…)"
    )
    args = parser.parse_args()
    if unknown := set(args.staff_pages) - set(STAFF_PAGES):
        parser.error(f"--staff-pages: no such page {', '.join(sorted(unknown))}")
    if args.history and args.database_url:
        parser.error("--history starts from a SQLite database; it does not go with --database-url")
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
