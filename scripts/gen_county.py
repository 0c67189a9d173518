#!/usr/bin/env python3
"""One county's year on SQLite in bulk (issue 17): 300 stations × 365 days × ~46 entries (≈ 5 M
events) in minutes instead of the hour and more of scripts/bench_county.py's per-event path.

The way of scripts/gen_province.py, on SQLite: a few *template* stations go through the real path
(validation, projector, chain); every other station is a copy of one of them, made by
gen_province's `Copier` (fresh ids, the content hash and the whole chain recomputed, so
`cunzhan verify` checks every copy), inserted with `executemany` in one process (SQLite has one
writer) while others build the rows. The log's secondary indexes are dropped for the load and
built once after it; then ANALYZE and the county rollups' full rebuild. The county is the one
bench_county.py builds (code BENCH, its staff and keeper), so it measures the pages with
    .venv/bin/python scripts/bench_county.py --data-dir DIR --reuse --no-new-day --no-rebuild

Usage:
    .venv/bin/python scripts/gen_county.py --data-dir DIR [--stations 300] [--days 365]
        [--templates 8] [--jobs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import random
import sqlite3
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_county import build_registry, progress, write_station_history  # noqa: E402
from gen_province import EVENT_COLUMNS, PROJECTIONS, UUID_RE, Copier, _mask  # noqa: E402

STATIONS_PER_BATCH = 10  # stations per worker task and per transaction


def _columns(connection: sqlite3.Connection, table: str) -> list[str]:
    """The table's columns but an INTEGER PRIMARY KEY (the row id SQLite assigns)."""
    return [
        name
        for _cid, name, kind, _notnull, _default, pk in connection.execute(
            f"PRAGMA table_info({table})"
        )
        if not (pk and kind.upper() == "INTEGER")
    ]


def dump_template(path: str, station_id: str) -> dict:
    """One template station's rows as SQLite stores them: its events (the chain hashes the UTC ISO
    text of the two moments, kept beside the stored text) and its projections."""
    from backend.ledger.validation import utc_iso

    connection = sqlite3.connect(path)
    try:
        events = [
            (
                event_id, seq, device, kind, utc_iso(datetime.datetime.fromisoformat(occurred)),
                utc_iso(datetime.datetime.fromisoformat(received)), day, data, server_data,
                content, adjusts, bool(UUID_RE.search(data)), bool(UUID_RE.search(server_data)),
                occurred, received,
            )
            for (event_id, seq, device, kind, occurred, received, day, data, server_data, content,
                 adjusts) in connection.execute(
                "SELECT id, seq, device_id, type, occurred_at, received_at, business_date, data, "
                "server_data, content_hash, adjusts_month FROM ledger_event WHERE station = ? "
                "ORDER BY seq",
                (station_id,),
            )
        ]  # fmt: skip
        projections = {}
        for table in PROJECTIONS:
            columns = _columns(connection, table)
            rows = connection.execute(
                f"SELECT {', '.join(columns)} FROM {table} WHERE station = ?", (station_id,)
            ).fetchall()
            projections[table] = (columns, rows)
        return {"events": events, "projections": projections}
    finally:
        connection.close()


_TEMPLATES: list[dict] = []  # a worker's templates, sent once


def _keep_templates(templates: list[dict]) -> None:
    _TEMPLATES[:] = templates


def copy_batch(work: list[tuple]) -> tuple[list, list, dict]:
    """A few stations' rows (in a worker): events, chain heads, projections by table."""
    templates = _TEMPLATES
    events, chains, projections = [], [], {table: [] for table in PROJECTIONS}
    for index, station, county, keeper, mask in work:
        template = templates[index]
        copier = Copier(template, template["ids"])
        swap = copier.swapper(station, county, keeper, mask)
        rows, last_hash = copier.events(station, county, keeper, swap)
        events.extend(rows)
        chains.append((station, len(rows), last_hash))
        for table, (_columns, template_rows) in template["projections"].items():
            projections[table].extend(
                tuple(swap(value) if isinstance(value, str) else value for value in row)
                for row in template_rows
            )
    return events, chains, projections


# Indexes: dropped for the load, built once after it -------------------------------------------


def drop_indexes(connection: sqlite3.Connection) -> list[str]:
    """The explicit indexes of the log and its projections (not the keys SQLite makes itself);
    returns the statements that rebuild them."""
    tables = ("ledger_event", *PROJECTIONS)
    rows = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({', '.join('?' * len(tables))})",
        tables,
    ).fetchall()
    for name, _sql in rows:
        connection.execute(f'DROP INDEX "{name}"')
    connection.commit()
    return [sql for _name, sql in rows]


