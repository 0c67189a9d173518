"""The `cunzhan` command: serve, migrate, demo, jobs, verify, rebuild, backup and keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")


def _run(coroutine_factory: Callable[[], Awaitable[Any]]) -> Any:
    """Run one async command with the database and a runtime opened and closed around it."""
    from backend import db, runtime

    async def main() -> Any:
        await db.start()
        try:
            async with runtime.running():
                return await coroutine_factory()
        finally:
            await db.stop()

    return asyncio.run(main())


def cmd_migrate(args: argparse.Namespace) -> int:
    from backend.migrations import migrate, pending_migrations

    if not args.progress:
        _run(lambda: migrate(quiet=args.quiet))
        return 0
    started = time.monotonic()

    async def with_progress() -> str:
        pending = await pending_migrations()
        from rich.console import Console

        what = (
            "every migration"
            if pending[:1] == ["(none applied yet)"]
            else f"{len(pending)} migration(s)"
        )
        with Console(stderr=True).status(f"applying {what}…"):
            await migrate(quiet=True)
        return what

    what = _run(with_progress)
    print(f"  ✓ {what} applied in {time.monotonic() - started:.1f}s")
    return 0


# glibc raises its mmap threshold to the largest block freed so far: after the first argon2 hash
# (19 MiB) every later one comes from a thread's heap and stays there, ~40 MB never returned.
# A fixed threshold keeps big blocks mmapped, so they go back to the system when freed. And each
# thread (a dozen SQLite and worker threads) would get its own malloc arena, each keeping its
# freed memory: two arenas held the server's RSS under load ~20 MB lower (scripts/bench_sync.py).
MMAP_THRESHOLD_BYTES = 1024 * 1024
MALLOC_ARENAS = 2


def _bound_the_heap() -> None:
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD_BYTES))  # --workers
    os.environ.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))
    os.environ.setdefault("CUNZHAN_SETTLE_HEAP", "1")  # see app.settle_heap
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, MMAP_THRESHOLD_BYTES)  # M_MMAP_THRESHOLD
        libc.mallopt(-8, MALLOC_ARENAS)  # M_ARENA_MAX


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    _bound_the_heap()

    from backend.logs import configure
    from backend.migrations import pending_migrations
    from backend.settings import get_settings

    settings = get_settings()
    configure(settings.log_level, settings.log_json)
    pending = _run(pending_migrations)
    if pending:
        print(
            f"{len(pending)} migration(s) not applied ({', '.join(pending[:3])}…): "
            "run `cunzhan migrate` first.",
            file=sys.stderr,
        )
        return 2
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from backend.demo.service import load_demo
    from backend.settings import get_settings

    if not args.progress:
        print(_run(lambda: load_demo(get_settings(), if_empty=args.if_empty)))
        return 0
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "  demo history, stations",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,  # the summary line below replaces it
    ) as bar:
        task = bar.add_task("history", total=None)

        def told(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = _run(lambda: load_demo(get_settings(), if_empty=args.if_empty, progress=told))
    print(f"  ✓ {summary}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from backend.ledger.integrity import verify

    report = _run(verify)
    print(f"checked {report['events']} events of {report['stations']} stations")
    for broken in report["broken"]:
        print(
            f"BROKEN: station {broken['station_code']} ({broken['station_id']}) at seq "
            f"{broken['seq']}, event {broken['event_id'] or '-'}: {broken['problem']}"
        )
    if not report["broken"]:
        print("every hash chain verifies from its first event")
    return 1 if report["broken"] else 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from backend.ledger.integrity import rebuild

    result = _run(rebuild)
    print(
        f"rebuilt the projections of {result['stations']} stations from {result['events']} events"
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.ops.service import backup, default_backup_path
    from backend.settings import get_settings

    settings = get_settings()
    target = backup(settings, Path(args.target) if args.target else default_backup_path(settings))
    print(f"backup written to {target} ({target.stat().st_size} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.ops.service import BackupError, restore
    from backend.settings import get_settings

    try:
        restore(get_settings(), Path(args.source), force=args.force)
    except BackupError as error:
        print(f"restore refused: {error}", file=sys.stderr)
        return 2
    print(f"restored from {args.source}; run `cunzhan verify` to check every chain")
    return 0


def cmd_jobs_run(args: argparse.Namespace) -> int:
    from backend.jobs.registry import JOBS

    if args.name not in JOBS:
        print(
            f"unknown job {args.name!r}; the jobs are: {', '.join(JOBS)}",
            file=sys.stderr,
        )
        return 2
    from backend.jobs.service import run_now
    from backend.settings import get_settings

    result = _run(lambda: run_now(get_settings(), args.name))
    print(result.one_line())
    return 0 if result.status != "failed" else 1


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from backend.jobs.service import overview

    jobs = _run(overview)
    holder = jobs.lease.holder if jobs.lease and jobs.lease.live else "nobody"
    print(f"scheduler lease held by: {holder}")
    for job in jobs.jobs:
        last = job.last_run
        ran = (
            f"last {last.status} {last.started_at:%Y-%m-%d %H:%M:%S} UTC by {last.holder}: "
            + (" ".join(f"{key}={value}" for key, value in last.counts.items()) or "-")
            if last
            else "never ran"
        )
        print(f"{job.name:<17} every {job.interval_seconds:g} s  {ran}")
    return 0


def cmd_vapid_keys(args: argparse.Namespace) -> int:
    from backend.notify.keys import generate_pair, vapid_pair
    from backend.settings import get_settings

    if args.generate:  # a pair for CUNZHAN_VAPID_PRIVATE_KEY; nothing is stored
        pair = generate_pair()
        print(f"CUNZHAN_VAPID_PRIVATE_KEY={pair.private_key}")
        print(f"public key: {pair.public_key}")
        return 0
    print(_run(lambda: vapid_pair(get_settings())).public_key)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cunzhan", description="村站通 Cunzhan")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API, the PWA and the county pages")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--quiet", action="store_true")
    migrate.add_argument("--progress", action="store_true", help="say what is being done")
    migrate.set_defaults(handler=cmd_migrate)

    demo = commands.add_parser("demo", help="load the demo county (idempotent)")
    demo.add_argument(
        "--if-empty", action="store_true", help="only when the database has no county yet"
    )
    demo.add_argument("--progress", action="store_true", help="a progress bar per station")
    demo.set_defaults(handler=cmd_demo)

    verify = commands.add_parser("verify", help="walk every station's hash chain")
    verify.set_defaults(handler=cmd_verify)

    rebuild = commands.add_parser("rebuild", help="recompute every projection from the ledger")
    rebuild.set_defaults(handler=cmd_rebuild)

    backup = commands.add_parser("backup", help="copy the whole database to a file, online")
    backup.add_argument("target", nargs="?", help="default: data/backups/cunzhan-<time>.*")
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser("restore", help="put a backup in place (server stopped)")
    restore.add_argument("source")
    restore.add_argument("--force", action="store_true", help="replace a database holding data")
    restore.set_defaults(handler=cmd_restore)

    vapid = commands.add_parser(
        "vapid-keys", help="print the Web Push (VAPID) public key, made and kept on first use"
    )
    vapid.add_argument(
        "--generate", action="store_true", help="print a new pair for configuration instead"
    )
    vapid.set_defaults(handler=cmd_vapid_keys)

    jobs = commands.add_parser("jobs", help="the scheduled jobs: run one now, or list them")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    jobs_run = job_commands.add_parser("run", help="run a job now for the current window")
    jobs_run.add_argument("name", help="checkin-reminder, parcel-overdue, rollup, province-report")
    jobs_run.set_defaults(handler=cmd_jobs_run)
    jobs_list = job_commands.add_parser("list", help="each job's tick and last run")
    jobs_list.set_defaults(handler=cmd_jobs_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
