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

Nothing is written (the parcel's `notice` is "none") for a masked or four-digit phone, a household
that opted out in the registry, or when no SMS provider is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime
import json
import logging
import re
import uuid
import zoneinfo
from collections.abc import Iterator
from typing import Any

import httpx

from backend import clock, db
from backend.errors import DomainError
from backend.i18n import negotiate, translate
from backend.notify import channels
from backend.privacy import mask_phones_in_text
from backend.settings import get_settings

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

_background: set[asyncio.Task] = set()
# Set while the demo history is written: made-up villagers get no SMS.
_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("villager_sms_quiet", default=False)


@contextlib.contextmanager
def no_sms() -> Iterator[None]:
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def full_phone(phone: str | None) -> str | None:
    """The 11-digit mobile number when the label showed all of it (masked/tail labels → None)."""
    match = FULL_PHONE.match((phone or "").replace(" ", "").replace("-", ""))
    return match.group(1) if match else None


def _isolated(value: str, language: str) -> str:
    """Codes and hours stay left-to-right inside a Uyghur sentence."""
    return f"{LRI}{value}{PDI}" if language == "ug" else value


def render(row: dict[str, Any]) -> str:
    params = json.loads(row["params"] or "{}")
    language = negotiate(None, row["language"])
    shown = {
        key: _isolated(str(value), language) if key in ("code", "hours") else value
        for key, value in params.items()
    }
    return translate(f"villager_sms.{row['kind']}.body", language, **shown)


# Writing notices (inside the caller's write transaction) ------------------------------------------


async def _station_row(station_id: uuid.UUID) -> dict[str, Any]:
    rows = await db.fetch(
        "SELECT s.name, s.opening_hours, s.county, c.timezone FROM registry_station s "
        "JOIN registry_county c ON c.id = s.county WHERE s.id = $1",
        station_id,
    )
    return rows[0]


async def _opted_out(county_id: uuid.UUID, phones: list[str]) -> set[str]:
    if not phones:
        return set()
    rows = await db.fetch(
        "SELECT phone FROM registry_household WHERE county = $1 AND sms_opt_out = $2 "
        f"AND phone IN ({db.in_list(phones, 3)})",
        county_id,
        True,
        *phones,
    )
    return {row["phone"] for row in rows}


def _month(moment: datetime.datetime, timezone: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).strftime("%Y-%m")


async def enqueue_pickups(
    station_id: uuid.UUID, parcels: list[tuple[uuid.UUID, str, str]], language: str
) -> list[uuid.UUID]:
    """Write one pickup notice per (parcel id, recipient phone, pickup code) that can have one.

    Call inside the write transaction that accepts the parcels; returns the new rows' ids for
    `send_in_background` once that transaction has committed."""
    if not get_settings().sms_url or not parcels or _quiet.get():
        return []
    wanted = [(pid, full_phone(phone), code) for pid, phone, code in parcels]
    wanted = [(pid, phone, code) for pid, phone, code in wanted if phone]
    if not wanted:
        return []
    station = await _station_row(station_id)
    county_id = db.as_uuid(station["county"])
    opted_out = await _opted_out(county_id, sorted({phone for _, phone, _ in wanted}))
    moment = clock.utcnow()
    month = _month(moment, station["timezone"])
    rows = []
    for parcel_id, phone, code in wanted:
        if phone in opted_out:
            continue
        params = {"station": station["name"], "code": code, "hours": station["opening_hours"]}
        rows.append(
            (
                uuid.uuid4(), parcel_id, station_id, county_id, "pickup", 0, phone,
                negotiate(None, language), json.dumps(params, ensure_ascii=False), month, moment,
            )
        )  # fmt: skip
    await _insert_pending(rows)
    return [row[0] for row in rows]


# Sending -------------------------------------------------------------------------------------


async def _claim(ids: list[uuid.UUID] | None) -> list[dict[str, Any]]:
    """Mark pending rows "sending" and return them (atomic on both engines): one sender each."""
    moment = clock.utcnow()
    async with db.write_transaction():
        if ids is None:
            return await db.fetch(
                "UPDATE notify_villager_sms SET state = 'sending', attempted_at = $1 "
                "WHERE id IN (SELECT id FROM notify_villager_sms WHERE state = 'pending' "
                "ORDER BY created_at LIMIT 200) AND state = 'pending' RETURNING *",
                moment,
            )
        if not ids:
            return []
        return await db.fetch(
            "UPDATE notify_villager_sms SET state = 'sending', attempted_at = $1 "
            f"WHERE id IN ({db.in_list(ids, 2)}) AND state = 'pending' RETURNING *",
            moment,
            *ids,
        )


def _body(row: dict[str, Any]) -> dict[str, Any]:
    params = json.loads(row["params"] or "{}")
    return {
        "phone": row["phone"],
        "language": row["language"],
        "message_id": str(row["id"]),
        "template": PICKUP_TEMPLATE if row["kind"] == "pickup" else REMINDER_TEMPLATE,
        "params": {"body": render(row), **{key: str(value) for key, value in params.items()}},
    }


async def send(ids: list[uuid.UUID] | None = None) -> int:
    """Send these pending notices (None: every pending one); how many the provider took."""
    settings = get_settings()
    rows = await _claim(ids)
    if not rows:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(client: httpx.AsyncClient, row: dict[str, Any]) -> channels.Attempt:
        async with gate:
            return await channels.post_provider(
                client, settings.sms_url, settings.sms_key, _body(row)
            )

    async with httpx.AsyncClient(timeout=channels.PROVIDER_TIMEOUT_S) as client:
        attempts = await asyncio.gather(*(one(client, row) for row in rows))
    async with db.write_transaction():
        await db.executemany(
            "UPDATE notify_villager_sms SET state = $1, http_status = $2, error = $3 WHERE id = $4",
            [
                (
                    "sent" if attempt.status == "delivered" else "failed",
                    attempt.http_status,
                    attempt.error[:300],
                    db.as_uuid(row["id"]),
                )
                for row, attempt in zip(rows, attempts, strict=True)
            ],
        )
    return sum(1 for attempt in attempts if attempt.status == "delivered")


def send_in_background(ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    task = asyncio.get_running_loop().create_task(send(ids))
    _background.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        # The rows stay pending (or sending: never sent twice); the push-retry job takes over.
        log.error("villager SMS failed: %s", mask_phones_in_text(repr(task.exception())))


async def drain() -> None:
    """Wait for the sends started in the background (tests, shutdown)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


async def send_pending() -> int:
    """The scheduled net: rows whose sender never ran are sent; a claim left by a sender that
    stopped mid-call has an unknown outcome and is closed as failed (never sent twice)."""
    async with db.write_transaction():
        await db.execute(
            "UPDATE notify_villager_sms SET state = 'failed', error = $1 "
            "WHERE state = 'sending' AND attempted_at < $2",
            "outcome unknown (the sender stopped); not sent again",
            clock.utcnow() - SENDING_TIMEOUT,
        )
    if not get_settings().sms_url:
        return 0
    return await send(None)


# Reminders ------------------------------------------------------------------------------------


def reminder_hour_ok(local: datetime.datetime, first_hour: int) -> bool:
    """A decent hour: from the county's reminder hour up to 20:00, local time."""
    return first_hour <= local.hour < LATEST_HOUR


async def _history(parcel_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, datetime.datetime]]:
    """Per parcel that had a pickup notice: how many reminders so far, and when the last message
    of any kind was written. (A parcel without a notice row never had a full number, or came
    before the provider was configured, or is demo history: the job sends it no reminder.)"""
    history: dict[uuid.UUID, tuple[int, datetime.datetime]] = {}
    for start in range(0, len(parcel_ids), 500):
        chunk = parcel_ids[start : start + 500]
        rows = await db.fetch(
            "SELECT parcel, kind, seq, created_at FROM notify_villager_sms "
            f"WHERE parcel IN ({db.in_list(chunk)})",
            *chunk,
        )
        for row in rows:
            key = db.as_uuid(row["parcel"])
            count, last = history.get(key, (0, datetime.datetime.min.replace(tzinfo=datetime.UTC)))
            seq = row["seq"] if row["kind"] == "reminder" else 0
            history[key] = (max(count, seq), max(last, db.as_moment(row["created_at"])))
    return history


async def _reminder_rows(
    parcels: list[dict[str, Any]], moment: datetime.datetime, manual: bool
) -> list[tuple]:
    """Rows for the parcels that may have a reminder now (inside a write transaction)."""
    if not parcels:
        return []
    history = await _history([db.as_uuid(p["id"]) for p in parcels])
    stations: dict[uuid.UUID, dict[str, Any]] = {}
    by_county: dict[uuid.UUID, list[str]] = {}
    for parcel in parcels:
        phone = full_phone(parcel["recipient_phone"])
        if phone:
            by_county.setdefault(db.as_uuid(parcel["county"]), []).append(phone)
    opted_out: set[str] = set()
    for county_id, phones in by_county.items():
        opted_out |= await _opted_out(county_id, sorted(set(phones)))
    rows = []
    for parcel in parcels:
        parcel_id = db.as_uuid(parcel["id"])
        phone = full_phone(parcel["recipient_phone"])
        if not phone or phone in opted_out:
            continue
        if parcel_id not in history and not manual:
            continue
        count, last = history.get(parcel_id, (0, None))
        if count >= MAX_REMINDERS:
            continue
        gap = MANUAL_GAP if manual else REMINDER_GAP
        if last is not None and moment - last < gap:
            continue
        station_id = db.as_uuid(parcel["station"])
        if station_id not in stations:
            stations[station_id] = await _station_row(station_id)
        station = stations[station_id]
        received = db.as_date(parcel["received_date"])
        days = (moment.astimezone(zoneinfo.ZoneInfo(station["timezone"])).date() - received).days
        params = {
            "station": station["name"],
            "code": parcel["pickup_code"],
            "hours": station["opening_hours"],
            "days": days,
        }
        rows.append(
            (
                uuid.uuid4(), parcel_id, station_id, db.as_uuid(parcel["county"]), "reminder",
                count + 1, phone, parcel.get("language") or "zh-CN",
                json.dumps(params, ensure_ascii=False), _month(moment, station["timezone"]),
                moment,
            )
        )  # fmt: skip
    await _insert_pending(rows)
    return rows


async def _county_language(county_id: uuid.UUID) -> str:
    """The language villagers of the county read: their keepers' most common choice."""
    rows = await db.fetch(
        "SELECT language, COUNT(*) AS n FROM accounts_user WHERE county = $1 AND role = 'keeper' "
        "GROUP BY language ORDER BY n DESC, language LIMIT 1",
        county_id,
    )
    return negotiate(None, rows[0]["language"] if rows else None)


async def remind_county(county: dict[str, Any], moment: datetime.datetime) -> int:
    """The job's part for one county: reminders for parcels past its free days, at a decent hour.
    Returns how many were written (and then sent)."""
    local = moment.astimezone(zoneinfo.ZoneInfo(county["timezone"]))
    if not get_settings().sms_url or not reminder_hour_ok(local, county["checkin_reminder_hour"]):
        return 0
    county_id = db.as_uuid(county["id"])
    last_free_day = local.date() - datetime.timedelta(days=int(county["parcel_free_days"]))
    async with db.write_transaction():
        parcels = await db.fetch(
            "SELECT id, station, county, recipient_phone, pickup_code, received_date "
            "FROM ledger_parcel WHERE county = $1 AND state = 'on_shelf' AND received_date < $2",
            county_id,
            last_free_day,
        )
        language = await _county_language(county_id)
        for parcel in parcels:
            parcel["language"] = language
        rows = await _reminder_rows(parcels, moment, manual=False)
    await send([row[0] for row in rows])
    return len(rows)


async def renotify(station_id: uuid.UUID, parcel_id: uuid.UUID, language: str) -> None:
    """The keeper's one tap: a reminder now for a parcel on the shelf."""
    if not get_settings().sms_url:
        raise DomainError("sms_not_configured", status=409)
    moment = clock.utcnow()
    async with db.write_transaction():
        parcels = await db.fetch(
            "SELECT id, station, county, recipient_phone, pickup_code, received_date, state "
            "FROM ledger_parcel WHERE id = $1 AND station = $2",
            parcel_id,
            station_id,
        )
        if not parcels or parcels[0]["state"] != "on_shelf":
            raise DomainError("parcel_not_on_shelf", status=404)
        parcel = parcels[0]
        if not full_phone(parcel["recipient_phone"]):
            raise DomainError("notice_needs_full_phone", status=409, field="recipient_phone")
        if await _opted_out(db.as_uuid(parcel["county"]), [full_phone(parcel["recipient_phone"])]):
            raise DomainError("notice_opted_out", status=409)
        history = await _history([parcel_id])
        if history.get(parcel_id, (0, None))[0] >= MAX_REMINDERS:
            raise DomainError("notice_limit_reached", status=409, max=MAX_REMINDERS)
        parcel["language"] = language
        rows = await _reminder_rows([parcel], moment, manual=True)
        if not rows:
            raise DomainError("notice_sent_recently", status=409)
    await send([rows[0][0]])


# Reading --------------------------------------------------------------------------------------


def _shown_state(row: dict[str, Any]) -> str:
    return {"sent": "sent", "failed": "failed"}.get(row["state"], "pending")


async def notice_states(parcel_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, int]]:
    """Per parcel: the pickup notice's state as API.md names it, and how many SMS were sent."""
    states: dict[uuid.UUID, tuple[str, int]] = {}
    for start in range(0, len(parcel_ids), 500):
        chunk = parcel_ids[start : start + 500]
        if not chunk:
            continue
        rows = await db.fetch(
            "SELECT parcel, kind, seq, state FROM notify_villager_sms "
            f"WHERE parcel IN ({db.in_list(chunk)}) ORDER BY kind, seq",
            *chunk,
        )
        for row in rows:
            key = db.as_uuid(row["parcel"])
            state, sent = states.get(key, ("none", 0))
            if row["kind"] == "pickup" or state == "none":
                state = _shown_state(row)
            elif row["state"] in ("sent", "pending", "sending"):
                state = _shown_state(row)  # the latest reminder tells best what happened
            states[key] = (state, sent + (1 if row["state"] == "sent" else 0))
    return states


