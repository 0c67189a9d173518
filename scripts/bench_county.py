#!/usr/bin/env python3
"""County benchmark: a year of history for 300 stations (~5 million events), then
  1. a full rollup rebuild,
  2. one more day's events through the real ingest (the ledger's `push`), and the incremental
     refresh after it,
  3. latency (p50/p95 over 100 requests each, and the server's CPU per request) of every county
     page a staff member opens (scripts/bench_county_pages.py) and the rollup API, from a real
     `cunzhan serve` process, logged in as county staff; the month's workbook (so far, and the
     last full month) 3 times each; then a table of the figures beside issue 17's goals.

History is written in bulk, straight into the tables, but in the shape the ledger writes: each raw
event passes the ledger's own validation (`check_event`) and projector (`apply_event`, which
assigns pickup codes and keeps parcels, dispatches, purchases, reversals and the cashbook), rows are
built like `_event_row` and hash-chained with `chain_hash`, one transaction per station.

Usage:
    .venv/bin/python scripts/bench_county.py                                  # SQLite, full size
    .venv/bin/python scripts/bench_county.py --stations 30 --days 60          # scaled down
    .venv/bin/python scripts/bench_county.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python scripts/bench_county.py --data-dir DIR --reuse --no-new-day --requests 20
(for PostgreSQL a fresh database is created next to the one named and dropped afterwards, unless
--keep; SQLite goes to a temporary directory unless --data-dir is given.)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import random
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import bench_county_pages  # noqa: E402  (scripts/bench_county_pages.py: the pages and the goals)

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
STAFF_PHONE, KEEPER_PHONE, PASSWORD = "13900000009", "13800000009", "bench-pass-1"
# A station's day: how often each kind of entry occurs (weights), ~46 entries a day on average.
MIX = (
    ("parcel.received", 14),
    ("parcel.picked_up", 13),
    ("parcel.returned", 1),
    ("parcel.dispatched", 6),
    ("purchase.ordered", 3),
    ("purchase.delivered", 2),
    ("sale.recorded", 3),
    ("service.recorded", 5),
)
SERVICES = ("phone_topup", "electricity", "water", "broadband", "ticket", "cash_withdrawal")
# A parcel still on the shelf this many days after it came is sent back on the morning round.
RETURN_AFTER_DAYS = 10
CARRIERS = (("SF", "SF", 13), ("JT", "JT", 13), ("YTO", "YT", 13), ("ZTO", "", 12))


def progress(label: str, done: int, total: int, started: float, extra: str = "") -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    elapsed = time.monotonic() - started
    eta = elapsed / done * (total - done) if done else 0
    sys.stderr.write(
        f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
        f"{extra} {elapsed:6.0f}s eta {eta:5.0f}s "
    )
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


# Raw events a keeper would send ---------------------------------------------------------------


class StationDay:
    """Makes one station's raw events for one day from what is on its shelf."""

    def __init__(self, rng: random.Random, households: list[str]):
        self.rng = rng
        self.households = households

    def tracking(self) -> tuple[str, str]:
        carrier, prefix, digits = self.rng.choice(CARRIERS)
        return carrier, f"{prefix}{self.rng.randrange(10**digits):0{digits}d}"

    def household(self) -> dict:
        if self.households and self.rng.random() < 0.12:
            return {"household_code": self.rng.choice(self.households)}
        return {}

    def events(self, day: datetime.date, state, count: int, checkin: bool) -> list[dict]:
        rng = self.rng
        start = datetime.datetime.combine(day, datetime.time(8), TZ)
        moments = sorted(rng.uniform(0, 12 * 3600) for _ in range(count + 1))
        kinds = rng.choices([k for k, _ in MIX], [w for _, w in MIX], k=count)
        shelf = dict(state.on_shelf)  # tracking_no → parcel id, as the day begins
        ordered = [p for p, s in state.purchases.items() if s.state == "ordered"]
        events = []
        if checkin:
            events.append(self._raw("checkin.recorded", {}, start + datetime.timedelta(minutes=5)))
        # The keeper's morning round, and pickups as many as arrivals (MIX): a shelf as a real
        # station's, a day's parcels or two. Before, a parcel went back only when drawn at
        # random, and arrivals outran pickups by one a day: a year left 118,000 parcels on 300
        # shelves, ~390 each, and the dashboard's shelf counts read all of them.
        round_at = start + datetime.timedelta(minutes=10)
        for tracking_no, parcel_id in list(shelf.items()):
            if (day - state.parcels[parcel_id].received_date).days >= RETURN_AFTER_DAYS:
                del shelf[tracking_no]
                back = {"tracking_no": tracking_no, "reason": "超期未取，退回"}
                events.append(self._raw("parcel.returned", back, round_at))
        for kind, offset in zip(kinds, moments, strict=False):
            moment = start + datetime.timedelta(seconds=offset)
            data = self._data(kind, state, shelf, ordered, day)
            if data is None:
                kind, data = "service.recorded", self._service()
            elif "reason" in data:
                kind = "parcel.returned"
            events.append(self._raw(kind, data, moment))
        # Now and then an entry typed by mistake is reversed before the day ends.
        mistakes = [e for e in events if e["type"] in ("sale.recorded", "service.recorded")]
        if mistakes and rng.random() < 0.3:
            target = rng.choice(mistakes)
            reversal = {"target_id": target["id"], "reason": "录错了"}
            late = start + datetime.timedelta(hours=12, minutes=5)
            events.append(self._raw("entry.reversed", reversal, late))
        return events

    def _raw(self, kind: str, data: dict, moment: datetime.datetime) -> dict:
        return {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "type": kind,
            "occurred_at": moment.isoformat(timespec="seconds"),
            "data": data,
        }

    def _service(self) -> dict:
        return {
            "service": self.rng.choice(SERVICES),
            "amount_fen": self.rng.randrange(1000, 20000),
            "fee_fen": self.rng.choice([0, 0, 100, 200]),
        }

    def _data(self, kind, state, shelf, ordered, day):
        rng = self.rng
        if kind == "parcel.received":
            carrier, number = self.tracking()
            phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
            return {"tracking_no": number, "carrier": carrier, "recipient_phone": phone}
        if kind in ("parcel.picked_up", "parcel.returned"):
            if not shelf:
                return None
            tracking_no = rng.choice(list(shelf))
            parcel = state.parcels[shelf.pop(tracking_no)]
            if kind == "parcel.returned":
                return {"tracking_no": tracking_no, "reason": "拒收，退回"}
            return {"tracking_no": tracking_no, "pickup_code": parcel.pickup_code}
        if kind == "parcel.dispatched":
            carrier, number = self.tracking()
            return {
                "tracking_no": number,
                "carrier": carrier,
                "weight_g": rng.randrange(300, 15000),
                "fee_fen": rng.randrange(800, 3000),
                "destination": rng.choice(["杭州市", "上海市", "广州市", "乌鲁木齐市"]),
                "farm_product": rng.random() < 0.55,
                **self.household(),
            }
        if kind == "purchase.ordered":
            return {
                "platform": rng.choice(["taobao", "jd", "pinduoduo", "youle"]),
                "item": rng.choice(["化肥", "手机", "衣服", "农药"]),
                "amount_fen": rng.randrange(2000, 80000),
                "commission_fen": rng.randrange(0, 1500),
                **self.household(),
            }
        if kind == "purchase.delivered":
            if not ordered:
                return None
            return {"purchase_id": str(ordered.pop(rng.randrange(len(ordered))))}
        if kind == "sale.recorded":
            amount_fen = rng.randrange(1000, 60000)
            return {
                "product": rng.choice(["核桃", "红枣", "葡萄干", "苹果"]),
                "quantity": rng.randrange(1, 50),
                "unit": "斤",
                "amount_fen": amount_fen,
                # the ledger refuses a commission above the sale (commission_exceeds_amount)
                "commission_fen": rng.randrange(0, min(2000, amount_fen)),
                "channel": rng.choice(["拼多多", "抖音", "微信"]),
                **self.household(),
            }
        return self._service()


