"""Upward reporting of the county's daily figures to the provincial platform.

Every finished county-local day (the last `BACKFILL_DAYS`, none before the county existed) gets one
`ProvinceReport` row; the row is claimed (`sending`, with a lease) before the POST, so two
processes never send the same day at once, and once `sent` it is never sent again. The body is
built once, stored, and the same bytes are sent on every retry. Each POST carries
`X-Cunzhan-Timestamp`, `X-Cunzhan-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
keyed with `settings.province_secret`, and `Idempotency-Key: <county code>:<day>` so the receiver
can drop the one resend a crash between its answer and our commit could cause. Failures back off
exponentially (`next_attempt_at`); every attempt is logged in `ProvinceAttempt`.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import httpx

from backend import clock, db
from backend.county import figures, store
from backend.settings import get_settings

log = logging.getLogger("cunzhan.county.reporting")

BACKFILL_DAYS = 7
TIMEOUT_S = 10.0
LEASE = datetime.timedelta(minutes=2)
FIRST_BACKOFF_S = 60
MAX_BACKOFF_S = 6 * 3600
SIGNATURE_HEADER = "X-Cunzhan-Signature"
TIMESTAMP_HEADER = "X-Cunzhan-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def backoff_seconds(attempts: int) -> int:
    """60 s, 120 s, 240 s … at most six hours."""
    return min(FIRST_BACKOFF_S * 2 ** max(0, attempts - 1), MAX_BACKOFF_S)


async def send_daily_reports(now: datetime.datetime | None = None) -> int:
    """Send every county's days not yet delivered; returns how many were sent."""
    settings = get_settings()
    if not settings.province_url:
        return 0
    if not settings.province_secret:
        # An unsigned report could be forged by anyone on the way: refuse to send one.
        log.error("CUNZHAN_PROVINCE_URL is set but CUNZHAN_PROVINCE_SECRET is not; nothing sent")
        return 0
    now = now or clock.utcnow()
    async with db.read_transaction():
        counties = await store.counties()
    sent = 0
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        for county in counties:
            await _create_due_reports(county, now)
            for report_id in await _claim_due(county.id, now):
                sent += await _deliver(client, settings, county, report_id, now)
    return sent


async def _create_due_reports(county: store.CountyRow, now: datetime.datetime) -> None:
    zone = county.zone
    today = now.astimezone(zone).date()
    created = county.created_at.astimezone(zone).date()
    first = max(created, today - datetime.timedelta(days=BACKFILL_DAYS))
    days = []
    day = first
    while day < today:
        days.append(day)
        day += datetime.timedelta(days=1)
    if not days:
        return
    async with db.write_transaction():
        await db.executemany(
            "INSERT INTO county_province_report (id, county, day, state, attempts, payload, "
            "last_status, last_error, next_attempt_at, created_at, sent_at) "
            "VALUES ($1, $2, $3, 'pending', 0, '', NULL, '', $4, $4, NULL) "
            "ON CONFLICT (county, day) DO NOTHING",
            [(uuid.uuid4(), county.id, day, now) for day in days],
        )


async def _claim_due(county_id: uuid.UUID, now: datetime.datetime) -> list[uuid.UUID]:
    """Take the due rows (a lease: a process that died mid-send gives them back in 2 minutes)."""
    async with db.write_transaction():
        rows = await db.fetch(
            "UPDATE county_province_report SET state = 'sending', next_attempt_at = $1 "
            "WHERE county = $2 AND state IN ('pending', 'failed', 'sending') "
            "AND next_attempt_at <= $3 RETURNING id, day",
            now + LEASE,
            county_id,
            now,
        )
    return [db.as_uuid(row["id"]) for row in sorted(rows, key=lambda row: str(row["day"]))]


async def _deliver(client, settings, county, report_id: uuid.UUID, now) -> int:
    async with db.read_transaction():
        report = (await db.fetch("SELECT * FROM county_province_report WHERE id = $1", report_id))[
            0
        ]
    day = db.as_date(report["day"])
    body = report["payload"]
    if not body:
        payload = await figures.day_figures(county, day)
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    encoded = body.encode()
    timestamp = str(int(time.time()))
    headers = {
        "content-type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(settings.province_secret, timestamp, encoded),
        "Idempotency-Key": f"{county.code}:{day.isoformat()}",
    }
    started = time.perf_counter()
    status, error = None, ""
    try:
        response = await client.post(settings.province_url, content=encoded, headers=headers)
        status = response.status_code
        if not 200 <= status < 300 and status != 409:  # 409: the receiver already has it
            error = f"HTTP {status}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration_ms = int((time.perf_counter() - started) * 1000)
    delivered = not error
    attempts = report["attempts"] + 1
    async with db.write_transaction():
        await db.execute(
            "INSERT INTO county_province_attempt (id, report, county, day, at, status, error, "
            "duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            uuid.uuid4(),
            report_id,
            county.id,
            day,
            clock.utcnow(),
            status,
            error,
            duration_ms,
        )
        await db.execute(
            "UPDATE county_province_report SET state = $1, attempts = $2, payload = $3, "
            "last_status = $4, last_error = $5, next_attempt_at = $6, sent_at = $7 "
            "WHERE id = $8",
            "sent" if delivered else "failed",
            attempts,
            body,
            status,
            error,
            now if delivered else now + datetime.timedelta(seconds=backoff_seconds(attempts)),
            clock.utcnow() if delivered else None,
            report_id,
        )
    if delivered:
        log.info("province report sent", extra={"county": county.code, "day": str(day)})
    else:
        log.warning(
            "province report failed; will retry",
            extra={"county": county.code, "day": str(day), "error": error},
        )
    return 1 if delivered else 0


async def deliveries(county_id: uuid.UUID, limit: int = 100) -> list[dict[str, Any]]:
    """The staff's delivery log: each reported day, newest first, with its attempts."""
    limit = max(1, min(int(limit), 500))
    async with db.read_transaction():
        reports = await db.fetch(
            "SELECT id, day, state, attempts, last_status, last_error, next_attempt_at, "
            "created_at, sent_at FROM county_province_report WHERE county = $1 "
            "ORDER BY day DESC LIMIT $2",
            county_id,
            limit,
        )
        ids = [report["id"] for report in reports]
        attempts = []
        if ids:
            marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
            attempts = await db.fetch(
                "SELECT report, at, status, error, duration_ms FROM county_province_attempt "
                f"WHERE report IN ({marks}) ORDER BY at",
                *ids,
            )
    by_report: dict[str, list[dict[str, Any]]] = {}
    for attempt in attempts:
        by_report.setdefault(str(db.as_uuid(attempt["report"])), []).append(
            {
                "at": db.as_moment(attempt["at"]),
                "status": attempt["status"],
                "error": attempt["error"],
                "duration_ms": attempt["duration_ms"],
            }
        )
    return [
        {
            "id": db.as_uuid(report["id"]),
            "day": db.as_date(report["day"]),
            "state": report["state"],
            "attempts": report["attempts"],
            "last_status": report["last_status"],
            "last_error": report["last_error"],
            "next_attempt_at": db.as_moment(report["next_attempt_at"]),
            "created_at": db.as_moment(report["created_at"]),
            "sent_at": db.as_moment(report["sent_at"]) if report["sent_at"] else None,
            "log": by_report.get(str(db.as_uuid(report["id"])), []),
        }
        for report in reports
    ]
