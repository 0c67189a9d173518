#!/usr/bin/env python3
"""A province's history on PostgreSQL in bulk (issue 17): 10 counties × 300 stations × ~150 days
(≈ 20 M events) in tens of minutes instead of hours, hash-chained and valid (`cunzhan verify`).

The per-event path of scripts/bench_county.py (validation, projector, chain: ~1,500–4,000
events/s) would take 2–4 hours for 20 M events. Here only a few *template* stations go through
that real path; every other station is a copy of one of them with fresh ids:
  - every UUID of the template (event ids, parcel/purchase/dispatch ids which are event ids, the
    device) is XORed with a per-station mask that keeps the version-4 bits, so references between
    rows (a reversal's target, a delivered purchase, a parcel's closing event) stay consistent;
  - the station, county and keeper become the copy's own;
  - the content hash is recomputed where the data names an id, and the whole chain is recomputed
    (backend/ledger/chain.py's `chain_hash`), so `cunzhan verify` checks every copy for real;
  - rows are streamed with COPY (text format) into ledger_event, ledger_chain and the ledger's
    projections (parcels, purchases, dispatches, reversals, cashbook), several processes at once.
Then ANALYZE and the county rollups' full rebuild. Household codes are the same in every county
(bench_county.build_registry), so a copied entry's household exists in its new county.

Usage:
    .venv/bin/python scripts/gen_province.py --database-url postgresql://postgres@127.0.0.1:5432/test
        [--counties 10] [--stations 300] [--days 150] [--templates 12] [--jobs 2] [--name NAME]
then measure it with
    .venv/bin/python scripts/bench_province.py --database-url postgresql://…/NAME --reuse
(the database is kept: drop it with `DROP DATABASE "NAME" WITH (FORCE)`.)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import re
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_county import PASSWORD, admin, build_registry, progress, write_station_history  # noqa: E402
from bench_province import OFFICER_PHONE, _phones  # noqa: E402

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# bench_county's numbers (CARRIERS): a carrier prefix or none, then 12 or 13 digits; never part
# of a UUID or a hash (no hex digit or dash beside it).
TRACKING_RE = re.compile(r"(?<![-0-9a-fA-Z])(SF|JT|YTO|YT|)([0-9]{12,13})(?![-0-9a-f])")
# A mask must keep a v4 UUID's version nibble and variant bits.
KEEP_BITS = (0xF << 76) | (0x3 << 62)
PROJECTIONS = ("ledger_parcel", "ledger_purchase", "ledger_dispatch", "ledger_reversal",
               "ledger_cashbook")  # fmt: skip
EVENT_COLUMNS = ("id", "station", "county", "seq", "device_id", "keeper", "type", "occurred_at",
                 "received_at", "business_date", "data", "server_data", "content_hash",
                 "prev_hash", "hash", "adjusts_month")  # fmt: skip
STATIONS_PER_COPY = 10  # stations per COPY and per transaction


def _copy_text(value: str) -> str:
    """A value in COPY's text format."""
    for plain, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        value = value.replace(plain, escaped)
    return value


# Templates: a few stations through the real path --------------------------------------------


async def build_registries(args) -> list[dict]:
    from backend.accounts import service as accounts
    from backend.accounts.schemas import ProvinceUserCreate

    counties, started = [], time.monotonic()
    for index in range(args.counties):
        staff_phone, keeper_phone = _phones(index)
        county_id, station_ids, households, keeper_id = await build_registry(
            args.stations, f"P{index + 1:02d}", f"基准{index + 1}县", staff_phone, keeper_phone
        )
        counties.append(
            {"id": county_id, "stations": station_ids, "households": households,
             "keeper": keeper_id}
        )  # fmt: skip
        progress("registries", index + 1, args.counties, started)
    await accounts.create_province_user(
        None,
        ProvinceUserCreate(
            phone=OFFICER_PHONE, name="基准省级", password=PASSWORD,
            county_ids=[county["id"] for county in counties],
        ),
    )  # fmt: skip
    return counties


async def _columns(connection, table: str) -> list[str]:
    rows = await connection.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
        "AND coalesce(column_default, '') NOT LIKE 'nextval%' ORDER BY ordinal_position",
        table,
    )
    return [row["column_name"] for row in rows]


