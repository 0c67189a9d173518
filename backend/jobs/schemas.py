"""What `GET /api/v1/jobs` answers: every job's latest runs and who holds the scheduler lease."""

import datetime

import msgspec


class JobRunOut(msgspec.Struct):
    window_key: str
    trigger: str  # schedule | manual
    holder: str  # hostname:pid:random of the process that ran it
    started_at: datetime.datetime
    finished_at: datetime.datetime | None
    status: str  # running | done | failed | abandoned (its process died mid-run)
    counts: dict[str, int]
    error: str  # the last line of the error, if it failed


class JobOut(msgspec.Struct):
    name: str
    label: str  # the job's name in the caller's language
    description: str
    interval_seconds: float
    last_run: JobRunOut | None
    recent_runs: list[JobRunOut]


class LeaseOut(msgspec.Struct):
    holder: str
    acquired_at: datetime.datetime
    renewed_at: datetime.datetime
    expires_at: datetime.datetime
    live: bool  # False when the holder stopped renewing (or handed it back)


class JobsOverview(msgspec.Struct):
    lease: LeaseOut | None
    jobs: list[JobOut]
