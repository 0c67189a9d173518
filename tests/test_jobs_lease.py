"""The scheduler lease and the run claim: one holder at a time, one run per window."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from backend import clock
from backend.jobs import lease
from backend.jobs.service import run_job

T0 = datetime.datetime(2026, 11, 23, 2, 0, tzinfo=datetime.UTC)


def later(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


async def test_one_holder_renews_and_others_wait_until_it_expires():
    first = await lease.acquire("host:1:a", ttl=30, now=T0)
    assert first is not None and first.holder == "host:1:a"
    assert await lease.acquire("host:2:b", ttl=30, now=later(5)) is None

    renewed = await lease.acquire("host:1:a", ttl=30, now=later(10))
    assert renewed is not None
    assert renewed.acquired_at == T0  # a renewal keeps the original acquisition time
    assert renewed.expires_at == later(40)

    # The holder dies: no renewal. Before the expiry nobody else gets it, after it someone does.
    assert await lease.acquire("host:2:b", ttl=30, now=later(39)) is None
    taken = await lease.acquire("host:2:b", ttl=30, now=later(41))
    assert taken is not None and taken.holder == "host:2:b" and taken.acquired_at == later(41)
    # The old holder coming back does not steal it.
    assert await lease.acquire("host:1:a", ttl=30, now=later(42)) is None


async def test_a_released_lease_is_taken_over_at_once():
    assert await lease.acquire("host:1:a", ttl=30) is not None
    await lease.release("host:1:a")
    assert (await lease.acquire("host:2:b", ttl=30)).holder == "host:2:b"
    await lease.release("host:1:a")  # not the holder any more: changes nothing
    assert (await lease.current()).holder == "host:2:b"


async def test_many_processes_racing_for_a_free_lease_get_one_winner():
    holders = [f"host:{n}:x" for n in range(12)]
    results = await asyncio.gather(*(lease.acquire(h, ttl=30, now=T0) for h in holders))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert (await lease.current()).holder == winners[0].holder


async def test_a_window_runs_once_even_when_two_holders_overlap(app):
    async def claim(holder: str):
        return await run_job(
            app.state.settings,
            "rollup",
            window_key="2026-11-23T02:00:00+00:00",
            trigger="schedule",
            holder=holder,
        )

    results = await asyncio.gather(claim("host:1:a"), claim("host:2:b"))
    assert sorted(r.ran for r in results) == [False, True]
    assert all(r.status in ("done", "skipped") for r in results)


async def test_staff_see_the_jobs_their_last_runs_and_the_lease_holder(app, client, world):
    await lease.acquire("host:1:a", ttl=30)
    await run_job(
        app.state.settings, "rollup", window_key="w1", trigger="schedule", holder="host:1:a"
    )
    response = await client.get(
        "/api/v1/jobs", headers={**world.staff.headers, "accept-language": "zh-CN"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["lease"]["holder"] == "host:1:a" and body["lease"]["live"] is True
    jobs = {job["name"]: job for job in body["jobs"]}
    assert set(jobs) >= {"checkin-reminder", "parcel-overdue", "rollup", "province-report"}
    assert jobs["rollup"]["label"] == "县级汇总"
    assert jobs["rollup"]["last_run"]["status"] == "done"
    assert jobs["rollup"]["last_run"]["holder"] == "host:1:a"
    assert jobs["checkin-reminder"]["last_run"] is None

    refused = await client.get("/api/v1/jobs", headers=world.keeper_a.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_a_failing_job_is_recorded_with_its_error(app, client, world, monkeypatch):
    from backend.county import rollups

    async def broken() -> int:
        raise RuntimeError("rollup store unavailable")

    monkeypatch.setattr(rollups, "refresh", broken)
    result = await run_job(
        app.state.settings, "rollup", window_key="w-broken", trigger="schedule", holder="h"
    )
    assert result.ran and result.status == "failed"
    response = await client.get("/api/v1/jobs", headers=world.admin.headers)
    rollup = next(job for job in response.json()["jobs"] if job["name"] == "rollup")
    assert rollup["last_run"]["status"] == "failed"
    assert "rollup store unavailable" in rollup["last_run"]["error"]


async def test_runs_older_than_thirty_days_are_pruned(app):
    long_ago = T0 - datetime.timedelta(days=31)
    await run_job(
        app.state.settings, "rollup", window_key="old", trigger="schedule", holder="h", now=long_ago
    )
    await run_job(
        app.state.settings, "rollup", window_key="recent", trigger="schedule", holder="h", now=T0
    )
    pruned = await run_job(
        app.state.settings, "prune-runs", window_key="p", trigger="schedule", holder="h", now=T0
    )
    assert pruned.status == "done" and pruned.counts == {"deleted": 1}
    from backend.jobs.tables import JobRun

    left = await JobRun.select(JobRun.window_key).where(JobRun.name == "rollup")
    assert [row["window_key"] for row in left] == ["recent"]


def test_every_job_has_a_name_in_every_language():
    from backend.i18n import LANGUAGES, catalog
    from backend.jobs.registry import JOBS

    for language in LANGUAGES:
        missing = [name for name in JOBS if f"jobs.name.{name}" not in catalog(language)]
        assert not missing, f"{language}: {missing}"


async def test_runs_left_running_by_a_dead_holder_are_marked_abandoned(app, client, world):
    from backend.jobs.service import mark_abandoned
    from backend.jobs.tables import JobRun

    await JobRun.insert(
        JobRun(
            name="rollup",
            window_key="w-dead",
            trigger="schedule",
            holder="host:1:dead",
            started_at=T0,
            status="running",
        )
    )
    await run_job(
        app.state.settings, "rollup", window_key="w-alive", trigger="schedule", holder="host:2:b"
    )
    assert await mark_abandoned("host:2:b") == 1
    rows = await JobRun.select(JobRun.window_key, JobRun.status).order_by(JobRun.window_key)
    assert [(r["window_key"], r["status"]) for r in rows] == [
        ("w-alive", "done"),
        ("w-dead", "abandoned"),
    ]


@pytest.mark.postgres_only
async def test_a_process_whose_clock_runs_ahead_cannot_steal_the_lease(monkeypatch):
    """Processes on several hosts share one PostgreSQL: the database's clock decides expiry."""
    assert await lease.acquire("host:1:a", ttl=30) is not None
    ahead = clock.utcnow() + datetime.timedelta(hours=1)
    monkeypatch.setattr(clock, "utcnow", lambda: ahead)
    assert await lease.acquire("host:2:b", ttl=30) is None
    assert (await lease.current()).live