# Building the history -------------------------------------------------------------------------


async def build_registry(
    stations: int,
    code: str = "BENCH",
    name: str = "基准县",
    staff_phone: str = STAFF_PHONE,
    keeper_phone: str = KEEPER_PHONE,
):
    from backend.accounts.schemas import UserCreate
    from backend.accounts.service import create_user
    from backend.registry import service as registry
    from backend.registry.schemas import (
        CountyCreate,
        HouseholdCreate,
        StationCreate,
        TownshipCreate,
        VillageCreate,
    )

    county = await registry.create_county(None, CountyCreate(name=name, code=code))
    townships = [
        await registry.create_township(None, county.id, TownshipCreate(name=f"第{n + 1}镇"))
        for n in range(max(1, stations // 20))
    ]
    station_ids, households = [], []
    for n in range(stations):
        township = townships[n % len(townships)]
        village = await registry.create_village(
            None,
            county.id,
            VillageCreate(township_id=township.id, name=f"{n + 1}村", poor=n % 3 == 0),
        )
        station = await registry.create_station(
            None,
            county.id,
            StationCreate(village_id=village.id, name=f"{n + 1}村服务站", code=f"S{n + 1:04d}"),
        )
        station_ids.append(station.id)
        for h in range(3):
            code = f"H{n + 1:04d}{h}"
            await registry.create_household(
                None, county.id, HouseholdCreate(village_id=village.id, code=code, poverty=h != 2)
            )
            households.append(code)
    await create_user(
        None,  # type: ignore[arg-type]
        county.id,
        UserCreate(phone=staff_phone, name="基准员工", password=PASSWORD, role="county_staff"),
    )
    keeper = await create_user(
        None,  # type: ignore[arg-type]
        county.id,
        UserCreate(
            phone=keeper_phone, name="基准站长", password=PASSWORD, station_id=station_ids[0]
        ),
    )
    return county.id, station_ids, households, keeper.id


async def write_station_history(station_id, keeper_id, households, days, per_day, seed) -> int:
    from backend import db
    from backend.ledger.chain import chain_hash
    from backend.ledger.projector import StationState, apply_event
    from backend.ledger.service import station_facts
    from backend.ledger.store import events as event_store
    from backend.ledger.store import projections as projection_store
    from backend.ledger.validation import Rejection, business_moment, canonical_json, check_event

    rng = random.Random(seed)
    maker = StationDay(rng, households)
    device_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    checkin_weekday = rng.randrange(5)
    async with db.write_transaction():
        facts = await station_facts(station_id)
        state = StationState(facts.id, facts.county_id, facts.shelves, facts.layers)
        state.households = set(households)
        seq, last_hash, rows = 0, event_store.GENESIS_HASH, []
        today = datetime.datetime.now(TZ).date()
        for back in range(days, 0, -1):
            day = today - datetime.timedelta(days=back)
            count = max(1, int(rng.gauss(per_day, per_day / 4)))
            checkin = day.weekday() == checkin_weekday and rng.random() < 0.9
            for raw in maker.events(day, state, count, checkin):
                occurred = datetime.datetime.fromisoformat(raw["occurred_at"])
                received_at = occurred + datetime.timedelta(seconds=rng.randrange(5, 1800))
                candidate = check_event(raw, received_at)
                business_date = (
                    business_moment(candidate.occurred_at, received_at).astimezone(TZ).date()
                )
                try:
                    applied = apply_event(
                        state, candidate.id, candidate.type, candidate.data, business_date,
                        candidate.occurred_at, received_at,
                    )  # fmt: skip
                except Rejection:
                    continue
                seq += 1
                row = event_store.EventRow(
                    id=candidate.id, station=facts.id, county=facts.county_id, seq=seq,
                    device_id=device_id, keeper=keeper_id, type=candidate.type,
                    occurred_at=candidate.occurred_at, received_at=received_at,
                    business_date=business_date, data=candidate.data_json,
                    server_data=canonical_json(applied.server_data),
                    content_hash=candidate.content_hash, prev_hash=last_hash,
                )  # fmt: skip
                row.hash = last_hash = chain_hash(last_hash, row)
                rows.append(row)
                if len(rows) >= 5000:
                    await event_store.insert(rows)
                    rows = []
        await event_store.insert(rows)
        await projection_store.write_projections(state)
        await event_store.lock_chain(station_id)  # the head at the genesis, then moved on
        await event_store.advance_chain(station_id, seq, last_hash)
    return seq


async def existing_history() -> dict:
    """The ids of a database built by an earlier run (--reuse), to measure again."""
    from backend import db
    from backend.migrations import migrate

    await db.start()
    await migrate()
    async with db.read_transaction():
        county = (await db.fetch("SELECT id FROM registry_county WHERE code = 'BENCH'"))[0]["id"]
        stations = await db.fetch(
            "SELECT id FROM registry_station WHERE county = $1 ORDER BY code", county
        )
        households = await db.fetch("SELECT code FROM registry_household WHERE county = $1", county)
        keeper = await db.fetch("SELECT id FROM accounts_user WHERE phone = $1", KEEPER_PHONE)
        events = await db.fetch("SELECT COUNT(*) AS n FROM ledger_event")
    await db.stop()
    return {
        "county_id": uuid.UUID(str(county)),
        "station_ids": [uuid.UUID(str(row["id"])) for row in stations],
        "households": [row["code"] for row in households],
        "keeper_id": uuid.UUID(str(keeper[0]["id"])),
        "events": events[0]["n"],
        "generation_s": 0.0,
    }


async def build_history(args) -> dict:
    from backend import db
    from backend.migrations import migrate

    await db.start()
    await migrate()
    county_id, station_ids, households, keeper_id = await build_registry(args.stations)
    started, total = time.monotonic(), 0
    for index, station_id in enumerate(station_ids, start=1):
        total += await write_station_history(
            station_id, keeper_id, households, args.days, args.per_day, seed=index
        )
        progress("history", index, len(station_ids), started, f"{total:,} events")
    generation = time.monotonic() - started
    async with db.write_transaction():
        await db.execute("ANALYZE")
    await db.stop()
    return {
        "county_id": county_id,
        "station_ids": station_ids,
        "households": households,
        "keeper_id": keeper_id,
        "events": total,
        "generation_s": generation,
    }


# Measuring ------------------------------------------------------------------------------------


async def measure_rollups(built: dict, per_day: int, new_day: bool, rebuild: bool = True) -> dict:
    from backend import db
    from backend.county import rollups

    await db.start()
    figures: dict = {"rebuild_s": None}
    if rebuild:
        began, cpu = time.monotonic(), time.process_time()
        rebuilt = await rollups.rebuild()
        figures["rebuild_s"] = time.monotonic() - began
        figures["rebuild_cpu_s"] = time.process_time() - cpu  # this process and its SQLite threads
        figures["rebuild_days"] = rebuilt["days"]
    async with db.read_transaction():
        figures["rollup_rows"] = (await db.fetch("SELECT COUNT(*) AS n FROM county_rollup"))[0]["n"]
    if new_day:
        await _one_more_day(built, per_day, figures)
    await db.stop()
    return figures


async def _one_more_day(built: dict, per_day: int, figures: dict) -> None:
    from backend import db, runtime
    from backend.accounts.schemas import CurrentUser
    from backend.county import rollups
    from backend.ledger import ingest
    from backend.ledger.service import station_facts
    from backend.ledger.store import projections as projection_store
    from backend.settings import get_settings

    # One more day: today's entries of every station through the ledger's real ingest.
    rng = random.Random(time.time_ns())  # not any station's history seed: ids stay unique
    today = datetime.datetime.now(TZ).date()
    began, added = time.monotonic(), 0
    for index, station_id in enumerate(built["station_ids"], start=1):
        user = CurrentUser(
            id=built["keeper_id"], role="keeper", station_id=station_id,
            county_id=built["county_id"], language="zh-CN", name="站长", phone=KEEPER_PHONE,
            session_id=uuid.uuid4(),
        )  # fmt: skip
        async with db.read_transaction():
            facts = await station_facts(station_id)
            state = await projection_store.load_state(facts, [])
            shelf = await projection_store.find_parcels(
                station_id, "on_shelf", None, None, None, None, limit=10**9
            )
            for parcel in shelf:
                projection_store.add_parcel(state, parcel)
        events = StationDay(rng, built["households"]).events(today, state, per_day, False)
        now = datetime.datetime.now(TZ)
        for raw in events:  # nothing from the future: the day so far
            if datetime.datetime.fromisoformat(raw["occurred_at"]) > now:
                raw["occurred_at"] = now.isoformat(timespec="seconds")
        async with runtime.running():
            pushed = await ingest.push(get_settings(), user, uuid.uuid4(), events, "zh-CN")
        answer = pushed.answer
        added += sum(1 for r in answer.results if r.status == "accepted")
        if index % 10 == 0 or index == len(built["station_ids"]):
            progress("one day", index, len(built["station_ids"]), began, f"{added:,} events")
    figures["day_events"] = added
    figures["day_ingest_s"] = time.monotonic() - began
    began = time.monotonic()
    figures["refresh_pairs"] = await rollups.refresh()
    figures["refresh_s"] = time.monotonic() - began
    began = time.monotonic()
    await rollups.refresh()
    figures["idle_refresh_s"] = time.monotonic() - began


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
    parser.add_argument("--stations", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=46, help="entries per station and day")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url", default="", help="postgresql://… (default: SQLite)")
    parser.add_argument(
        "--database-name", default="", help="PostgreSQL: the new database's name (default: random)"
    )
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure again on the database of an earlier run"
    )
    parser.add_argument(
        "--no-new-day",
        action="store_true",
        help="skip pushing one more day (a --reuse run then leaves the database as it was)",
    )
    parser.add_argument(
        "--pages",
        default="",
        help="time only the pages whose label contains one of these comma-separated words "
        "(e.g. scorecard,township); workbooks only when one is named (export.xlsx)",
    )
    parser.add_argument(
        "--no-rebuild", action="store_true", help="with --reuse: skip the full rebuild"
    )
    args = parser.parse_args()

    workdir = Path(args.data_dir or tempfile.mkdtemp(prefix="cunzhan-bench-county-"))
    workdir.mkdir(parents=True, exist_ok=True)
    postgres = args.database_url.startswith("postgresql://")
    if postgres and args.reuse:
        url, name = args.database_url, args.database_url.rsplit("/", 1)[1]
        args.keep = True
    elif postgres:
        name = args.database_name or f"cunzhan_bench_county_{uuid.uuid4().hex[:8]}"
        asyncio.run(admin(args.database_url, f'CREATE DATABASE "{name}"'))
        url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
        if args.keep:
            print(f"database kept: {url}")
    else:
        url = f"sqlite:///{workdir}/bench.db"
    from tests.server_process import environment

    env = environment(workdir / "data", url, CUNZHAN_LOG_LEVEL="WARNING", CUNZHAN_LOG_JSON="0")
    os.environ.update({k: v for k, v in env.items() if k.startswith("CUNZHAN_")})
    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    engine = "PostgreSQL" if postgres else "SQLite"
    try:
        if not args.reuse:
            print(f"engine {engine}; {args.stations} stations × {args.days} days "
                  f"× ~{args.per_day}/day")  # fmt: skip
        built = asyncio.run(existing_history() if args.reuse else build_history(args))
        if args.reuse:
            print(f"history: {built['events']:,} events (reused)")
        else:
            print(f"history: {built['events']:,} events in {built['generation_s']:.0f} s "
                  f"({built['events'] / built['generation_s']:,.0f} events/s)")  # fmt: skip
        print(f"engine {engine}: {len(built['station_ids'])} stations")
        rollup = asyncio.run(
            measure_rollups(built, args.per_day, not args.no_new_day, not args.no_rebuild)
        )
        if rollup.get("rebuild_s") is not None:
            print(f"full rebuild: {rollup['rebuild_s']:.1f} s, "
                  f"{rollup['rebuild_cpu_s']:.1f} s CPU ({rollup['rebuild_days']:,} station-days, "
                  f"{rollup['rollup_rows']:,} rollup rows)")  # fmt: skip
        if "day_events" in rollup:
            print(f"one day's events: {rollup['day_events']:,} through the ledger's push in "
                  f"{rollup['day_ingest_s']:.1f} s")  # fmt: skip
            print(f"incremental refresh after that day: {rollup['refresh_s']:.2f} s "
                  f"({rollup['refresh_pairs']} station-days); with nothing new: "
                  f"{rollup['idle_refresh_s']:.2f} s")  # fmt: skip
        print(f"load before the pages: {os.getloadavg()}")
        chosen = [word for word in args.pages.split(",") if word]
        pages = bench_county_pages.measure_pages(
            env, built, args.requests, (STAFF_PHONE, PASSWORD), chosen
        )
        print(f"load after the pages: {os.getloadavg()}")
        bench_county_pages.print_table(pages, rollup, args.requests)
    finally:
        if postgres and not args.keep:
            asyncio.run(admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
