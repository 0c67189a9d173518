"""The scheduled jobs by name: what each calls and how often the holder's scheduler ticks it.

Every job takes the current time (tests inject it) and the settings of the app that runs it, and
returns counts of what it did. The jobs decide for themselves whether anything is due (a county's
reminder hour, a day not yet reported), so a tick every few minutes is enough and a missed tick
after downtime catches up on the next.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from backend.jobs import store
from backend.settings import Settings

Counts = dict[str, int]
KEEP_RUNS_DAYS = 30  # every tick is recorded: ~3,000 rows a day with the default ticks
JobFunction = Callable[[datetime.datetime, Settings], Awaitable[Counts]]


async def _checkin_reminder(now: datetime.datetime, settings: Settings) -> Counts:
    from backend.jobs.checkin import send_checkin_reminders

    return await send_checkin_reminders(settings, now)


async def _parcel_overdue(now: datetime.datetime, settings: Settings) -> Counts:
    from backend.jobs.overdue import mark_and_remind_overdue

    return await mark_and_remind_overdue(settings, now)


async def _rollup(now: datetime.datetime, settings: Settings) -> Counts:
    from backend.county.frozen import freeze_missing_everywhere
    from backend.county.rollups import refresh
    from backend.province.service import refresh_lines

    frozen = await freeze_missing_everywhere()  # months closed before closing froze them
    refreshed = int(await refresh() or 0)
    # The province's lines, counted once here from the fresh rollups instead of per page view.
    return {"refreshed": refreshed, "frozen": frozen, "province_lines": await refresh_lines()}


async def _province_report(now: datetime.datetime, settings: Settings) -> Counts:
    from backend.county.reporting import send_daily_reports

    return {"sent": int(await send_daily_reports(settings) or 0)}


async def _push_retry(now: datetime.datetime, settings: Settings) -> Counts:
    """Retries push sends whose back-off expired, and sends the villagers' SMS still waiting."""
    from backend.notify import service as notify
    from backend.notify import villagers

    return {
        "retried": int(await notify.retry_due(settings) or 0),
        "villager_sms": await villagers.send_pending(settings),
    }


async def _prune_runs(now: datetime.datetime, settings: Settings) -> Counts:
    return {"deleted": await store.prune_runs(now - datetime.timedelta(days=KEEP_RUNS_DAYS))}


@dataclass(frozen=True)
class JobSpec:
    name: str
    run: JobFunction
    interval_seconds: int  # the scheduler's tick; the job itself decides what is due
    description: str


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "checkin-reminder",
            _checkin_reminder,
            300,
            "push to keepers whose station has not checked in this week, at the county's "
            "day and hour, and a second nudge a day later",
        ),
        JobSpec(
            "parcel-overdue",
            _parcel_overdue,
            600,
            "mark parcels on the shelf past the county's limit for return; remind daily",
        ),
        JobSpec("rollup", _rollup, 300, "refresh the county aggregates"),
        JobSpec(
            "province-report",
            _province_report,
            900,
            "send each county's daily figures to the provincial platform",
        ),
        JobSpec("push-retry", _push_retry, 60, "retry push sends whose back-off expired"),
        JobSpec("prune-runs", _prune_runs, 3600, "forget job runs older than 30 days"),
    )
}


def interval_seconds(spec: JobSpec) -> float:
    """CUNZHAN_JOBS_TICK_SECONDS sets every job's tick at once (tests run them every second)."""
    override = os.environ.get("CUNZHAN_JOBS_TICK_SECONDS")
    return float(override) if override else float(spec.interval_seconds)