async def dump_template(url: str, station_id: uuid.UUID) -> dict:
    """One template station's rows: its events as values (the chain is recomputed per copy) and
    its projections as COPY text lines (only their UUIDs change)."""
    import asyncpg

    from backend.ledger.validation import utc_iso

    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM ledger_event WHERE station = $1 ORDER BY seq",
            station_id,
        )
        events = [
            (
                str(r["id"]), r["seq"], str(r["device_id"]), r["type"], utc_iso(r["occurred_at"]),
                utc_iso(r["received_at"]), r["business_date"].isoformat(), r["data"],
                r["server_data"], r["content_hash"], r["adjusts_month"],
                bool(UUID_RE.search(r["data"])), bool(UUID_RE.search(r["server_data"])),
                utc_iso(r["occurred_at"]), utc_iso(r["received_at"]),
            )
            for r in rows
        ]  # fmt: skip
        projections = {}
        for table in PROJECTIONS:
            columns = await _columns(connection, table)
            buffer: list[bytes] = []

            async def sink(chunk: bytes, buffer=buffer) -> None:
                buffer.append(chunk)

            await connection.copy_from_query(
                f"SELECT {', '.join(columns)} FROM {table} WHERE station = $1",
                station_id, output=sink, format="text",
            )  # fmt: skip
            projections[table] = (columns, b"".join(buffer).decode())
        return {"events": events, "projections": projections}
    finally:
        await connection.close()


# Copies: fresh ids, the chain recomputed, COPY ----------------------------------------------


def _mask(rng_bits: int) -> int:
    return rng_bits & ~KEEP_BITS


class Copier:
    """Turns a template into one station's rows. A template event is
    (id, seq, device, type, occurred, received, day, data, server_data, content_hash, adjusts,
    data names an id, server_data names an id, occurred as stored, received as stored): the
    chain hashes the UTC ISO text, the target stores its own text (scripts/gen_county.py)."""

    def __init__(self, template: dict, template_ids: dict[str, str]):
        self.template = template
        self.fixed = template_ids  # the template's station/county/keeper → the copy's

    def swapper(self, station: str, county: str, keeper: str, mask: int):
        """The copy's text from the template's: every UUID replaced by the copy's own."""
        fixed = {self.fixed["station"]: station, self.fixed["county"]: county,
                 self.fixed["keeper"]: keeper}  # fmt: skip
        cache: dict[str, str] = {}

        def new(match: re.Match) -> str:
            old = match.group()
            hit = fixed.get(old) or cache.get(old)
            if hit is None:
                hit = cache[old] = str(uuid.UUID(int=uuid.UUID(old).int ^ mask))
            return hit

        # Tracking numbers too: copies of one template sharing them would be counted as one
        # parcel claimed by many stations (the subsidies' duplicates), which no county has.
        offset = mask % 10**12 or 1

        def renumbered(match: re.Match) -> str:
            prefix, digits = match.group(1), match.group(2)
            modulus = 10 ** len(digits)
            return f"{prefix}{(int(digits) + offset) % modulus:0{len(digits)}d}"

        return lambda text: TRACKING_RE.sub(renumbered, UUID_RE.sub(new, text))

    def events(self, station: str, county: str, keeper: str, swap) -> tuple[list[tuple], str]:
        """The copy's events as EVENT_COLUMNS values (text; adjusts_month may be None), chained
        from the genesis, and the last hash."""
        from backend.ledger.store.events import GENESIS_HASH

        rows, previous = [], GENESIS_HASH
        for (event_id, seq, device, kind, occurred, received, day, data, server_data, content,
             adjusts, data_ids, server_ids, stored_occurred,
             stored_received) in self.template["events"]:  # fmt: skip
            event_id, device = swap(event_id), swap(device)
            copied = swap(data) if data_ids or "tracking_no" in data else data
            if copied != data:
                data = copied
                # validation.content_hash, on the UTC text it hashes
                content = hashlib.sha256(f"{kind}\n{occurred}\n{data}".encode()).hexdigest()
            if server_ids:
                server_data = swap(server_data)
            material = "\n".join((previous, event_id, station, str(seq), device, keeper, kind,
                                  occurred, received, day, data, server_data))  # fmt: skip
            digest = hashlib.sha256(material.encode()).hexdigest()
            rows.append((event_id, station, county, seq, device, keeper, kind, stored_occurred,
                         stored_received, day, data, server_data, content, previous, digest,
                         adjusts))  # fmt: skip
            previous = digest
        return rows, previous

    def rows(self, station: str, county: str, keeper: str, mask: int):
        """The copy in COPY's text format: its events, its projections, its chain head."""
        swap = self.swapper(station, county, keeper, mask)
        events, last_hash = self.events(station, county, keeper, swap)
        lines = [
            "\t".join("\\N" if value is None else _copy_text(str(value)) for value in row)
            for row in events
        ]
        projections = {
            table: swap(text) for table, (_columns, text) in self.template["projections"].items()
        }
        chain = f"{station}\t{len(lines)}\t{last_hash}\n"
        return "\n".join(lines) + "\n", projections, chain


async def _copy(connection, table: str, columns, text: str) -> None:
    if text.strip():
        await connection.copy_to_table(
            table, source=io.BytesIO(text.encode()), columns=list(columns), format="text"
        )


