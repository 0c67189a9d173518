"""The upward reports (county_province_report, one per county and day) and every delivery attempt
(county_province_attempt). Functions run inside the caller's transaction."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db


class Attempt(msgspec.Struct, frozen=True):
    at: datetime.datetime
    status: int | None
    error: str
    duration_ms: int


class Report(msgspec.Struct, frozen=True):
    id: uuid.UUID
    day: datetime.date
    state: str  # pending | sending | sent | failed
    attempts: int
    last_status: int | None
    last_error: str
    next_attempt_at: datetime.datetime
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    payload: str = ""  # the exact body sent (signed)
    revision: int = 1


def _report(row: dict) -> Report:
    return Report(
        id=db.as_uuid(row["id"]),
        day=db.as_date(row["day"]),
        state=row["state"],
        attempts=int(row["attempts"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        next_attempt_at=db.as_moment(row["next_attempt_at"]),
        created_at=db.as_moment(row["created_at"]),
        sent_at=db.as_moment(row["sent_at"]) if row["sent_at"] else None,
        payload=row.get("payload") or "",
        revision=int(row.get("revision") or 1),
    )


async def create_pending(
    county_id: uuid.UUID, days: list[datetime.date], now: datetime.datetime
) -> None:
    """A pending report for each of these days that has none yet."""
    await db.executemany(
        "INSERT INTO county_province_report (id, county, day, state, attempts, payload, "
        "last_status, last_error, next_attempt_at, created_at, sent_at) "
        "VALUES ($1, $2, $3, 'pending', 0, '', NULL, '', $4, $4, NULL) "
        "ON CONFLICT (county, day) DO NOTHING",
        [(uuid.uuid4(), county_id, day, now) for day in days],
    )


async def claim_due(
    county_id: uuid.UUID, now: datetime.datetime, lease_until: datetime.datetime
) -> list[uuid.UUID]:
    """Mark the due reports `sending` until `lease_until`; their ids, oldest day first."""
    rows = await db.fetch(
        "UPDATE county_province_report SET state = 'sending', next_attempt_at = $1 "
        "WHERE county = $2 AND state IN ('pending', 'failed', 'sending') "
        "AND next_attempt_at <= $3 RETURNING id, day",
        lease_until,
        county_id,
        now,
    )
    return [db.as_uuid(row["id"]) for row in sorted(rows, key=lambda row: str(row["day"]))]


async def sent(county_id: uuid.UUID) -> list[Report]:
    """The county's days whose latest revision was delivered, with the bodies sent."""
    rows = await db.fetch(
        "SELECT * FROM county_province_report WHERE county = $1 AND state = 'sent' ORDER BY day",
        county_id,
    )
    return [_report(row) for row in rows]


async def revise(report_ids: list[uuid.UUID], now: datetime.datetime) -> None:
    """These sent days are owed again, as their next revision (its body is built when sent)."""
    await db.execute(
        "UPDATE county_province_report SET revision = revision + 1, state = 'pending', "
        "attempts = 0, payload = '', last_status = NULL, last_error = '', next_attempt_at = $1 "
        f"WHERE state = 'sent' AND id IN ({db.in_list(report_ids, 2)})",
        now,
        *report_ids,
    )


async def report(report_id: uuid.UUID) -> Report:
    rows = await db.fetch("SELECT * FROM county_province_report WHERE id = $1", report_id)
    return _report(rows[0])


async def record_attempt(
    report: Report,
    county_id: uuid.UUID,
    body: str,
    attempt: Attempt,
    sent: bool,
    next_attempt_at: datetime.datetime,
) -> None:
    """Log one delivery attempt and what it left the report as."""
    await db.execute(
        "INSERT INTO county_province_attempt (id, report, county, day, at, status, error, "
        "duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        uuid.uuid4(),
        report.id,
        county_id,
        report.day,
        attempt.at,
        attempt.status,
        attempt.error,
        attempt.duration_ms,
    )
    await db.execute(
        "UPDATE county_province_report SET state = $1, attempts = $2, payload = $3, "
        "last_status = $4, last_error = $5, next_attempt_at = $6, sent_at = $7 "
        "WHERE id = $8",
        "sent" if sent else "failed",
        report.attempts + 1,
        body,
        attempt.status,
        attempt.error,
        next_attempt_at,
        attempt.at if sent else None,
        report.id,
    )


async def latest(county_id: uuid.UUID, limit: int) -> list[tuple[Report, list[Attempt]]]:
    """The county's reports, newest day first, each with its attempts in order."""
    reports = [
        _report(row)
        for row in await db.fetch(
            "SELECT id, day, revision, state, attempts, last_status, last_error, "
            "next_attempt_at, created_at, sent_at, payload FROM county_province_report "
            "WHERE county = $1 "
            "ORDER BY day DESC LIMIT $2",
            county_id,
            limit,
        )
    ]
    ids = [report.id for report in reports]
    by_report: dict[uuid.UUID, list[Attempt]] = {}
    if ids:
        for row in await db.fetch(
            "SELECT report, at, status, error, duration_ms FROM county_province_attempt "
            f"WHERE report IN ({db.in_list(ids)}) ORDER BY at",
            *ids,
        ):
            by_report.setdefault(db.as_uuid(row["report"]), []).append(
                Attempt(db.as_moment(row["at"]), row["status"], row["error"], row["duration_ms"])
            )
    return [(report, by_report.get(report.id, [])) for report in reports]
