"""`cunzhan jobs run NAME` and `cunzhan jobs list` as an operator types them, on the demo county."""

from __future__ import annotations

import datetime
import sqlite3
import subprocess
import zoneinfo

import asyncpg
import pytest

from tests.server_process import CUNZHAN, REPO, environment, run


async def sql(database_url: str, statement: str) -> None:
    """Change the database behind the processes' backs, as a county admin tool would."""
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            connection.execute(statement)
        return
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def remind_from_midnight_today(database_url: str) -> None:
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai"))
    await sql(
        database_url,
        f"UPDATE registry_county SET checkin_reminder_weekday = {today.isoweekday()}, "
        "checkin_reminder_hour = 0",
    )


def jobs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CUNZHAN, "jobs", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
async def test_jobs_run_checkin_reminder_on_the_demo_county(tmp_path, fresh_database_url):
    # A week of history: every demo station has checked in this week except keepers 1 and 2's.
    env = environment(tmp_path, fresh_database_url, CUNZHAN_DEMO_HISTORY_DAYS="7")
    run(env, "migrate", "--quiet")
    run(env, "demo", "--if-empty")
    await remind_from_midnight_today(fresh_database_url)

    first = jobs(env, "run", "checkin-reminder")
    assert first.returncode == 0, first.stderr
    line = first.stdout.strip()
    assert line.startswith("checkin-reminder: done"), line
    assert "counties_due=1 stations_missing=2 keepers_notified=2" in line

    again = jobs(env, "run", "checkin-reminder")
    assert again.returncode == 0, again.stderr
    assert "stations_missing=2 keepers_notified=0" in again.stdout

    listing = jobs(env, "list")
    assert listing.returncode == 0, listing.stderr
    assert "checkin-reminder" in listing.stdout and "keepers_notified=0" in listing.stdout
    assert "province-report" in listing.stdout and "never ran" in listing.stdout

    for name in ("parcel-overdue", "rollup", "province-report"):
        result = jobs(env, "run", name)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"{name}: done"), result.stdout


def test_an_unknown_job_name_is_refused_with_the_list_of_jobs(tmp_path, database_url):
    env = environment(tmp_path, database_url)
    result = jobs(env, "run", "checkin-reminders")
    assert result.returncode == 2
    assert "unknown job 'checkin-reminders'" in result.stderr
    assert "checkin-reminder, parcel-overdue, rollup, province-report" in result.stderr
    assert result.stdout == ""