def copy_stations(url: str, templates: list[dict], work: list[tuple]) -> int:
    """One process's share: (template index, station, county, keeper, mask) per station."""
    return asyncio.run(_copy_stations(url, templates, work))


async def _copy_stations(url: str, templates: list[dict], work: list[tuple]) -> int:
    import asyncpg

    copiers = [Copier(t, t["ids"]) for t in templates]
    connection = await asyncpg.connect(url)
    await connection.execute("SET synchronous_commit = off")
    total = 0
    try:
        for start in range(0, len(work), STATIONS_PER_COPY):
            events, chains, projections = [], [], {table: [] for table in PROJECTIONS}
            for index, station, county, keeper, mask in work[start : start + STATIONS_PER_COPY]:
                lines, copied, chain = copiers[index].rows(station, county, keeper, mask)
                events.append(lines)
                chains.append(chain)
                total += lines.count("\n")
                for table, text in copied.items():
                    projections[table].append(text)
            async with connection.transaction():
                await _copy(connection, "ledger_event", EVENT_COLUMNS, "".join(events))
                await _copy(connection, "ledger_chain", ("station", "last_seq", "last_hash"),
                            "".join(chains))  # fmt: skip
                for table, texts in projections.items():
                    columns = templates[0]["projections"][table][0]
                    await _copy(connection, table, columns, "".join(texts))
    finally:
        await connection.close()
    return total


# The whole run --------------------------------------------------------------------------------


