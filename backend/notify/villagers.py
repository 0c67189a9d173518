"""SMS to villagers about their parcels: the pickup notice (取件通知) and shelf reminders.

The notice is a row of `notify_villager_sms` written in the very transaction that accepts the
`parcel.received` event (see ledger.service), so it exists once however the sync is retried, and
it survives a crash right after the commit. After the commit the sender posts it to the configured
provider (`CUNZHAN_SMS_URL`, template "pickup") in the background, well within 30 s; the
`push-retry` job sends whatever is still pending a minute later (a server that stopped in between).

Providers are not idempotent, so a row is marked "sending" (the claim) before the provider hears
of it; a row found "sending" later has an unknown outcome and is never sent again: a villager gets
at most one message per row, and one row per parcel and kind.

Reminders (`kind` "reminder", `seq` 1–3) are written by the `parcel-overdue` job for parcels on
the shelf past the county's free days: at most every 2 days, at most 3 in all, only between the
county's reminder hour and 20:00 in its own time zone. The keeper's "notify again" is a reminder
too (the same limit of 3).

With the server's public address set (`CUNZHAN_PUBLIC_URL`), the pickup notice ends with a link to
the public tracking page for its number (`/track?tracking_no=…`, in the villager's language): the
villager adds the phone's last four there, which the link never carries.

Nothing is written (the parcel's `notice` is "none") for a masked or four-digit phone, a household
that opted out in the registry, or when no SMS provider is configured.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import uuid
import zoneinfo
from typing import Any
from urllib.parse import urlencode

import httpx

from backend import clock, db
from backend.errors import DomainError
from backend.i18n import negotiate, translate
from backend.notify import channels
from backend.notify.store import villager_sms as store
from backend.notify.store.villager_sms import ClaimedSms, NewSms, ShelfParcel, SmsOutcome
from backend.privacy import mask_phones_in_text
from backend.settings import Settings

log = logging.getLogger("cunzhan.notify.villagers")

PICKUP_TEMPLATE = "pickup"
REMINDER_TEMPLATE = "pickup_reminder"
MAX_REMINDERS = 3
REMINDER_GAP = datetime.timedelta(days=2)
MANUAL_GAP = datetime.timedelta(minutes=10)  # a second tap on "notify again" sends nothing
LATEST_HOUR = 20  # no reminder after 20:00 local time
SENDING_TIMEOUT = datetime.timedelta(minutes=5)  # a claim older than this: the sender died
CONCURRENCY = 8
FULL_PHONE = re.compile(r"^(?:\+?86)?(1[3-9][0-9]{9})$")
LRI, PDI = "\u2066", "\u2069"


def full_phone(phone: str | None) -> str | None:
    """The 11-digit mobile number when the label showed all of it (masked/tail labels → None)."""
    match = FULL_PHONE.match((phone or "").replace(" ", "").replace("-", ""))
    return match.group(1) if match else None


def _isolated(value: str, language: str) -> str:
    """Codes and hours stay left-to-right inside a Uyghur sentence."""
    return f"{LRI}{value}{PDI}" if language == "ug" else value


def render(row: ClaimedSms) -> str:
    params = json.loads(row.params or "{}")
    language = negotiate(None, row.language)
    shown = {
        key: _isolated(str(value), language) if key in ("code", "hours") else value
        for key, value in params.items()
    }
    body = translate(f"villager_sms.{row.kind}.body", language, **shown)
    if params.get("track_url"):
        # Not isolated: a phone's link finder would take the closing mark for part of the link
        # (a run of Latin letters keeps its order in Uyghur text anyway).
        link = translate("villager_sms.track_link", language).replace("{url}", params["track_url"])
        gap = "" if language == "zh-CN" else " "  # Chinese sentences run on without a space
        body += gap + link
    return body


def track_url(settings: Settings, number: str, language: str) -> str:
    """The public tracking page for this number ("" without a public address): the phone's last
    four are the villager's to type, never in the link."""
    if not settings.public_url:
        return ""
    query = {"tracking_no": number} | ({} if language == "zh-CN" else {"lang": language})
    return f"{settings.public_url}/track?{urlencode(query)}"


def _month(moment: datetime.datetime, timezone: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).strftime("%Y-%m")


# Writing notices (inside the caller's write transaction) ------------------------------------------


