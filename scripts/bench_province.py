#!/usr/bin/env python3
"""Province benchmark (issue 17): several counties' histories in one PostgreSQL database, served
by `cunzhan serve --workers N`, read by a province officer and by each county's staff.

Each county is the county benchmark's (scripts/bench_county.py: stations, households, a keeper
and a staff member; every raw event passes the ledger's validation and projector and is
hash-chained), written county after county. Then, from the real server, it times (p50/p95):
  - the province page `/county/province` and its API `GET /api/v1/province/counties`, which read
    every county's own read model;
  - each county's dashboard `/county/`, logged in as that county's staff;
and checks every station's chain (`cunzhan verify`).

Then, optionally (--phones N), a keeper's phone per station pushing at the afternoon peak
(scripts/bench_province_phones.py) while the officer and the counties' staff read.

Usage:
    .venv/bin/python scripts/bench_province.py --database-url postgresql://postgres@127.0.0.1:5432/test
    # at size: generate once with scripts/gen_province.py (COPY, ~40 min), then
    .venv/bin/python scripts/bench_province.py --database-url postgresql://…/bench_province_20m \
        --reuse --skip-verify --requests 10 [--phones 3000 --phone-seconds 60 --no-pages]
(a fresh database is created next to the one named and dropped afterwards, unless --keep;
--reuse measures again on a kept one.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import bench_county_pages  # noqa: E402
from bench_county import PASSWORD, admin, build_registry, progress, write_station_history  # noqa: E402
from bench_county_pages import cpu_seconds, percentile  # noqa: E402
from loadtest import server_pids  # noqa: E402

OFFICER_PHONE = "13900000008"


def _phones(index: int) -> tuple[str, str]:
    """The staff's and the keeper's phone of the index-th county."""
    return f"1390010{index:04d}", f"1380010{index:04d}"


async def build_province(args) -> dict:
    from backend import db
    from backend.accounts import service as accounts
    from backend.accounts.schemas import ProvinceUserCreate
    from backend.migrations import migrate

    await db.start()
    await migrate()
    started, total, county_ids = time.monotonic(), 0, []
    for index in range(args.counties):
        staff_phone, keeper_phone = _phones(index)
        county_id, station_ids, households, keeper_id = await build_registry(
            args.stations, f"P{index + 1:02d}", f"基准{index + 1}县", staff_phone, keeper_phone
        )
        county_ids.append(county_id)
        for number, station_id in enumerate(station_ids, start=1):
            total += await write_station_history(
                station_id, keeper_id, households, args.days, args.per_day,
                seed=index * 100_000 + number,
            )  # fmt: skip
        progress("counties", index + 1, args.counties, started, f"{total:,} events")
    await accounts.create_province_user(
        None,
        ProvinceUserCreate(
            phone=OFFICER_PHONE, name="基准省级", password=PASSWORD, county_ids=county_ids
        ),
    )
    async with db.write_transaction():
        await db.execute("ANALYZE")
    await db.stop()
    return {"counties": args.counties, "events": total, "generation_s": time.monotonic() - started}


def timed(client, path: str, headers: dict, requests: int, pids: list[int]) -> dict:
    first = client.get(path, headers=headers)
    if first.status_code != 200:
        return {"status": first.status_code}
    timings, cpu = [], _cpu(pids)
    for _ in range(requests):
        began = time.perf_counter()
        client.get(path, headers=headers).raise_for_status()
        timings.append((time.perf_counter() - began) * 1000)
    return {
        "p50_ms": statistics.median(timings),
        "p95_ms": percentile(timings, 95),
        "cpu_ms": (_cpu(pids) - cpu) * 1000 / requests,
        "bytes": len(first.content),
    }


def _cpu(pids: list[int]) -> float:
    """The app processes' CPU seconds so far (the serve process and its workers)."""
    return sum(cpu_seconds(pid) for pid in pids)


def login(client, phone: str) -> dict:
    answer = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    answer.raise_for_status()
    client.cookies.clear()
    return {"authorization": f"Bearer {answer.json()['token']}", "accept-language": "zh-CN"}


def _forget_lines(url: str) -> None:
    """No stored county line: the province page counts every county as it opens."""
    asyncio.run(admin(url, "DELETE FROM province_county_line"))