async def existing_registries(url: str, args) -> list[dict]:
    """The counties of an interrupted run (--resume): their stations, households and keeper."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        counties = []
        for index in range(args.counties):
            county = await connection.fetchval(
                "SELECT id FROM registry_county WHERE code = $1", f"P{index + 1:02d}"
            )
            stations = await connection.fetch(
                "SELECT id FROM registry_station WHERE county = $1 ORDER BY code", county
            )
            households = await connection.fetch(
                "SELECT code FROM registry_household WHERE county = $1", county
            )
            keeper = await connection.fetchval(
                "SELECT id FROM accounts_user WHERE phone = $1", _phones(index)[1]
            )
            counties.append({"id": county, "stations": [row["id"] for row in stations],
                             "households": [row["code"] for row in households],
                             "keeper": keeper})  # fmt: skip
        return counties
    finally:
        await connection.close()


async def templates_and_work(args, url: str) -> tuple[list[dict], list[list[tuple]], int]:
    import random

    import asyncpg

    from backend import db

    written = 0
    if args.resume:
        await db.stop()
        counties = await existing_registries(url, args)
    else:
        counties = await build_registries(args)
        first, started = counties[0], time.monotonic()
        for index in range(args.templates):
            written += await write_station_history(
                first["stations"][index], first["keeper"], first["households"], args.days,
                args.per_day, seed=index + 1,
            )  # fmt: skip
            progress("templates", index + 1, args.templates, started, f"{written:,} events")
        await db.stop()
    first, templates = counties[0], []
    for index in range(args.templates):
        template = await dump_template(url, first["stations"][index])
        template["ids"] = {"station": str(first["stations"][index]),
                           "county": str(first["id"]), "keeper": str(first["keeper"])}  # fmt: skip
        templates.append(template)
    connection = await asyncpg.connect(url)
    done = {row["station"] for row in await connection.fetch("SELECT station FROM ledger_chain")}
    await connection.close()
    rng = random.Random(args.seed + (len(done) if args.resume else 0))
    work: list[tuple] = []
    for county in counties:
        for station in county["stations"]:
            if station in done:
                continue  # a template, or copied before an interrupted run stopped
            work.append(
                (rng.randrange(args.templates), str(station), str(county["id"]),
                 str(county["keeper"]), _mask(rng.getrandbits(128)))
            )  # fmt: skip
    shares = [work[job :: args.jobs] for job in range(args.jobs)]
    return templates, shares, written


# Indexes: dropped for the bulk load and built once after it -----------------------------------
# Each row's insert into 9 indexes of ledger_event (one on a random UUID) and the projections'
# 20 more was the load's cost (~7,000 events/s on the busy machine); a sorted build is far cheaper.

RESTORE_TABLE = "gen_province_restore"  # the statements to rebuild them, kept until they ran


async def drop_indexes(url: str) -> None:
    import asyncpg

    tables = ["ledger_event", *PROJECTIONS]
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {RESTORE_TABLE} (n serial, statement text)"
        )
        constraints = await connection.fetch(
            "SELECT conrelid::regclass::text AS t, conname, contype, "
            "pg_get_constraintdef(oid) AS d FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY($1) AND contype IN ('p', 'u', 'f') "
            "ORDER BY contype = 'f'",
            tables,
        )
        indexes = await connection.fetch(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            tables,
        )
        async with connection.transaction():
            for row in constraints:
                await connection.execute(
                    f"INSERT INTO {RESTORE_TABLE} (statement) VALUES ($1)",
                    f'ALTER TABLE {row["t"]} ADD CONSTRAINT "{row["conname"]}" {row["d"]}',
                )
            for row in indexes:
                await connection.execute(
                    f"INSERT INTO {RESTORE_TABLE} (statement) VALUES ($1)", row["indexdef"]
                )
            for row in sorted(constraints, key=lambda c: c["contype"] != "f"):
                await connection.execute(
                    f'ALTER TABLE {row["t"]} DROP CONSTRAINT "{row["conname"]}"'
                )
            for row in indexes:
                await connection.execute(f'DROP INDEX "{row["indexname"]}"')
    finally:
        await connection.close()


async def restore_indexes(url: str) -> None:
    """Unique keys and indexes first (two connections at once), the foreign keys after them."""
    import asyncpg

    connection = await asyncpg.connect(url)
    rows = await connection.fetch(f"SELECT statement FROM {RESTORE_TABLE} ORDER BY n")
    await connection.close()
    statements = [row["statement"] for row in rows]
    foreign = [s for s in statements if "FOREIGN KEY" in s]
    others = [s for s in statements if "FOREIGN KEY" not in s]

    async def run(share: list[str]) -> None:
        connection = await asyncpg.connect(url)
        await connection.execute("SET maintenance_work_mem = '256MB'")
        for statement in share:
            await connection.execute(statement)
        await connection.close()

    await asyncio.gather(run(others[0::2]), run(others[1::2]))
    await run(foreign)
    connection = await asyncpg.connect(url)
    await connection.execute(f"DROP TABLE {RESTORE_TABLE}")
    await connection.close()


def generate(args, url: str) -> None:
    from backend import db
    from backend.county import rollups
    from backend.migrations import migrate

    async def prepare():
        await db.start()
        await migrate()
        return await templates_and_work(args, url)

    began = time.monotonic()
    templates, shares, written = asyncio.run(prepare())
    print(f"registries and {args.templates} templates ({written:,} events through the real "
          f"path): {time.monotonic() - began:.0f} s")  # fmt: skip
    asyncio.run(drop_indexes(url))
    began = time.monotonic()
    with ProcessPoolExecutor(args.jobs) as pool:
        copied = sum(pool.map(copy_stations, [url] * args.jobs, [templates] * args.jobs, shares))
    copy_s = time.monotonic() - began
    print(f"COPY: {copied:,} events in {copy_s:.0f} s ({copied / max(copy_s, 1):,.0f} events/s)")
    began = time.monotonic()
    asyncio.run(restore_indexes(url))
    print(f"indexes and keys built: {time.monotonic() - began:.0f} s")

    async def finish():
        await db.start()
        async with db.write_transaction():
            await db.execute("ANALYZE")
        async with db.read_transaction():
            events = (await db.fetch("SELECT COUNT(*) AS n FROM ledger_event"))[0]["n"]
        print(f"{events:,} events in all")
        began = time.monotonic()
        rebuilt = await rollups.rebuild()
        took = time.monotonic() - began
        print(f"rollup rebuild: {took:.0f} s ({rebuilt['days']:,} station-days)")
        async with db.read_transaction():
            size = await db.fetch("SELECT pg_size_pretty(pg_database_size(current_database())) s")
        print(f"database size: {size[0]['s']}")
        await db.stop()

    asyncio.run(finish())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="postgresql://… (a server)")
    parser.add_argument("--name", default="", help="the database to create (default: random)")
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--stations", type=int, default=300, help="stations per county")
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--per-day", type=int, default=46, help="entries per station and day")
    parser.add_argument("--templates", type=int, default=12, help="stations through the real path")
    parser.add_argument("--jobs", type=int, default=2, help="processes copying at once")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--resume", action="store_true", help="go on with --name's interrupted run (same sizes)"
    )
    args = parser.parse_args()

    name = args.name or f"bench_province_{uuid.uuid4().hex[:8]}"
    if not args.resume:
        asyncio.run(admin(args.database_url, f'CREATE DATABASE "{name}"'))
    url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    print(f"database (kept): {url}")
    from tests.server_process import environment

    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-gen-province-"))
    env = environment(workdir / "data", url, CUNZHAN_LOG_LEVEL="WARNING", CUNZHAN_LOG_JSON="0")
    os.environ.update({k: v for k, v in env.items() if k.startswith("CUNZHAN_")})
    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    generate(args, url)


if __name__ == "__main__":
    main()