async def enqueue_pickups(
    settings: Settings,
    station_id: uuid.UUID,
    parcels: list[tuple[uuid.UUID, str, str, str]],
    language: str,
) -> list[uuid.UUID]:
    """Write one pickup notice per (parcel id, recipient phone, pickup code, tracking number as
    labelled) that can have one.

    Call inside the write transaction that accepts the parcels; returns the new rows' ids for
    `send_after_commit` once that transaction has committed."""
    if not settings.sms_url or not parcels:
        return []
    wanted = [(pid, full_phone(phone), code, number) for pid, phone, code, number in parcels]
    owed = [(pid, phone, code, number) for pid, phone, code, number in wanted if phone]
    if not owed:
        return []
    station = await store.station_facts(station_id)
    opted_out = await store.opted_out(station.county, sorted({phone for _, phone, _, _ in owed}))
    language = negotiate(None, language)
    moment = clock.utcnow()
    month = _month(moment, station.timezone)
    rows = [
        NewSms(
            parcel=parcel_id,
            station=station_id,
            county=station.county,
            kind="pickup",
            seq=0,
            phone=phone,
            language=language,
            params=json.dumps(
                {
                    "station": station.name,
                    "code": code,
                    "hours": station.opening_hours,
                    **_link(settings, number, language),
                },
                ensure_ascii=False,
            ),
            month=month,
            created_at=moment,
        )
        for parcel_id, phone, code, number in owed
        if phone not in opted_out
    ]
    await store.insert_pending(rows)
    return [row.id for row in rows]


def _link(settings: Settings, number: str, language: str) -> dict[str, str]:
    url = track_url(settings, number, language)
    return {"track_url": url} if url else {}


# Sending -------------------------------------------------------------------------------------


async def _claim(ids: list[uuid.UUID] | None) -> list[ClaimedSms]:
    """Mark pending rows "sending" and return them (atomic on both engines): one sender each."""
    async with db.write_transaction():
        return await store.claim(ids, clock.utcnow())


def _body(row: ClaimedSms) -> dict[str, Any]:
    params = json.loads(row.params or "{}")
    return {
        "phone": row.phone,
        "language": row.language,
        "message_id": str(row.id),
        "template": PICKUP_TEMPLATE if row.kind == "pickup" else REMINDER_TEMPLATE,
        "params": {"body": render(row), **{key: str(value) for key, value in params.items()}},
    }


async def send(settings: Settings, ids: list[uuid.UUID] | None = None) -> int:
    """Send these pending notices (None: every pending one); how many the provider took."""
    rows = await _claim(ids)
    if not rows:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(client: httpx.AsyncClient, row: ClaimedSms) -> channels.Attempt:
        async with gate:
            return await channels.post_provider(
                client, settings.sms_url, settings.sms_key, _body(row)
            )

    async with httpx.AsyncClient(timeout=channels.PROVIDER_TIMEOUT_S) as client:
        attempts = await asyncio.gather(*(one(client, row) for row in rows))
    async with db.write_transaction():
        await store.record(
            [
                SmsOutcome(
                    id=row.id,
                    state="sent" if attempt.status == "delivered" else "failed",
                    http_status=attempt.http_status,
                    error=attempt.error[:300],
                )
                for row, attempt in zip(rows, attempts, strict=True)
            ]
        )
    return sum(1 for attempt in attempts if attempt.status == "delivered")


async def send_after_commit(settings: Settings, ids: list[uuid.UUID]) -> None:
    """The sender the sync request runs once it has answered (a Litestar background task): a
    failure is logged and the rows stay pending (or "sending": never sent twice); the push-retry
    job takes over."""
    if not ids:
        return
    try:
        await send(settings, ids)
    except Exception as exc:
        log.error("villager SMS failed: %s", mask_phones_in_text(repr(exc)))


async def send_pending(settings: Settings) -> int:
    """The scheduled net: rows whose sender never ran are sent; a claim left by a sender that
    stopped mid-call has an unknown outcome and is closed as failed (never sent twice)."""
    async with db.write_transaction():
        await store.fail_stale_claims(
            clock.utcnow() - SENDING_TIMEOUT,
            "outcome unknown (the sender stopped); not sent again",
        )
    if not settings.sms_url:
        return 0
    return await send(settings, None)


# Reminders ------------------------------------------------------------------------------------


def reminder_hour_ok(local: datetime.datetime, first_hour: int) -> bool:
    """A decent hour: from the county's reminder hour up to 20:00, local time."""
    return first_hour <= local.hour < LATEST_HOUR


async def _history(parcel_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, datetime.datetime]]:
    """Per parcel that had a pickup notice: how many reminders so far, and when the last message
    of any kind was written. (A parcel without a notice row never had a full number, or came
    before the provider was configured, or is demo history: the job sends it no reminder.)"""
    history: dict[uuid.UUID, tuple[int, datetime.datetime]] = {}
    never = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    for row in await store.written(parcel_ids):
        count, last = history.get(row.parcel, (0, never))
        seq = row.seq if row.kind == "reminder" else 0
        history[row.parcel] = (max(count, seq), max(last, row.created_at))
    return history


