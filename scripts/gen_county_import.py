#!/usr/bin/env python3
"""A generated county's 建档立卡 list for the registry import: 300 villages in 15 townships and
20,000 households by default, written as an xlsx workbook and a csv (UTF-8 with BOM) with the
import template's headers. Deterministic (a fixed seed).

With --measure, also times the import on a fresh database: the dry run, the import, and the same
file again (all unchanged), through the registry's service (read, plan, write, report) — what the
`POST /api/v1/counties/{id}/imports` handler runs.

Usage:
    .venv/bin/python scripts/gen_county_import.py --out /tmp/county          # writes .xlsx, .csv
    .venv/bin/python scripts/gen_county_import.py --out /tmp/county --measure              # SQLite
    .venv/bin/python scripts/gen_county_import.py --out /tmp/county \\
        --measure --database-url postgresql://postgres@127.0.0.1:5432/test
(for PostgreSQL a fresh database is created next to the one named and dropped afterwards.)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

HEADER = ["乡镇代码", "乡镇", "村代码", "村", "是否贫困村", "户码", "户主", "电话", "是否脱贫户"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国明华秀英丽军伟芳强磊洋艳勇杰娟涛超霞平刚桂兰"


def county_rows(villages: int, households: int, townships: int, seed: int = 14) -> list[list]:
    rng = random.Random(seed)
    rows: list[list] = []
    per_village = [
        households // villages + (1 if i < households % villages else 0) for i in range(villages)
    ]
    number = 0
    for v in range(villages):
        t = v % townships
        township_code = f"6531{t + 1:05d}"
        village_code = f"{township_code}{v + 1:03d}"
        poor_village = rng.random() < 0.3
        for h in range(per_village[v]):
            number += 1
            first = h == 0  # the village's first row names it; the others refer to it by code
            phone = f"13{rng.randint(5, 9)}{rng.randint(0, 99_999_999):08d}"
            rows.append(
                [
                    township_code,
                    f"第{t + 1}乡" if first else "",
                    village_code,
                    f"{t + 1}乡{v + 1}村" if first else "",
                    ("是" if poor_village else "否") if first else "",
                    f"H{number:08d}",
                    rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                    phone if rng.random() < 0.85 else "",
                    "是" if rng.random() < 0.35 else "否",
                ]
            )
    return rows


def xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("导入")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


async def measure(files: dict[str, bytes]) -> None:
    from backend import db
    from backend.migrations import migrate
    from backend.registry import service
    from backend.registry.schemas import CountyCreate

    await db.start()
    try:
        await migrate()
        for kind, body in files.items():
            county = await service.create_county(
                None, CountyCreate(name=f"导入县{kind}", code=f"IMP{kind.upper()}")
            )
            for label, dry_run in (("dry run", True), ("import", False), ("again", False)):
                started, cpu = time.perf_counter(), time.process_time()
                report = await service.import_file(
                    None, county.id, body, dry_run=dry_run, language="zh-CN"
                )
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                print(
                    f"{kind} {label}: {elapsed:.2f} s (this process's CPU {cpu:.2f} s) — "
                    f"{report.totals} "
                    f"written={report.written} ({len(body) / 2**20:.1f} MiB)"
                )
    finally:
        await db.stop()


async def admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", default="county-import", help="path without extension")
    parser.add_argument("--villages", type=int, default=300)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--townships", type=int, default=15)
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--database-url", default="", help="postgresql://… (default: SQLite)")
    args = parser.parse_args()

    rows = county_rows(args.villages, args.households, args.townships)
    files = {"xlsx": xlsx_bytes(rows), "csv": csv_bytes(rows)}
    for kind, body in files.items():
        path = Path(f"{args.out}.{kind}")
        path.write_bytes(body)
        print(f"{path}: {len(rows):,} rows, {len(body):,} bytes")
    if not args.measure:
        return

    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-import-"))
    postgres = args.database_url.startswith("postgresql://")
    if postgres:
        name = f"cunzhan_import_{uuid.uuid4().hex[:8]}"
        asyncio.run(admin(args.database_url, f'CREATE DATABASE "{name}"'))
        url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{workdir}/import.db"
    from tests.server_process import environment

    env = environment(workdir / "data", url, CUNZHAN_LOG_LEVEL="WARNING", CUNZHAN_LOG_JSON="0")
    os.environ.update({k: v for k, v in env.items() if k.startswith("CUNZHAN_")})
    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    print(f"engine {'PostgreSQL' if postgres else 'SQLite'}")
    try:
        asyncio.run(measure(files))
    finally:
        if postgres:
            asyncio.run(admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
