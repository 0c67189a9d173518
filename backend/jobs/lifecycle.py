"""Starting and stopping the scheduler with the app: every `serve` process runs one.

Each process's APScheduler (AsyncIOScheduler, on the app's loop) renews the database lease every
few seconds and ticks every job on a grid aligned to the epoch, so all processes agree on the
windows. A tick does work only while this process holds the lease; the (name, window) claim in
`service.run_job` stops a second run of a window should two processes overlap for a moment.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import math
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from litestar import Litestar

from backend import clock
from backend.jobs import lease
from backend.jobs.registry import JOBS, interval_seconds
from backend.jobs.service import mark_abandoned, run_job, tick_window
from backend.runtime import Runtime, use
from backend.settings import Settings

log = logging.getLogger("cunzhan.jobs")

# Stop acting as holder this long before the lease would expire in the database, so a slow
# renewal never lets two holders tick at once.
SAFETY_FRACTION = 0.2
STANDBY_POLL_SECONDS = 2.0
# At shutdown, running jobs get this long to finish before they are cancelled (APScheduler's
# asyncio executor cancels them outright; a query cancelled mid-flight can stall the pool's close).
SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass
class SchedulerState:
    holder: str
    scheduler: AsyncIOScheduler
    settings: Settings  # the app's, handed to every job
    runtime: Runtime  # the app's, current while a job runs
    valid_until: datetime.datetime | None = None
    renewed_at: datetime.datetime | None = None
    running: set[asyncio.Task] = field(default_factory=set)

    def holds(self, now: datetime.datetime) -> bool:
        if self.valid_until is None:
            return False
        margin = datetime.timedelta(seconds=lease.ttl_seconds() * SAFETY_FRACTION)
        return now < self.valid_until - margin


async def tracked(state: SchedulerState, work, *args) -> None:
    """Run a scheduled coroutine, known to `stop` so that it can let it finish."""
    task = asyncio.current_task()
    if task is not None:
        state.running.add(task)
    try:
        with use(state.runtime):
            await work(state, *args)
    finally:
        if task is not None:
            state.running.discard(task)


async def renew_lease(state: SchedulerState) -> None:
    """Every poll: the holder renews once a third of the TTL has passed; the others only read,
    and try to take the lease once it expired or was handed back (a holder shutting down)."""
    now = clock.utcnow()
    was_holder = state.holds(now)
    try:
        if was_holder:
            if state.renewed_at and now - state.renewed_at < _seconds(lease.renew_seconds()):
                return
        else:
            current = await lease.current()
            if current and current.holder != state.holder and current.live:
                state.valid_until = None
                return
        held = await lease.acquire(state.holder)
    except Exception:
        # The database hiccuped: keep the old expiry, which runs out on its own.
        log.exception("could not renew the jobs lease")
        return
    # The database's clock decided; this process counts the remaining time on its own clock.
    state.valid_until = now + held.remaining if held else None
    state.renewed_at = now if held else None
    if held and not was_holder:
        log.info("jobs lease taken by %s", state.holder)
        await _forget_dead_runs(state.holder)
    elif was_holder and not held:
        log.warning("jobs lease lost by %s", state.holder)


async def _forget_dead_runs(holder: str) -> None:
    try:
        abandoned = await mark_abandoned(holder)
    except Exception:
        log.exception("could not mark the runs of a dead holder")
        return
    if abandoned:
        log.warning("%d job run(s) of a previous holder marked abandoned", abandoned)


def _seconds(value: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=value)


def poll_seconds() -> float:
    """How often every process looks at the lease: a standby notices a handed-back lease within
    this, while the holder writes only every renew_seconds()."""
    return min(lease.renew_seconds(), STANDBY_POLL_SECONDS)


async def tick(state: SchedulerState, name: str) -> None:
    """A scheduled tick of one job: runs it for the current window if this process holds the
    lease."""
    now = clock.utcnow()
    if not state.holds(now):
        return
    await run_job(
        state.settings,
        name,
        window_key=tick_window(JOBS[name], now),
        trigger="schedule",
        holder=state.holder,
        now=now,
    )


def _aligned_start(interval: float, now: datetime.datetime) -> datetime.datetime:
    """The next multiple of the interval since the epoch: every process ticks on the same grid."""
    return datetime.datetime.fromtimestamp(
        math.ceil(now.timestamp() / interval) * interval, datetime.UTC
    )


def _add_jobs(state: SchedulerState) -> None:
    scheduler = state.scheduler
    now = clock.utcnow()
    renew_every = poll_seconds()
    scheduler.add_job(
        tracked,
        IntervalTrigger(seconds=renew_every, start_date=now, timezone=datetime.UTC),
        args=[state, renew_lease],
        id="jobs-lease",
        name="jobs-lease",  # what APScheduler's own lines call it (else its function: "tracked")
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, int(renew_every)),
    )
    for spec in JOBS.values():
        interval = interval_seconds(spec)
        scheduler.add_job(
            tracked,
            IntervalTrigger(
                seconds=interval, start_date=_aligned_start(interval, now), timezone=datetime.UTC
            ),
            args=[state, tick, spec.name],
            id=f"job-{spec.name}",
            name=spec.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(interval)),
        )


async def start(app: Litestar) -> None:
    """Start this process's scheduler; it competes for the lease at once and then every few s."""
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=datetime.UTC)
    state = SchedulerState(
        holder=lease.new_holder_id(),
        scheduler=scheduler,
        settings=app.state.settings,
        runtime=app.state.runtime,
    )
    await renew_lease(state)
    _add_jobs(state)
    scheduler.start()
    app.state.jobs_scheduler = state
    log.info("jobs scheduler started as %s (holder: %s)", state.holder, state.holds(clock.utcnow()))


async def stop(app: Litestar) -> None:
    """Stop the scheduler, let running jobs finish (bounded), and hand the lease back so that
    another process need not wait for the TTL."""
    state: SchedulerState | None = app.state.get("jobs_scheduler")
    if state is None:
        return
    app.state.jobs_scheduler = None
    state.scheduler.pause()
    if state.running:
        await asyncio.wait(set(state.running), timeout=SHUTDOWN_GRACE_SECONDS)
    state.scheduler.shutdown(wait=False)
    if state.valid_until is not None:
        try:
            await lease.release(state.holder)
        except Exception:
            log.exception("could not release the jobs lease")