async def _reminder_rows(
    parcels: list[ShelfParcel], language: str, moment: datetime.datetime, manual: bool
) -> list[NewSms]:
    """Rows for the parcels that may have a reminder now (inside a write transaction)."""
    if not parcels:
        return []
    history = await _history([p.id for p in parcels])
    stations: dict[uuid.UUID, store.StationFacts] = {}
    by_county: dict[uuid.UUID, list[str]] = {}
    for parcel in parcels:
        phone = full_phone(parcel.recipient_phone)
        if phone:
            by_county.setdefault(parcel.county, []).append(phone)
    opted_out: set[str] = set()
    for county_id, phones in by_county.items():
        opted_out |= await store.opted_out(county_id, sorted(set(phones)))
    rows = []
    for parcel in parcels:
        phone = full_phone(parcel.recipient_phone)
        if not phone or phone in opted_out:
            continue
        if parcel.id not in history and not manual:
            continue
        count, last = history.get(parcel.id, (0, None))
        if count >= MAX_REMINDERS:
            continue
        gap = MANUAL_GAP if manual else REMINDER_GAP
        if last is not None and moment - last < gap:
            continue
        if parcel.station not in stations:
            stations[parcel.station] = await store.station_facts(parcel.station)
        station = stations[parcel.station]
        local_day = moment.astimezone(zoneinfo.ZoneInfo(station.timezone)).date()
        params = {
            "station": station.name,
            "code": parcel.pickup_code,
            "hours": station.opening_hours,
            "days": (local_day - parcel.received_date).days,
        }
        rows.append(
            NewSms(
                parcel=parcel.id,
                station=parcel.station,
                county=parcel.county,
                kind="reminder",
                seq=count + 1,
                phone=phone,
                language=language or "zh-CN",
                params=json.dumps(params, ensure_ascii=False),
                month=_month(moment, station.timezone),
                created_at=moment,
            )
        )
    await store.insert_pending(rows)
    return rows


async def remind_county(
    settings: Settings, county: dict[str, Any], moment: datetime.datetime
) -> int:
    """The job's part for one county: reminders for parcels past its free days, at a decent hour.
    Returns how many were written (and then sent)."""
    local = moment.astimezone(zoneinfo.ZoneInfo(county["timezone"]))
    if not settings.sms_url or not reminder_hour_ok(local, county["checkin_reminder_hour"]):
        return 0
    county_id = db.as_uuid(county["id"])
    last_free_day = local.date() - datetime.timedelta(days=int(county["parcel_free_days"]))
    async with db.write_transaction():
        parcels = await store.shelved_before(county_id, last_free_day)
        # The language villagers of the county read: their keepers' most common choice.
        language = negotiate(None, await store.keepers_language(county_id))
        rows = await _reminder_rows(parcels, language, moment, manual=False)
    await send(settings, [row.id for row in rows])
    return len(rows)


async def renotify(
    settings: Settings, station_id: uuid.UUID, parcel_id: uuid.UUID, language: str
) -> None:
    """The keeper's one tap: a reminder now for a parcel on the shelf."""
    if not settings.sms_url:
        raise DomainError("sms_not_configured", status=409)
    moment = clock.utcnow()
    async with db.write_transaction():
        parcel = await store.parcel_at(station_id, parcel_id)
        if parcel is None or parcel.state != "on_shelf":
            raise DomainError("parcel_not_on_shelf", status=404)
        phone = full_phone(parcel.recipient_phone)
        if not phone:
            raise DomainError("notice_needs_full_phone", status=409, field="recipient_phone")
        if await store.opted_out(parcel.county, [phone]):
            raise DomainError("notice_opted_out", status=409)
        history = await _history([parcel_id])
        if history.get(parcel_id, (0, None))[0] >= MAX_REMINDERS:
            raise DomainError("notice_limit_reached", status=409, max=MAX_REMINDERS)
        rows = await _reminder_rows([parcel], language, moment, manual=True)
        if not rows:
            raise DomainError("notice_sent_recently", status=409)
    await send(settings, [rows[0].id])


# Reading --------------------------------------------------------------------------------------


def _shown_state(state: str) -> str:
    return {"sent": "sent", "failed": "failed"}.get(state, "pending")


async def notice_states(parcel_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, int]]:
    """Per parcel: the pickup notice's state as API.md names it, and how many SMS were sent."""
    states: dict[uuid.UUID, tuple[str, int]] = {}
    for line in await store.lines(parcel_ids):
        state, sent = states.get(line.parcel, ("none", 0))
        if line.kind == "pickup" or state == "none":
            state = _shown_state(line.state)
        elif line.state in ("sent", "pending", "sending"):
            state = _shown_state(line.state)  # the latest reminder tells best what happened
        states[line.parcel] = (state, sent + (1 if line.state == "sent" else 0))
    return states


async def notice_state(parcel_id: uuid.UUID) -> tuple[str, int]:
    async with db.read_transaction():
        return (await notice_states([parcel_id])).get(parcel_id, ("none", 0))


async def monthly_counts(county_id: uuid.UUID, month: str) -> list[dict[str, Any]]:
    """SMS to villagers per station in one county-local month: what the county pays for."""
    async with db.read_transaction():
        rows = await store.month_counts(county_id, month)
    stations: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        line = stations.setdefault(
            row.station,
            {
                "station_id": row.station,
                "name": row.name,
                "code": row.code,
                "pickup": 0,
                "reminder": 0,
                "sent": 0,
                "failed": 0,
            },
        )
        line[row.kind] = line.get(row.kind, 0) + row.n
        if row.state == "sent":
            line["sent"] += row.n
        elif row.state == "failed":
            line["failed"] += row.n
    return list(stations.values())