def province_figures(client, url: str, requests: int, pids: list[int]) -> dict:
    officer = login(client, OFFICER_PHONE)
    page_headers = {**officer, "accept": "text/html"}
    cold, cpu = [], _cpu(pids)
    for _ in range(3):  # as before issue 17's stored lines: every county counted per request
        _forget_lines(url)
        began = time.perf_counter()
        client.get("/county/province", headers=page_headers).raise_for_status()
        cold.append((time.perf_counter() - began) * 1000)
    return {
        "province page, every county counted as it opens (3 times)": {
            "p50_ms": statistics.median(cold), "p95_ms": max(cold),
            "cpu_ms": (_cpu(pids) - cpu) * 1000 / 3, "bytes": 0,
        },
        "province page /county/province (stored lines)": timed(
            client, "/county/province", page_headers, requests, pids
        ),
        "province API /api/v1/province/counties (stored lines)": timed(
            client, "/api/v1/province/counties", officer, requests, pids
        ),
    }  # fmt: skip


HEAVY = ("stations", "station page", "coverage", "scorecard", "subsidies", "cash",
         "township", "rollup API (month, all stations)")  # fmt: skip


async def _events(url: str) -> int:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval("SELECT COUNT(*) FROM ledger_event")
    finally:
        await connection.close()


async def _first_county(url: str) -> dict:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        county = await connection.fetchval("SELECT id FROM registry_county WHERE code = 'P01'")
        stations = await connection.fetch(
            "SELECT id FROM registry_station WHERE county = $1 ORDER BY code", county
        )
    finally:
        await connection.close()
    return {"county_id": county, "station_ids": [row["id"] for row in stations]}


def county_figures(client, url: str, counties: int, requests: int, pids: list[int]) -> dict:
    figures, dashboards = {}, []
    for index in range(counties):
        staff = login(client, _phones(index)[0])
        page = {**staff, "accept": "text/html"}
        dashboards.append(timed(client, "/county/", page, requests, pids))
        if index == 0:
            built = asyncio.run(_first_county(url))
            for label, path in bench_county_pages.staff_pages(built).items():
                if label in HEAVY:
                    headers = staff if path.startswith("/api/") else page
                    figures[f"county P01: {label}"] = timed(client, path, headers, requests, pids)
    figures["county dashboards /county/ (worst of the counties)"] = max(
        dashboards, key=lambda line: line.get("p95_ms", 0)
    )
    return figures


def measure(env: dict, url: str, args) -> dict:
    import httpx

    from tests.server_process import Server

    server = Server(env, extra_args=["--workers", str(args.workers)])
    server.start(timeout=300)
    try:
        time.sleep(5)  # the workers up
        pids = server_pids(server)
        client = httpx.Client(base_url=server.url, timeout=300)
        figures = {}
        if not args.no_pages:
            figures = province_figures(client, url, args.requests, pids)
            figures.update(county_figures(client, url, args.counties, args.requests, pids))
            report(figures, args.requests, args.workers)  # before the phones: kept if they fail
        if args.phones:
            figures["phones"] = asyncio.run(_phones_beside_readers(client, server, url, args))
        return figures
    finally:
        server.kill()  # its process group: the workers too


async def _phones_beside_readers(client, server, url: str, args) -> list[str]:
    import bench_province_phones as phones

    keepers = await _keepers(args)
    rate = args.phone_rate or phones.peak_rate(len(keepers))
    officer = login(client, OFFICER_PHONE)
    readers = {
        "province page (beside the phones)": (
            {**officer, "accept": "text/html"},
            ["/county/province"],
        )
    }
    for index in range(0 if args.no_readers else args.counties):
        staff = login(client, _phones(index)[0])
        readers[f"county {index + 1} dashboard (beside the phones)"] = (
            {**staff, "accept": "text/html"},
            ["/county/"],
        )
    pids = server_pids(server)
    cpu = _cpu(pids)
    print(
        f"phones: {len(keepers):,} at {rate:.1f} entries/s for {args.phone_seconds} s; "
        f"load average {os.getloadavg()}"
    )
    ran = await phones.run_phones(server.url, keepers, rate, args.phone_seconds, readers)
    spent = _cpu(pids) - cpu
    stats = ran["stats"]
    merged = [v for kind, values in stats.latency.items() if "dashboard" in kind for v in values]
    stats.latency = {k: v for k, v in stats.latency.items() if "dashboard" not in k}
    stats.latency["county dashboards (beside the phones)"] = merged
    checked = await phones.ledger_check(url, ran["phones"])
    pushes = len(stats.latency.get("sync push", []))
    return [
        *phones.summary(stats),
        f"ledger: {checked['created']:,} entries created, lost {checked['lost']}, "
        f"doubled {checked['doubled']}",
        f"app CPU during the run: {spent:.1f} s ({spent * 1000 / max(pushes, 1):.1f} ms per push, "
        f"readers included); load average after {os.getloadavg()}",
    ]  # fmt: skip


