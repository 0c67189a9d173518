#!/usr/bin/env python3
"""The county's monthly workbook in-process, split into its two costs: reading the month's tables
(export.month_tables) and writing them (workbook.build_workbook, the XML written directly),
beside the writer it replaced (openpyxl's write-only mode, tests/workbook_openpyxl.py) on the same
tables in the same run; then both files compared cell for cell (tests/workbook_openpyxl.py:
differences).

--http times the same workbooks from a real `cunzhan serve` of this tree instead (wall, and the
server's CPU per request from /proc), logged in as the bench county's staff; run it from a copy
of another tree (e.g. `git archive`) to compare trees back to back on the same database.

Usage (on a county made by scripts/bench_county.py --keep):
    .venv/bin/python scripts/bench_workbook.py --data-dir DIR [--runs 3] [--profile] [--no-openpyxl]
    .venv/bin/python scripts/bench_workbook.py --data-dir DIR --http [--runs 5]
    .venv/bin/python scripts/bench_workbook.py --database-url postgresql://…/cunzhan_bench_county_…
--profile prints cProfile's top functions for one reading of each month (where the reading's
time goes); --no-openpyxl skips the old writer and the parity check (a lighter run).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

WORKBOOK_GOAL_S = 1.0


def timed(work) -> tuple[float, float, object]:
    """Wall and CPU seconds of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


async def measure(county_id, month: str, runs: int, profile: bool, openpyxl: bool) -> dict:
    from backend.county import export
    from backend.county.workbook import build_workbook
    from tests.workbook_openpyxl import build_workbook as openpyxl_workbook
    from tests.workbook_openpyxl import differences

    kinds = list(export.KIND_LABELS)
    figures: dict[str, list[tuple[float, float]]] = {"read": [], "write": [], "openpyxl": []}
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        tables = await export.month_tables(county_id, month)
        figures["read"].append((time.perf_counter() - wall, time.process_time() - cpu))
        wall, cpu, new = timed(lambda: build_workbook(tables, kinds))  # noqa: B023
        figures["write"].append((wall, cpu))
        if not openpyxl:
            continue
        wall, cpu, old = timed(lambda: openpyxl_workbook(tables, kinds))  # noqa: B023
        figures["openpyxl"].append((wall, cpu))
    parts = tables["tables"]
    cells = sum(
        len(table.headers) + sum(len(row) for row in table.rows) for table in parts.values()
    )
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await export.month_tables(county_id, month)
        profiler.disable()
        print(f"--- reading {month}: top 25 by cumulative time")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return {
        "figures": figures,
        "cells": cells,
        "parcels": len(parts["subsidy_parcels"].rows),
        "sizes": (len(new), len(old) if openpyxl else 0),  # type: ignore[arg-type]
        "differences": (
            differences(old, new) if openpyxl else ["not compared"]  # type: ignore[arg-type]
        ),
    }


def median(pairs: list[tuple[float, float]], index: int) -> float:
    return statistics.median(pair[index] for pair in pairs) * 1000 if pairs else float("nan")


async def main_async(args) -> None:
    from backend import db
    from backend.app import settle_heap
    from backend.county import rollups
    from backend.migrations import migrate

    await db.start()
    try:
        await migrate()  # a county built by an older tree
        async with db.read_transaction():
            rows = await db.fetch("SELECT id, name FROM registry_county WHERE code = 'BENCH'")
        county_id = rows[0]["id"]
        await rollups.refresh()  # the pages' catch-up, done once before timing
        settle_heap()  # as `cunzhan serve` does: the collector walks only what the reading makes
        today = datetime.date.today()
        previous = today.replace(day=1) - datetime.timedelta(days=1)
        print(f"load before: {os.getloadavg()}")
        print("| month | cells | 补贴明细 rows | read wall / CPU ms | write (direct) wall / CPU ms "
              "| write (openpyxl) wall / CPU ms | sizes direct / openpyxl | parity |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for month in (f"{today:%Y-%m}", f"{previous:%Y-%m}"):
            result = await measure(county_id, month, args.runs, args.profile, not args.no_openpyxl)
            f = result["figures"]
            size_new, size_old = result["sizes"]
            parity = "same" if not result["differences"] else "; ".join(result["differences"][:5])
            print(f"| {month} | {result['cells']:,} | {result['parcels']:,} "
                  f"| {median(f['read'], 0):,.0f} / {median(f['read'], 1):,.0f} "
                  f"| {median(f['write'], 0):,.0f} / {median(f['write'], 1):,.0f} "
                  f"| {median(f['openpyxl'], 0):,.0f} / {median(f['openpyxl'], 1):,.0f} "
                  f"| {size_new / 1e6:.2f} / {size_old / 1e6:.2f} MB | {parity} |")  # fmt: skip
        print(f"load after: {os.getloadavg()}")
        print(f"(medians of {args.runs} runs; goal: the month's workbook ≤ {WORKBOOK_GOAL_S:g} s, "
              "reading and writing together)")  # fmt: skip
    finally:
        await db.stop()


def over_http(env: dict, runs: int) -> None:
    """Each month's workbook `runs` times (after one to warm) from `cunzhan serve`."""
    import bench_county  # the bench county's staff login
    import bench_county_pages

    built = asyncio.run(bench_county.existing_history())
    real = bench_county_pages._timed

    def timed(client, headers, path, requests, pid):  # the workbooks `runs` times, not 3
        return real(client, headers, path, runs, pid)

    bench_county_pages.staff_pages = lambda built: {}  # type: ignore[assignment]
    bench_county_pages._timed = timed  # type: ignore[assignment]
    print(f"tree {REPO}; load before: {os.getloadavg()}")
    figures = bench_county_pages.measure_pages(
        env, built, runs, (bench_county.STAFF_PHONE, bench_county.PASSWORD)
    )
    for label, measured in figures.items():
        if "p50_ms" not in measured:
            print(f"| {label} | status {measured['status']} |")
            continue
        print(f"| {label} | {measured['p50_ms']:,.0f} / {measured['p95_ms']:,.0f} ms "
              f"| {measured['cpu_ms']:,.0f} ms CPU "
              f"| {measured['bytes'] / 1e6:.2f} MB |")  # fmt: skip
    print(
        f"load after: {os.getloadavg()} ({runs} requests each after one to warm; "
        "p50 / max wall, the server's CPU per request)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data-dir", default="", help="a bench_county.py SQLite directory")
    parser.add_argument("--database-url", default="", help="postgresql://… (a kept bench county)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--no-openpyxl", action="store_true", help="skip the old writer (and the parity check)"
    )
    parser.add_argument("--http", action="store_true", help="through `cunzhan serve` instead")
    args = parser.parse_args()
    if not args.data_dir and not args.database_url:
        parser.error("--data-dir or --database-url")
    from tests.server_process import environment

    workdir = Path(args.data_dir or tempfile.mkdtemp(prefix="cunzhan-bench-workbook-"))
    url = args.database_url or f"sqlite:///{workdir}/bench.db"
    env = environment(workdir / "data", url, CUNZHAN_LOG_LEVEL="WARNING", CUNZHAN_LOG_JSON="0")
    os.environ.update({k: v for k, v in env.items() if k.startswith("CUNZHAN_")})
    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    if args.http:
        over_http(env, args.runs)
    else:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