def insert_batch(connection: sqlite3.Connection, templates: list[dict], batch) -> int:
    events, chains, projections = batch
    marks = ", ".join("?" * len(EVENT_COLUMNS))
    with connection:
        connection.executemany(
            f"INSERT INTO ledger_event ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})", events
        )
        connection.executemany(
            "INSERT INTO ledger_chain (station, last_seq, last_hash) VALUES (?, ?, ?)", chains
        )
        for table, rows in projections.items():
            columns = templates[0]["projections"][table][0]
            if rows:
                connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    rows,
                )
    return len(events)


# The whole run --------------------------------------------------------------------------------


async def registry_and_templates(args) -> tuple[dict, int]:
    from backend import db
    from backend.migrations import migrate

    await db.start()
    await migrate()
    county_id, station_ids, households, keeper_id = await build_registry(args.stations)
    written, started = 0, time.monotonic()
    for index in range(args.templates):
        written += await write_station_history(
            station_ids[index], keeper_id, households, args.days, args.per_day, seed=index + 1
        )
        progress("templates", index + 1, args.templates, started, f"{written:,} events")
    await db.stop()
    county = {"id": str(county_id), "stations": [str(s) for s in station_ids],
              "keeper": str(keeper_id)}  # fmt: skip
    return county, written


def work_list(args, county: dict) -> list[list[tuple]]:
    """The copies, STATIONS_PER_BATCH stations a batch: (template, station, county, keeper,
    mask)."""
    rng = random.Random(args.seed)
    work = [
        (rng.randrange(args.templates), station, county["id"], county["keeper"],
         _mask(rng.getrandbits(128)))
        for station in county["stations"][args.templates :]
    ]  # fmt: skip
    return [work[i : i + STATIONS_PER_BATCH] for i in range(0, len(work), STATIONS_PER_BATCH)]


def copy_all(args, path: str, county: dict, templates: list[dict]) -> int:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous = OFF")  # a bench load: re-run it if it fails
    connection.execute("PRAGMA cache_size = -262144")
    restore = drop_indexes(connection)
    batches, copied, started = work_list(args, county), 0, time.monotonic()
    with ProcessPoolExecutor(args.jobs, initializer=_keep_templates, initargs=(templates,)) as pool:
        pending = [pool.submit(copy_batch, batch) for batch in batches[: 2 * args.jobs]]
        for number in range(1, len(batches) + 1):
            batch = pending.pop(0).result()
            if number - 1 + 2 * args.jobs < len(batches):  # a bounded few built ahead
                pending.append(pool.submit(copy_batch, batches[number - 1 + 2 * args.jobs]))
            copied += insert_batch(connection, templates, batch)
            progress("copies", number, len(batches), started, f"{copied:,} events")
    began = time.monotonic()
    for statement in restore:
        connection.execute(statement)
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()
    print(f"indexes built and ANALYZE: {time.monotonic() - began:.0f} s")
    return copied


def generate(args, path: str) -> None:
    from backend import db
    from backend.county import rollups

    began = time.monotonic()
    county, written = asyncio.run(registry_and_templates(args))
    print(f"registry and {args.templates} templates ({written:,} events through the real path): "
          f"{time.monotonic() - began:.0f} s")  # fmt: skip
    templates = []
    for station in county["stations"][: args.templates]:
        template = dump_template(path, station)
        template["ids"] = {"station": station, "county": county["id"], "keeper": county["keeper"]}
        templates.append(template)
    began = time.monotonic()
    copied = copy_all(args, path, county, templates)
    took = time.monotonic() - began
    print(f"copies: {copied:,} events in {took:.0f} s ({copied / max(took, 1):,.0f} events/s)")

    async def rebuild():
        await db.start()
        async with db.read_transaction():
            events = (await db.fetch("SELECT COUNT(*) AS n FROM ledger_event"))[0]["n"]
        print(f"{events:,} events in all")
        began = time.monotonic()
        rebuilt = await rollups.rebuild()
        print(f"rollup rebuild: {time.monotonic() - began:.0f} s ({rebuilt['days']:,} "
              "station-days)")  # fmt: skip
        await db.stop()

    asyncio.run(rebuild())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data-dir", required=True, help="a new directory (bench.db goes there)")
    parser.add_argument("--stations", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=46, help="entries per station and day")
    parser.add_argument("--templates", type=int, default=8, help="stations through the real path")
    parser.add_argument("--jobs", type=int, default=2, help="processes building copies")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    workdir = Path(args.data_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "bench.db"
    if path.exists():
        parser.error(f"{path} exists: give a new --data-dir")
    from tests.server_process import environment

    env = environment(
        workdir / "data", f"sqlite:///{path}", CUNZHAN_LOG_LEVEL="WARNING", CUNZHAN_LOG_JSON="0"
    )
    os.environ.update({k: v for k, v in env.items() if k.startswith("CUNZHAN_")})
    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    generate(args, str(path))


if __name__ == "__main__":
    main()
