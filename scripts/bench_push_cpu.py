#!/usr/bin/env python3
"""The CPU of a push's per-event work, in one process, without HTTP or a client beside it:
`ingest.push` called directly, as the sync route calls it, on a fresh SQLite database.

    .venv/bin/python scripts/bench_push_cpu.py [--events 20000] [--batch 500] [--stations 1]
                                               [--profile FILE]

A keeper of a station made in tests/support.py's world pushes `--events` events of
scripts/bench_ingest.py's mix (parcels received and left on the shelf, top-ups, sales,
dispatches) in batches of `--batch`, each answer encoded as the route would. With `--stations N`,
N stations' keepers push the same batches at once, each taking the next batch as soon as its
answer comes (bench_sync.py's capacity phase without HTTP: `--stations 50 --batch 20`).
Prints the rate and the CPU seconds per 1,000 events of the whole process, of the event loop's
thread (validation, answers) and of the rest (SQLite's connection thread: judging, hashing,
projecting, writing). A client and a server sharing the machine's cores blur those figures in
scripts/bench_sync.py; here only the server's work runs. `--profile FILE` writes a cProfile of
the work run in SQLite's connection thread (pstats format).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA_DIR = tempfile.mkdtemp(prefix="cunzhan-bench-push-")
os.environ.update(
    PICCOLO_CONF="backend.piccolo_conf",
    CUNZHAN_DATA_DIR=DATA_DIR,
    CUNZHAN_DATABASE_URL=f"sqlite:///{DATA_DIR}/bench.db",
    CUNZHAN_SCHEDULER="0",
    CUNZHAN_LOG_JSON="0",
    CUNZHAN_DEMO_HISTORY_DAYS="0",
    CUNZHAN_API_RATE_LIMIT_PER_MINUTE="1000000",
)


def thread_cpu() -> dict[str, float]:
    """User + system CPU seconds of each of this process's threads, by thread id."""
    seconds = {}
    for tid in os.listdir(f"/proc/{os.getpid()}/task"):
        stat = Path(f"/proc/{os.getpid()}/task/{tid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()
        seconds[tid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


async def main_async(args) -> None:
    import cProfile

    import msgspec
    from argon2 import PasswordHasher
    from bench_ingest import make_events

    from backend import db, runtime, sqlite_engine
    from backend.accounts import service as accounts
    from backend.accounts.schemas import CurrentUser
    from backend.app import create_app
    from backend.ledger import ingest
    from backend.migrations import migrate
    from backend.settings import get_settings
    from tests.support import asgi_client, build_world, running

    accounts.PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    await db.start()
    await migrate()
    profile = cProfile.Profile() if args.profile else None
    if profile is not None:
        drive = sqlite_engine.drive

        def profiled(raw, work):
            profile.enable()
            try:
                return drive(raw, work)
            finally:
                profile.disable()

        sqlite_engine.drive = profiled
    app = create_app()
    async with runtime.running(), running(app), asgi_client(app) as client:
        world = await build_world(client)
        users = await keepers(client, world, args.stations)
        settings, encoder = get_settings(), msgspec.json.Encoder()
        # Made once: made again for each batch, 2,000 batches of 20 took minutes.
        events = make_events(args.events, seed=11)
        bodies = [
            json.dumps(events[start : start + args.batch]).encode()
            for start in range(0, args.events, args.batch)
        ]
        gc.collect()
        gc.freeze()  # as `cunzhan serve` does
        gc.set_threshold(20_000)
        loop_thread = str(threading.get_native_id())
        began, before = time.perf_counter(), thread_cpu()
        waiting = bodies[::-1]

        async def phone(user: CurrentUser) -> None:
            device = uuid.uuid4()
            while waiting:
                batch = msgspec.json.decode(waiting.pop())
                pushed = await ingest.push(settings, user, device, batch, "zh")
                encoder.encode(pushed.answer)
                refused = [r for r in pushed.answer.results if r.status != "accepted"]
                assert not refused, refused[:1]

        await asyncio.gather(*(phone(user) for user in users))
        wall, after = time.perf_counter() - began, thread_cpu()
    await db.stop()
    if profile is not None:
        profile.dump_stats(args.profile)
    total = sum(after.values()) - sum(before.get(tid, 0) for tid in after)
    loop = after[loop_thread] - before[loop_thread]
    per = 1000 / args.events
    print(
        f"{args.events:,} events in batches of {args.batch} from {len(users)} station(s): "
        f"{wall:.2f} s, "
        f"{args.events / wall:,.0f} events/s; CPU s per 1,000 events {total * per:.4f} "
        f"(event loop {loop * per:.4f}, other threads {(total - loop) * per:.4f}); "
        f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


async def keepers(client, world, count: int) -> list:
    """`count` stations of the world's county, each with a keeper, made by its staff as the load
    script makes them (scripts/loadtest.py: `provision`)."""
    import random

    import msgspec
    from loadtest import provision

    from backend.accounts.schemas import CurrentUser
    from tests.support import PASSWORD

    staff = (world.staff.phone, PASSWORD)
    phones, _, _ = await provision(client, "", count, random.Random(5), staff, "1391")
    users = []
    for phone in phones:
        me = (await client.get("/api/v1/auth/me", headers=phone.headers)).raise_for_status().json()
        users.append(msgspec.convert({**me, "session_id": str(uuid.uuid4())}, CurrentUser))
    return users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--stations", type=int, default=1, help="stations pushing at once")
    parser.add_argument("--profile", help="cProfile of the connection thread's work to FILE")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    try:
        asyncio.run(main_async(args))
    finally:
        shutil.rmtree(DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
