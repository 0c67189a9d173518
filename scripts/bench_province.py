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

Usage:
    .venv/bin/python scripts/bench_province.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python scripts/bench_province.py --counties 10 --stations 300 --days 220 ...  # 20 M
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

from bench_county import PASSWORD, admin, build_registry, progress, write_station_history  # noqa: E402

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


def timed(client, path: str, headers: dict, requests: int) -> dict:
    first = client.get(path, headers=headers)
    if first.status_code != 200:
        return {"status": first.status_code}
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        client.get(path, headers=headers).raise_for_status()
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))],
        "bytes": len(first.content),
    }


def login(client, phone: str) -> dict:
    answer = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    answer.raise_for_status()
    client.cookies.clear()
    return {"authorization": f"Bearer {answer.json()['token']}", "accept-language": "zh-CN"}


def measure(env: dict, counties: int, requests: int, workers: int) -> dict:
    import httpx

    from tests.server_process import Server

    server = Server(env, extra_args=["--workers", str(workers)])
    server.start(timeout=180)
    try:
        client = httpx.Client(base_url=server.url, timeout=120)
        officer = login(client, OFFICER_PHONE)
        figures = {
            "province page /county/province": timed(
                client, "/county/province", {**officer, "accept": "text/html"}, requests
            ),
            "province API /api/v1/province/counties": timed(
                client, "/api/v1/province/counties", officer, requests
            ),
        }
        dashboards = []
        for index in range(counties):
            staff = login(client, _phones(index)[0])
            dashboards.append(timed(client, "/county/", {**staff, "accept": "text/html"}, requests))
        figures["county dashboards /county/ (worst county)"] = max(
            dashboards, key=lambda line: line.get("p95_ms", 0)
        )
        return figures
    finally:
        server.kill()


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
        print(f"{args.counties} counties × {args.stations} stations × {args.days} days × "
              f"~{args.per_day}/day; {args.workers} app processes")  # fmt: skip
        if not args.reuse:
            built = asyncio.run(build_province(args))
            print(f"history: {built['events']:,} events in {built['generation_s']:.0f} s")
        verify = subprocess.run(
            [sys.executable, "-m", "backend.cli", "verify"], cwd=REPO, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
        print(f"cunzhan verify: exit {verify.returncode}; {verify.stdout.strip()[-200:]}")
        print(f"load average before measuring: {os.getloadavg()}")
        for label, figures in measure(env, args.counties, args.requests, args.workers).items():
            if "p50_ms" in figures:
                print(f"{label}: p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms "
                      f"over {args.requests} requests ({figures['bytes']:,} bytes)")  # fmt: skip
            else:
                print(f"{label}: {figures}")
        print(f"load average after: {os.getloadavg()}")
    finally:
        if not args.keep:
            asyncio.run(admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
