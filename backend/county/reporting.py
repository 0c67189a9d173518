"""Upward reporting of the county's daily figures to the provincial platform.

Every finished county-local day from the county's programme start gets one `ProvinceReport` row;
the row is claimed (`sending`, with a lease) before the POST, so two processes never send the same
day at once, and a revision once `sent` is never sent again. A day whose figures change after it
was sent (a late entry, a reversal) is owed again as its next revision: the same Idempotency-Key,
the body's `revision` one higher (API.md). A body is built once per revision, stored, and the same
bytes are sent on every retry. Each POST carries
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
import msgspec

from backend import clock, db
from backend.county import province_day, targets
from backend.county.store import places, reports
from backend.county.store.reports import Attempt
from backend.settings import Settings

log = logging.getLogger("cunzhan.county.reporting")

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


async def send_daily_reports(settings: Settings, now: datetime.datetime | None = None) -> int:
    """Send every county's days not yet delivered; returns how many were sent."""
    if not settings.province_url:
        return 0
    if not settings.province_secret:
        # An unsigned report could be forged by anyone on the way: refuse to send one.
        log.error("CUNZHAN_PROVINCE_URL is set but CUNZHAN_PROVINCE_SECRET is not; nothing sent")
        return 0
    now = now or clock.utcnow()
    async with db.read_transaction():
        counties = await places.counties()
    sent = 0
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        for county in counties:
            await _create_due_reports(county, now)
            await _revise_changed_days(county, now)
            for report_id in await _claim_due(county.id, now):
                sent += await _deliver(client, settings, county, report_id, now)
    return sent


async def _create_due_reports(county: places.CountyRow, now: datetime.datetime) -> None:
    """A report for every finished day from the programme's start that has none yet."""
    today = now.astimezone(county.zone).date()
    first = await targets.programme_start(county)
    days = []
    day = first
    while day < today:
        days.append(day)
        day += datetime.timedelta(days=1)
    if not days:
        return
    async with db.write_transaction():
        await reports.create_pending(county.id, days, now)


async def _revise_changed_days(county: places.CountyRow, now: datetime.datetime) -> None:
    """Days sent whose figures differ now from the body sent are owed again, as a new revision
    (one read of the sent bodies and one of the figures over their days)."""
    async with db.read_transaction():
        sent = await reports.sent(county.id)
    if not sent:
        return
    now_shown = await province_day.days_activity(county.id, sent[0].day, sent[-1].day)
    changed = [report.id for report in sent if _activity_sent(report) != now_shown[report.day]]
    if changed:
        async with db.write_transaction():
            await reports.revise(changed, now)
        log.info(
            "province days changed since sent", extra={"county": county.code, "days": len(changed)}
        )


def _activity_sent(report: reports.Report) -> dict[str, Any]:
    body = json.loads(report.payload or "{}")
    return {"figures": body.get("figures"), "kinds": body.get("kinds")}


async def _claim_due(county_id: uuid.UUID, now: datetime.datetime) -> list[uuid.UUID]:
    """Take the due rows (a lease: a process that died mid-send gives them back in 2 minutes)."""
    async with db.write_transaction():
        return await reports.claim_due(county_id, now, now + LEASE)


async def _deliver(client, settings, county, report_id: uuid.UUID, now) -> int:
    async with db.read_transaction():
        report = await reports.report(report_id)
    day = report.day
    body = report.payload
    if not body:
        payload = {**await province_day.day_figures(county, day), "revision": report.revision}
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
    attempt = Attempt(clock.utcnow(), status, error, int((time.perf_counter() - started) * 1000))
    delivered = not error
    retry_at = now + datetime.timedelta(seconds=backoff_seconds(report.attempts + 1))
    async with db.write_transaction():
        await reports.record_attempt(
            report, county.id, body, attempt, delivered, now if delivered else retry_at
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
        latest = await reports.latest(county_id, limit)
    return [
        {
            "id": report.id,
            "day": report.day,
            "revision": report.revision,
            "figures_sent": _activity_sent(report)["figures"] if report.payload else None,
            "state": report.state,
            "attempts": report.attempts,
            "last_status": report.last_status,
            "last_error": report.last_error,
            "next_attempt_at": report.next_attempt_at,
            "created_at": report.created_at,
            "sent_at": report.sent_at,
            "log": [msgspec.structs.asdict(attempt) for attempt in attempts],
        }
        for report, attempts in latest
    ]
