"""Running a job once for a window and recording it; what the jobs page and `jobs list` show.

A run first claims its (name, window) row — the unique index makes the claim atomic — then does
the work and records counts or the error. A window already claimed is skipped, so a job runs once
per window even when two processes both think they hold the lease for a moment.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
import traceback
import uuid
from dataclasses import dataclass, field

from backend import clock, db
from backend.errors import DomainError
from backend.i18n import translate
from backend.jobs import lease, store
from backend.jobs.fanout import PartialFailure
from backend.jobs.registry import JOBS, JobSpec, interval_seconds
from backend.jobs.schemas import JobOut, JobRunOut, JobsOverview, LeaseOut
from backend.settings import Settings

log = logging.getLogger("cunzhan.jobs")

ERROR_LIMIT = 2000


@dataclass
class RunResult:
    name: str
    window_key: str
    ran: bool  # False when another run had claimed this window already
    status: str = "skipped"
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    def one_line(self) -> str:
        if not self.ran:
            return f"{self.name}: window {self.window_key} already ran; nothing done"
        counts = " ".join(f"{key}={value}" for key, value in self.counts.items()) or "no counts"
        line = f"{self.name}: {self.status} in {self.seconds:.2f} s: {counts}"
        return f"{line} (error: {self.error.splitlines()[-1]})" if self.error else line


def spec_for(name: str) -> JobSpec:
    spec = JOBS.get(name)
    if spec is None:
        raise DomainError("jobs.unknown_job", status=404, name=name, names=", ".join(JOBS))
    return spec


def tick_window(spec: JobSpec, now: datetime.datetime) -> str:
    """The scheduler's window: the tick slot `now` falls in, the same in every process."""
    interval = interval_seconds(spec)
    slot = math.floor(now.timestamp() / interval)
    start = datetime.datetime.fromtimestamp(slot * interval, datetime.UTC)
    return start.isoformat(timespec="milliseconds" if interval < 1 else "seconds")


async def run_job(
    settings: Settings,
    name: str,
    *,
    window_key: str,
    trigger: str,
    holder: str,
    now: datetime.datetime | None = None,
) -> RunResult:
    """Claim the window, run the job, record the outcome. Errors are recorded, not raised."""
    spec = spec_for(name)
    now = now or clock.utcnow()
    run_id = uuid.uuid4()
    claimed = await store.claim_run(
        run_id=run_id,
        name=spec.name,
        window_key=window_key,
        trigger=trigger,
        holder=holder,
        started_at=now,
    )
    if not claimed:
        return RunResult(name=name, window_key=window_key, ran=False)
    began = time.monotonic()
    try:
        counts = await spec.run(now, settings)
        status, error = "done", ""
    except PartialFailure as failure:
        log.error("job %s failed in part in window %s: %s", name, window_key, failure)
        counts, status, error = failure.counts, "failed", str(failure)
    except Exception:
        log.exception("job %s failed in window %s", name, window_key)
        counts, status, error = {}, "failed", traceback.format_exc()
    result = RunResult(
        name=name,
        window_key=window_key,
        ran=True,
        status=status,
        counts=dict(counts),
        error=error,
        seconds=time.monotonic() - began,
    )
    await store.finish_run(run_id, status, result.counts, error[-ERROR_LIMIT:])
    # A tick that found nothing to do is routine: keep the log for runs that did something.
    level = logging.INFO if any(result.counts.values()) or status != "done" else logging.DEBUG
    log.log(level, "job %s %s: %s", name, status, result.counts)
    return result


async def run_now(
    settings: Settings, name: str, now: datetime.datetime | None = None, holder: str = ""
) -> RunResult:
    """`cunzhan jobs run NAME`: a run of its own, outside the scheduler's windows. Whatever the
    job already sent in its business window (this week, this day) is not sent again."""
    spec_for(name)
    now = now or clock.utcnow()
    window_key = f"manual:{now.isoformat(timespec='microseconds')}:{uuid.uuid4().hex[:6]}"
    return await run_job(
        settings,
        name,
        window_key=window_key,
        trigger="manual",
        holder=holder or lease.new_holder_id(),
        now=now,
    )


async def mark_abandoned(new_holder: str) -> int:
    """When the lease changes hands, runs still "running" under other holders died with their
    process (a run that was merely slow still records its own outcome over this)."""
    return await store.abandon_runs(new_holder)


def _run_out(row: store.RunRow) -> JobRunOut:
    error = row.error.strip()
    return JobRunOut(
        window_key=row.window_key,
        trigger=row.trigger,
        holder=row.holder,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        counts=row.counts,
        error=error.splitlines()[-1] if error else "",
    )


async def overview(language: str = "zh-CN", recent: int = 5) -> JobsOverview:
    """Every job with its tick and latest runs, and who holds the scheduler lease."""
    jobs = []
    async with db.read_transaction():
        for spec in JOBS.values():
            runs = [_run_out(row) for row in await store.recent_runs(spec.name, recent)]
            jobs.append(
                JobOut(
                    name=spec.name,
                    label=translate(f"jobs.name.{spec.name}", language),
                    description=spec.description,
                    interval_seconds=interval_seconds(spec),
                    last_run=runs[0] if runs else None,
                    recent_runs=runs,
                )
            )
        current = await lease.current()
    holder = None
    if current is not None:
        holder = LeaseOut(
            holder=current.holder,
            acquired_at=current.acquired_at,
            renewed_at=current.renewed_at,
            expires_at=current.expires_at,
            live=current.live,
        )
    return JobsOverview(lease=holder, jobs=jobs)