async def notice_state(parcel_id: uuid.UUID) -> tuple[str, int]:
    async with db.read_transaction():
        return (await notice_states([parcel_id])).get(parcel_id, ("none", 0))


async def monthly_counts(county_id: uuid.UUID, month: str) -> list[dict[str, Any]]:
    """SMS to villagers per station in one county-local month: what the county pays for."""
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT v.station, s.name, s.code, v.kind, v.state, COUNT(*) AS n "
            "FROM notify_villager_sms v JOIN registry_station s ON s.id = v.station "
            "WHERE v.county = $1 AND v.month = $2 GROUP BY v.station, s.name, s.code, v.kind, "
            "v.state ORDER BY s.code",
            county_id,
            month,
        )
    stations: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        station_id = db.as_uuid(row["station"])
        line = stations.setdefault(
            station_id,
            {
                "station_id": station_id,
                "name": row["name"],
                "code": row["code"],
                "pickup": 0,
                "reminder": 0,
                "sent": 0,
                "failed": 0,
            },
        )
        n = int(row["n"])
        line[row["kind"]] = line.get(row["kind"], 0) + n
        if row["state"] == "sent":
            line["sent"] += n
        elif row["state"] == "failed":
            line["failed"] += n
    return list(stations.values())


async def _insert_pending(rows: list[tuple]) -> None:
    """Messages owed, one row each; a parcel's message of one kind and sequence exists once."""
    await db.executemany(
        "INSERT INTO notify_villager_sms (id, parcel, station, county, kind, seq, phone, "
        "language, params, month, state, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11) "
        "ON CONFLICT (parcel, kind, seq) DO NOTHING",
        rows,
    )
