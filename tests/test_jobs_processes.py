"""Two real `serve` processes on one database (C5 of RELIABILITY.md): each job runs once per
window, the keepers get one reminder however many processes tick, and when the lease holder is
killed with SIGKILL the other process takes over within the lease's TTL and keeps running jobs."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.server_process import CUNZHAN, REPO, Server, environment, run
from tests.test_jobs_cli import remind_from_midnight_today

LEASE_SECONDS = 3  # renewed every second
TICK_SECONDS = 1
STAFF = {"phone": "13900000001", "password": "demo1234"}


async def rows(database_url: str, query: str) -> list[dict[str, Any]]:
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=30)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(query).fetchall()]
        finally:
            connection.close()
    connection = await asyncpg.connect(database_url)
    try:
        return [dict(row) for row in await connection.fetch(query)]
    finally:
        await connection.close()


class LoggedServer(Server):
    """A `serve` process whose log goes to a file, so a failure here can show what it did."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__(env)
        self.log_path = log_path

    def start(self, timeout: float = 30) -> float:
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*CUNZHAN, "serve", "--port", str(self.port)],
                cwd=REPO,
                env={**self.env, "CUNZHAN_LOG_JSON": "0"},
                stdout=log,
                stderr=log,
            )
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not become healthy")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def jobs_overview(server: Server, token: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/api/v1/jobs", headers={"authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(condition, timeout: float, step: float = 0.2):
    """Poll until `condition()` is truthy (the deadline only bounds a hang; it asserts nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


def pid_of(holder: str) -> int:
    return int(holder.split(":")[-2])


async def scheduled_runs(database_url: str) -> list[dict[str, Any]]:
    return await rows(
        database_url,
        "SELECT name, window_key, holder, status FROM jobs_run WHERE trigger = 'schedule'",
    )


@pytest.mark.slow
async def test_two_serve_processes_run_each_window_once_and_survive_a_killed_holder(
    tmp_path, fresh_database_url
):
    env = environment(
        tmp_path,
        fresh_database_url,
        CUNZHAN_DEMO_HISTORY_DAYS="7",
        CUNZHAN_SCHEDULER="1",
        CUNZHAN_JOBS_TICK_SECONDS=str(TICK_SECONDS),
        CUNZHAN_JOBS_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    run(env, "migrate", "--quiet")
    run(env, "demo", "--if-empty")
    await remind_from_midnight_today(fresh_database_url)

    first, second = Server(env), Server(env)
    first.start()
    second.start()
    try:
        token = httpx.post(f"{first.url}/api/v1/auth/login", json=STAFF).json()["token"]
        by_pid = {first.process.pid: first, second.process.pid: second}

        # Both processes tick every second; let several windows pass.
        def windows_run() -> int:
            overview = jobs_overview(first, token)
            reminder = next(j for j in overview["jobs"] if j["name"] == "checkin-reminder")
            return len(reminder["recent_runs"]) >= 5 and overview

        overview = wait_for(windows_run, timeout=60)
        assert overview, "the scheduler did not run checkin-reminder five times"
        holder = overview["lease"]["holder"]
        assert pid_of(holder) in by_pid

        runs = await scheduled_runs(fresh_database_url)
        per_window = Counter((r["name"], r["window_key"]) for r in runs)
        assert max(per_window.values()) == 1
        assert {r["holder"] for r in runs} == {holder}, "only the lease holder runs jobs"
        assert {r["name"] for r in runs} >= {"checkin-reminder", "parcel-overdue", "rollup"}
        assert all(r["status"] in ("done", "running") for r in runs), runs

        # Kill the holder without a chance to hand the lease back.
        killed_at = time.monotonic()
        victim = by_pid[pid_of(holder)]
        survivor = second if victim is first else first
        victim.kill()

        def new_holder():
            lease = jobs_overview(survivor, token)["lease"]
            return lease["live"] and pid_of(lease["holder"]) == survivor.process.pid and lease

        lease = wait_for(new_holder, timeout=LEASE_SECONDS * 5)
        takeover_seconds = time.monotonic() - killed_at
        assert lease, "the surviving process did not take the lease over"
        assert takeover_seconds <= LEASE_SECONDS + 2 * TICK_SECONDS + 1
        print(f"takeover after SIGKILL: {takeover_seconds:.2f} s (lease TTL {LEASE_SECONDS} s)")

        async def survivor_runs() -> int:
            runs = await scheduled_runs(fresh_database_url)
            return sum(1 for r in runs if r["holder"] == lease["holder"])

        deadline = time.monotonic() + 30
        while await survivor_runs() < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert await survivor_runs() >= 10, "the new holder does not run the jobs"

        runs = await scheduled_runs(fresh_database_url)
        per_window = Counter((r["name"], r["window_key"]) for r in runs)
        assert max(per_window.values()) == 1
        assert {r["holder"] for r in runs} == {holder, lease["holder"]}

        # The effect: keepers 1 and 2 (the demo's stations without a check-in) got exactly one
        # check-in reminder each, through dozens of runs in two processes and a takeover.
        reminders = await rows(
            fresh_database_url,
            "SELECT keeper, dedupe_key FROM notify_inbox_item WHERE dedupe_key LIKE 'checkin:%'",
        )
        assert len(reminders) == 2
        assert len({r["keeper"] for r in reminders}) == 2
        duplicates = await rows(
            fresh_database_url,
            "SELECT keeper, dedupe_key, COUNT(*) AS n FROM notify_inbox_item "
            "GROUP BY keeper, dedupe_key HAVING COUNT(*) > 1",
        )
        assert duplicates == []
        print(
            f"C5: {len(runs)} scheduled runs in {len(per_window)} windows by 2 processes, "
            f"1 SIGKILL, {len(reminders)} check-in reminders, {len(duplicates)} duplicates"
        )
    finally:
        first.stop()
        second.stop()


@pytest.mark.slow
async def test_a_holder_that_shuts_down_hands_the_lease_over_at_once(tmp_path, fresh_database_url):
    """SIGTERM (a deploy, a restart): the holder gives the lease back, so the other process takes
    over at its next renewal instead of waiting out a long TTL."""
    long_lease = 60
    env = environment(
        tmp_path,
        fresh_database_url,
        CUNZHAN_SCHEDULER="1",
        CUNZHAN_JOBS_TICK_SECONDS=str(TICK_SECONDS),
        CUNZHAN_JOBS_LEASE_SECONDS=str(long_lease),  # the holder renews every 20 s
    )
    run(env, "migrate", "--quiet")
    run(env, "demo", "--if-empty")
    first = LoggedServer(env, tmp_path / "first.log")
    second = LoggedServer(env, tmp_path / "second.log")
    first.start()
    second.start()
    try:
        token = httpx.post(f"{first.url}/api/v1/auth/login", json=STAFF).json()["token"]
        lease = jobs_overview(first, token)["lease"]
        assert lease["live"]
        by_pid = {first.process.pid: first, second.process.pid: second}
        leaving = by_pid[pid_of(lease["holder"])]
        staying = second if leaving is first else first

        stopped_at = time.monotonic()
        leaving.process.terminate()  # SIGTERM: uvicorn shuts the app down, the lease goes back

        def taken_over():
            current = jobs_overview(staying, token)["lease"]
            return current["live"] and pid_of(current["holder"]) == staying.process.pid

        assert wait_for(taken_over, timeout=long_lease / 3 + 5), leaving.tail()
        handover_seconds = time.monotonic() - stopped_at
        print(f"handover after SIGTERM: {handover_seconds:.2f} s (lease TTL {long_lease} s)")
        # Jobs running at SIGTERM finish instead of being cancelled mid-query (which used to
        # stall the database pool's close and leave the process hanging).
        try:
            leaving.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the holder did not exit after SIGTERM:\n" + leaving.tail())
        assert handover_seconds < 10  # the standby polls every 2 s; the TTL is 60 s
    finally:
        first.stop()
        second.stop()