async def _keepers(args) -> list:
    import bench_province_phones as phones

    from backend import db

    await db.start()
    try:
        keepers = await phones.create_keepers(args.counties)
    finally:
        await db.stop()
    return keepers[: args.phones]


def report(figures: dict, requests: int, workers: int) -> None:
    print(f"\n| what | p50 ms | p95 ms | app CPU ms/request ({workers} processes) | bytes |")
    print("|---|---|---|---|---|")
    for label, line in figures.items():
        if label == "phones":
            continue
        if "p50_ms" in line:
            print(f"| {label} | {line['p50_ms']:,.0f} | {line['p95_ms']:,.0f} | "
                  f"{line['cpu_ms']:,.0f} | {line['bytes']:,} |")  # fmt: skip
        else:
            print(f"| {label} | {line} | | | |")
    print(f"({requests} requests each after one to warm it, from one client)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="postgresql://… (a server)")
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--stations", type=int, default=30, help="stations per county")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=46, help="entries per station and day")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--phones", type=int, default=0, help="keepers' phones pushing (0: none; 3000)"
    )
    parser.add_argument(
        "--phone-rate", type=float, default=0.0,
        help="entries/s across the phones (default: the afternoon peak, "
        "stations × 50 × 10 / 86,400)",
    )  # fmt: skip
    parser.add_argument("--phone-seconds", type=int, default=60)
    parser.add_argument("--no-pages", action="store_true", help="only the phones")
    parser.add_argument(
        "--no-readers", action="store_true", help="the phones without the staff reading beside"
    )
    parser.add_argument("--skip-verify", action="store_true", help="(verify takes minutes at 20 M)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database again")
    args = parser.parse_args()

    if args.reuse:
        url, name, args.keep = args.database_url, args.database_url.rsplit("/", 1)[1], True
    else:
        name = f"cunzhan_bench_province_{uuid.uuid4().hex[:8]}"
        asyncio.run(admin(args.database_url, f'CREATE DATABASE "{name}"'))
        url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    from tests.server_process import environment

    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-bench-province-"))
    env = environment(workdir / "data", url, CUNZHAN_LOG_LEVEL="WARNING", CUNZHAN_LOG_JSON="0")
    os.environ.update({k: v for k, v in env.items() if k.startswith("CUNZHAN_")})
    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    try:
        if args.keep:
            print(f"database kept: {url}")
        if args.reuse:
            print(f"{asyncio.run(_events(url)):,} events (reused); {args.workers} app processes")
        else:
            print(f"{args.counties} counties × {args.stations} stations × {args.days} days × "
                  f"~{args.per_day}/day; {args.workers} app processes")  # fmt: skip
        if not args.reuse:
            built = asyncio.run(build_province(args))
            print(f"history: {built['events']:,} events in {built['generation_s']:.0f} s")
        if not args.skip_verify:
            began = time.monotonic()
            verify = subprocess.run(
                [sys.executable, "-m", "backend.cli", "verify"], cwd=REPO, env=env,
                capture_output=True, text=True,
            )  # fmt: skip
            print(f"cunzhan verify ({time.monotonic() - began:.0f} s): exit {verify.returncode}; "
                  f"{verify.stdout.strip()[-200:]}")  # fmt: skip
        print(f"load average before measuring: {os.getloadavg()}")
        for line in measure(env, url, args).get("phones", []):
            print(line)
        print(f"load average after: {os.getloadavg()}")
    finally:
        if not args.keep:
            asyncio.run(admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
