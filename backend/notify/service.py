"""Notifications to keepers: the inbox (banner), the channel chain and county notices.

Every message is first an inbox item, committed before anything is sent: the banner exists even if
every channel fails, and the item is the outbox of its own channel chain (Web Push to every
subscription → SMS if none or all failed → WeChat if SMS failed or is not configured). The chain
runs after the commit under a short claim on the item, so one process sends it; a sender that dies
leaves the item "pending" and `retry_due()` sends it later. Push is at-least-once (the message's tag
lets the phone replace a repeat); SMS and WeChat are at-most-once per message, because providers are
not idempotent: their attempt is logged as "sending" before the call, and a chain that finds such a
row never sends on that channel again.

County notices are written in the request, their chains run in a background task: a provider that
hangs cannot hold a staff member's request (the items are durable already; `retry_due` is the net).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import aiohttp
import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from backend import clock, db
from backend.errors import DomainError
from backend.i18n import negotiate, translate
from backend.notify import channels, groupwrite
from backend.notify.channels import Attempt
from backend.notify.endpoints import EndpointNotPublic, check_endpoint, push_http_session
from backend.notify.keys import b64url_decode, vapid_pair
from backend.privacy import mask_phone, mask_phones_in_text
from backend.settings import get_settings

log = logging.getLogger("cunzhan.notify")

CLAIM_SECONDS = 120  # push 10 s + SMS 5 s + WeChat 5 s, with room; see _claim_seconds
PUSH_CONCURRENCY = 32
PROVIDER_CONCURRENCY = 8  # SMS and WeChat providers throttle per account; stay well below
RETRY_WINDOW = datetime.timedelta(hours=24)  # a reminder older than this is not worth a push
BACKOFF_FIRST_S = 60
BACKOFF_MAX_S = 6 * 3600
REMINDER_TTL_S = 24 * 3600
NOTICE_TTL_S = 3 * 24 * 3600
NOTICE_TITLE_MAX = 40
NOTICE_BODY_MAX = 500
NOTICE_URL = "/app/#/home"
SCOPES = ("county", "township", "station")
INSERT_CHUNK = 200

_background: set[asyncio.Task] = set()


def _moment(value: Any) -> datetime.datetime | None:
    return None if value is None else db.as_moment(value)


def _claim_seconds(items: int) -> int:
    """Longer than a chain of `items` can take at worst (every push service and provider timing
    out, so many at a time), so no one takes over a live sender's items; a dead sender's are sent
    again once it runs out."""
    push_rounds = -(-items // PUSH_CONCURRENCY)
    provider_rounds = -(-items // PROVIDER_CONCURRENCY)
    return (
        CLAIM_SECONDS
        + push_rounds * int(channels.PUSH_TIMEOUT_S + 1)
        + provider_rounds * 2 * int(channels.PROVIDER_TIMEOUT_S)
    )


# Rendering ------------------------------------------------------------------------------------


def render(item: dict[str, Any], language: str) -> tuple[str, str]:
    """Title and body of an item: a notice as staff wrote it, a reminder in `language`."""
    if item["kind"] == "notice" and item.get("notice_title") is not None:
        return item["notice_title"] or "", item["notice_body"] or ""
    params = json.loads(item["params"] or "{}")
    return (
        translate(item["title_key"], language, **params),
        translate(item["body_key"], language, **params) if item["body_key"] else "",
    )


def push_payload(item: dict[str, Any], language: str) -> dict[str, str]:
    """What pwa/sw.js shows: title, body, the screen a tap opens, a tag that collapses repeats."""
    title, body = render(item, language)
    return {"title": title, "body": body, "url": item["url"], "tag": item["dedupe_key"]}


# Creating messages ----------------------------------------------------------------------------


@dataclass
class NewItem:
    keeper: uuid.UUID
    county: uuid.UUID
    station: uuid.UUID | None
    kind: str
    dedupe_key: str
    url: str
    title_key: str = ""
    body_key: str = ""
    params: str = "{}"
    notice: uuid.UUID | None = None
    urgency: str = "normal"
    ttl_seconds: int = REMINDER_TTL_S
    id: uuid.UUID = field(default_factory=uuid.uuid4)


_ITEM_COLUMNS = (
    "id, keeper, county, station, kind, notice, title_key, body_key, params, url, dedupe_key, "
    "urgency, ttl_seconds, created_at, chain_state, claimed_until"
)


async def _insert_items(items: list[NewItem]) -> dict[uuid.UUID, uuid.UUID]:
    """Insert what is new (inside a write transaction); {keeper: item id} of the inserted.

    The new items are claimed by this process at once (it sends them next): one write less,
    and if it dies before sending, the claim runs out and `retry_due` sends them."""
    created: dict[uuid.UUID, uuid.UUID] = {}
    moment = clock.utcnow()
    claim = moment + datetime.timedelta(seconds=_claim_seconds(len(items)))
    for start in range(0, len(items), INSERT_CHUNK):
        chunk = items[start : start + INSERT_CHUNK]
        values, args = [], []
        for item in chunk:
            row = [
                item.id, item.keeper, item.county, item.station, item.kind, item.notice,
                item.title_key, item.body_key, item.params, item.url, item.dedupe_key,
                item.urgency, item.ttl_seconds, moment, "pending", claim,
            ]  # fmt: skip
            values.append(f"({db.in_list(row, len(args) + 1)})")
            args.extend(row)
        rows = await db.fetch(
            f"INSERT INTO notify_inbox_item ({_ITEM_COLUMNS}) VALUES {', '.join(values)} "
            'ON CONFLICT ("keeper", "dedupe_key") DO NOTHING RETURNING id, keeper',
            *args,
        )
        for row in rows:
            created[db.as_uuid(row["keeper"])] = db.as_uuid(row["id"])
    by_id = {item.id: item for item in items}
    banners = [
        (uuid.uuid4(), item_id, keeper, by_id[item_id].county, by_id[item_id].station,
         "banner", "delivered", by_id[item_id].dedupe_key, moment)
        for keeper, item_id in created.items()
    ]  # fmt: skip
    await db.executemany(
        "INSERT INTO notify_delivery (id, item, keeper, county, station, channel, status, "
        "dedupe_key, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        banners,
    )
    return created


async def _keepers(user_ids: list[uuid.UUID] | None, station_id: uuid.UUID | None = None):
    """The recipients with their county and station: these users, or a station's keepers."""
    select = (
        "SELECT u.id, COALESCE(u.county, s.county) AS county, u.station FROM accounts_user u "
        "LEFT JOIN registry_station s ON s.id = u.station "
    )
    if station_id is not None:
        return await db.fetch(
            select + "WHERE u.station = $1 AND u.role = 'keeper' AND u.active = $2",
            station_id,
            True,
        )
    if not user_ids:
        return []
    return await db.fetch(select + f"WHERE u.id IN ({db.in_list(user_ids)})", *user_ids)


async def notify_users(
    user_ids: Iterable[uuid.UUID],
    *,
    kind: str = "reminder",
    title_key: str,
    body_key: str,
    params: dict[str, Any],
    url: str,
    dedupe_key: str,
    urgency: str = "high",
    ttl_seconds: int = REMINDER_TTL_S,
) -> int:
    """`notify_user` for many keepers at once (one transaction, pushes sent concurrently).

    Returns how many keepers got something new: a new message, or (for a message they already
    have) a push to a subscription added since it was sent."""
    return await _notify(
        list(dict.fromkeys(user_ids)),
        None,
        kind=kind,
        title_key=title_key,
        body_key=body_key,
        params=params,
        url=url,
        dedupe_key=dedupe_key,
        urgency=urgency,
        ttl_seconds=ttl_seconds,
    )


async def _notify(
    user_ids: list[uuid.UUID] | None,
    station_id: uuid.UUID | None,
    *,
    kind: str,
    title_key: str,
    body_key: str,
    params: dict[str, Any],
    url: str,
    dedupe_key: str,
    urgency: str,
    ttl_seconds: int,
) -> int:
    """A read (who, and who has it already), one write (the new items and what their chains
    need), the sends, one write (the log): two commits per station for a reminder job, and none
    when a job runs again in the same window with nothing new to send."""
    params_json = json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)
    async with db.read_transaction():
        keepers = [row for row in await _keepers(user_ids, station_id) if row["county"]]
        earlier = await _earlier_items([db.as_uuid(row["id"]) for row in keepers], dedupe_key)
        untried = await _with_untried_subscriptions([item_id for item_id in earlier.values()])
    missing = [row for row in keepers if db.as_uuid(row["id"]) not in earlier]
    items = [
        NewItem(
            keeper=db.as_uuid(row["id"]),
            county=db.as_uuid(row["county"]),
            station=db.as_uuid(row["station"]) if row["station"] else None,
            kind=kind,
            dedupe_key=dedupe_key,
            url=url,
            title_key=title_key,
            body_key=body_key,
            params=params_json,
            urgency=urgency,
            ttl_seconds=ttl_seconds,
        )
        for row in missing
    ]

    async def write():
        created = await _insert_items(items)  # a racing process may have made some meanwhile
        loaded = await _load(list(created.values()), False) if created else ([], {})
        return created, loaded

    created, loaded = await groupwrite.write(write) if items else ({}, ([], {}))
    reached = set(created)
    if created:
        await run_chains(list(created.values()), claimed=True, loaded=loaded)
    if untried:
        # "What was already sent to a subscription in this window is not sent again, but a
        # subscription added since gets it" (API.md).
        reached |= await run_chains(untried, only_new_subscriptions=True)
    return len(reached)


async def _earlier_items(keepers: list[uuid.UUID], dedupe_key: str) -> dict[uuid.UUID, uuid.UUID]:
    """{keeper: item} of those who already have this message."""
    if not keepers:
        return {}
    rows = await db.fetch(
        "SELECT id, keeper FROM notify_inbox_item WHERE dedupe_key = $1 "
        f"AND keeper IN ({db.in_list(keepers, 2)})",
        dedupe_key,
        *keepers,
    )
    return {db.as_uuid(row["keeper"]): db.as_uuid(row["id"]) for row in rows}


async def _with_untried_subscriptions(item_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Items whose keeper has a subscription never tried with them (added since)."""
    if not item_ids:
        return []
    rows = await db.fetch(
        "SELECT DISTINCT i.id FROM notify_inbox_item i "
        "JOIN notify_push_subscription s ON s.keeper = i.keeper "
        f"WHERE i.id IN ({db.in_list(item_ids)}) AND NOT EXISTS (SELECT 1 FROM notify_delivery d "
        "WHERE d.item = i.id AND d.subscription = s.id)",
        *item_ids,
    )
    return [db.as_uuid(row["id"]) for row in rows]


async def notify_user(
    user_id: uuid.UUID,
    *,
    kind: str = "reminder",
    title_key: str,
    body_key: str,
    params: dict[str, Any],
    url: str,
    dedupe_key: str,
    urgency: str = "high",
    ttl_seconds: int = REMINDER_TTL_S,
) -> bool:
    """One message to one keeper, rendered in their language; False if `dedupe_key` was already
    sent to them (and no subscription of theirs is new since). The inbox item (banner) always
    exists afterwards; every channel attempt is in the delivery log."""
    reached = await notify_users(
        [user_id],
        kind=kind,
        title_key=title_key,
        body_key=body_key,
        params=params,
        url=url,
        dedupe_key=dedupe_key,
        urgency=urgency,
        ttl_seconds=ttl_seconds,
    )
    return reached > 0


async def notify_station_keepers(
    station_id: uuid.UUID,
    *,
    kind: str = "reminder",
    title_key: str,
    body_key: str,
    params: dict[str, Any],
    url: str,
    dedupe_key: str,
    urgency: str = "high",
    ttl_seconds: int = REMINDER_TTL_S,
) -> int:
    """`notify_user` for every active keeper of the station; how many got something new."""
    return await _notify(
        None,
        station_id,
        kind=kind,
        title_key=title_key,
        body_key=body_key,
        params=params,
        url=url,
        dedupe_key=dedupe_key,
        urgency=urgency,
        ttl_seconds=ttl_seconds,
    )


# The chain ------------------------------------------------------------------------------------

_CLAIMED_COLUMNS = (
    "i.id, i.keeper, i.county, i.station, i.kind, i.title_key, i.body_key, i.params, i.url, "
    "i.dedupe_key, i.urgency, i.ttl_seconds, i.chain_state, i.delivered_via, "
    "n.title AS notice_title, n.body AS notice_body, u.language, u.phone"
)


async def _claim(item_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Take the items nobody else is sending right now (atomic on both engines)."""
    moment = clock.utcnow()
    claimed: list[uuid.UUID] = []
    async with db.write_transaction():
        for start in range(0, len(item_ids), INSERT_CHUNK):
            chunk = item_ids[start : start + INSERT_CHUNK]
            rows = await db.fetch(
                "UPDATE notify_inbox_item SET claimed_until = $1 "
                f"WHERE id IN ({db.in_list(chunk, 3)}) "
                "AND (claimed_until IS NULL OR claimed_until < $2) "
                "RETURNING id",
                moment + datetime.timedelta(seconds=_claim_seconds(len(item_ids))),
                moment,
                *chunk,
            )
            claimed.extend(db.as_uuid(row["id"]) for row in rows)
    return claimed


async def _load(
    item_ids: list[uuid.UUID], only_new_subscriptions: bool
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, list[dict[str, Any]]]]:
    """The claimed items, and per item the keeper's subscriptions that have not had it
    delivered yet (or, for a repeat call, that have never been tried with it)."""
    async with db.read_transaction():
        items = await db.fetch(
            f"SELECT {_CLAIMED_COLUMNS} FROM notify_inbox_item i "
            "JOIN accounts_user u ON u.id = i.keeper LEFT JOIN notify_notice n ON n.id = i.notice "
            f"WHERE i.id IN ({db.in_list(item_ids)})",
            *item_ids,
        )
        if not items:
            return [], {}
        keepers = list({db.as_uuid(item["keeper"]) for item in items})
        subscriptions = await db.fetch(
            "SELECT id, keeper, endpoint, p256dh, auth, failures, next_attempt_at "
            "FROM notify_push_subscription "
            f"WHERE keeper IN ({db.in_list(keepers)}) ORDER BY created_at",
            *keepers,
        )
        tried = await db.fetch(
            "SELECT item, subscription, status FROM notify_delivery WHERE channel = 'push' "
            f"AND item IN ({db.in_list(item_ids)})",
            *item_ids,
        )
    skip: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for row in tried:
        if row["subscription"] is None:
            continue
        if only_new_subscriptions or row["status"] == "delivered":
            skip.add((db.as_uuid(row["item"]), db.as_uuid(row["subscription"])))
    by_keeper: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for subscription in subscriptions:
        by_keeper.setdefault(db.as_uuid(subscription["keeper"]), []).append(subscription)
    targets: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for item in items:
        item_id = db.as_uuid(item["id"])
        targets[item_id] = [
            subscription
            for subscription in by_keeper.get(db.as_uuid(item["keeper"]), [])
            if (item_id, db.as_uuid(subscription["id"])) not in skip
        ]
    return items, targets


def _backoff_seconds(failures: int, retry_after_s: int | None) -> int:
    delay = min(BACKOFF_FIRST_S * 2 ** max(failures - 1, 0), BACKOFF_MAX_S)
    if retry_after_s:
        delay = max(delay, min(retry_after_s, 24 * 3600))
    return delay


@dataclass
class _PushResult:
    item: dict[str, Any]
    subscription: dict[str, Any]
    attempt: Attempt


async def _send_pushes(
    items: list[dict[str, Any]], targets: dict[uuid.UUID, list[dict[str, Any]]]
) -> list[_PushResult]:
    settings = get_settings()
    moment = clock.utcnow()
    pairs = [(item, sub) for item in items for sub in targets[db.as_uuid(item["id"])]]
    if not pairs:
        return []
    vapid = await vapid_pair()
    gate = asyncio.Semaphore(PUSH_CONCURRENCY)

    async def one(item, subscription, session) -> _PushResult:
        due = _moment(subscription["next_attempt_at"])
        if due is not None and due > moment:
            # The push service asked us to wait: this message waits for retry_due().
            return _PushResult(item, subscription, Attempt("failed", None, "backing off"))
        async with gate:
            attempt = await channels.send_push(
                session,
                subscription,
                push_payload(item, negotiate(None, item["language"])),
                vapid=vapid,
                subject=settings.vapid_subject,
                ttl_seconds=item["ttl_seconds"],
                urgency=item["urgency"],
            )
        return _PushResult(item, subscription, attempt)

    async with _push_session() as session:
        return list(await asyncio.gather(*(one(item, sub, session) for item, sub in pairs)))


@dataclass
class _SharedSession:
    session: aiohttp.ClientSession
    users: int = 0


_sessions: dict[asyncio.AbstractEventLoop, _SharedSession] = {}


@contextlib.asynccontextmanager
async def _push_session() -> AsyncIterator[aiohttp.ClientSession]:
    """One HTTP session (kept-alive connections to the push services) shared by the chains that
    overlap, as a job notifying station after station does; closed when the last one ends."""
    loop = asyncio.get_running_loop()
    shared = _sessions.get(loop)
    if shared is None or shared.session.closed:
        # Public addresses only, checked at connect time, and no redirects (endpoints.py).
        shared = _sessions[loop] = _SharedSession(push_http_session(PUSH_CONCURRENCY * 4))
    shared.users += 1
    try:
        yield shared.session
    finally:
        shared.users -= 1
        if shared.users == 0 and _sessions.get(loop) is shared:
            del _sessions[loop]
            await shared.session.close()


async def _record_pushes(results: list[_PushResult], finished: list[uuid.UUID]) -> None:
    """Log the attempts, update the subscriptions, and close the items that are done."""
    moment = clock.utcnow()
    deliveries, delivered_items = [], set()
    succeeded, gone, failed = [], [], []
    for result in results:
        item, subscription, attempt = result.item, result.subscription, result.attempt
        subscription_id = db.as_uuid(subscription["id"])
        deliveries.append(
            (uuid.uuid4(), item["id"], item["keeper"], item["county"], item["station"], "push",
             attempt.status, attempt.http_status, attempt.error, subscription_id,
             item["dedupe_key"], moment)
        )  # fmt: skip
        if attempt.status == "delivered":
            delivered_items.add(db.as_uuid(item["id"]))
            succeeded.append(subscription_id)
        elif attempt.status == "gone":
            gone.append(subscription_id)
        elif attempt.retryable and attempt.error != "backing off":
            failures = subscription["failures"] + 1
            subscription["failures"] = failures  # the same subscription may fail twice here
            wait = _backoff_seconds(failures, attempt.retry_after_s)
            failed.append((failures, moment + datetime.timedelta(seconds=wait), subscription_id))

    async def write() -> None:
        await db.executemany(
            "INSERT INTO notify_delivery (id, item, keeper, county, station, channel, status, "
            "http_status, error, subscription, dedupe_key, at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            deliveries,
        )
        await db.executemany(
            "UPDATE notify_push_subscription SET failures = 0, next_attempt_at = NULL, "
            "last_success_at = $1 WHERE id = $2",
            [(moment, subscription_id) for subscription_id in set(succeeded)],
        )
        await db.executemany(
            "UPDATE notify_push_subscription SET failures = $1, next_attempt_at = $2 WHERE id = $3",
            failed,
        )
        await db.executemany(
            "DELETE FROM notify_push_subscription WHERE id = $1", [(s,) for s in set(gone)]
        )
        await db.executemany(
            "UPDATE notify_inbox_item SET delivered_via = 'push' "
            "WHERE id = $1 AND delivered_via = ''",
            [(item_id,) for item_id in delivered_items],
        )
        await _close(finished)

    await groupwrite.write(write)
    if gone:
        log.info("push: %d subscription(s) gone, deleted", len(set(gone)))


def _provider_body(channel: str, item: dict[str, Any]) -> dict[str, Any]:
    settings = get_settings()
    language = negotiate(None, item["language"])
    title, body = render(item, language)
    common = {
        "phone": item["phone"],  # the provider needs the real number; nothing else gets it
        "language": language,
        "message_id": str(item["id"]),  # lets a provider that can deduplicate do so
    }
    if channel == "sms":
        params = json.loads(item["params"] or "{}")
        return {
            **common,
            "template": settings.sms_template,
            "params": {"title": title, "body": body, **{k: str(v) for k, v in params.items()}},
        }
    return {
        **common,
        "template": settings.wechat_template,
        "data": {"title": title, "body": body},
        "url": item["url"],
    }


_DELIVERY_ROW = (
    "INSERT INTO notify_delivery (id, item, keeper, county, station, channel, status, "
    "dedupe_key, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)


def _provider_row(channel: str, item: dict[str, Any], status: str) -> tuple:
    return (
        uuid.uuid4(), item["id"], item["keeper"], item["county"], item["station"], channel,
        status, item["dedupe_key"], clock.utcnow(),
    )  # fmt: skip


async def _provider_outcome(
    channel: str, item: dict[str, Any], row_id: uuid.UUID, attempt: Attempt
) -> None:
    await db.execute(
        "UPDATE notify_delivery SET status = $1, http_status = $2, error = $3, at = $4 "
        "WHERE id = $5",
        attempt.status,
        attempt.http_status,
        attempt.error,
        clock.utcnow(),
        row_id,
    )
    if attempt.status == "delivered":
        await db.execute(
            "UPDATE notify_inbox_item SET delivered_via = $1 WHERE id = $2 AND delivered_via = ''",
            channel,
            item["id"],
        )


async def _provider_step(channel: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Try `channel` for these items; the items still unreached afterwards (worth the next
    channel). An item with an earlier attempt on this channel is never sent again by it."""
    settings = get_settings()
    url, key = (
        (settings.sms_url, settings.sms_key)
        if channel == "sms"
        else (settings.wechat_url, settings.wechat_key)
    )
    if not items:
        return []
    item_ids = [db.as_uuid(item["id"]) for item in items]

    async def prepare() -> tuple[dict[uuid.UUID, str], list[dict[str, Any]]]:
        earlier = await db.fetch(
            "SELECT item, status FROM notify_delivery WHERE channel = $1 "
            f"AND item IN ({db.in_list(item_ids, 2)})",
            channel,
            *item_ids,
        )
        tried = {db.as_uuid(row["item"]): row["status"] for row in earlier}
        # A "sending" row left by a sender that died: the outcome is unknown, so no second SMS.
        await db.execute(
            "UPDATE notify_delivery SET status = 'failed', error = $1 WHERE channel = $2 "
            f"AND status = 'sending' AND item IN ({db.in_list(item_ids, 3)})",
            "outcome unknown (the sender stopped); not sent again",
            channel,
            *item_ids,
        )
        fresh = [item for item in items if db.as_uuid(item["id"]) not in tried]
        if not url:
            await db.executemany(
                _DELIVERY_ROW, [_provider_row(channel, i, "skipped") for i in fresh]
            )
        return tried, fresh

    tried, fresh = await groupwrite.write(prepare)
    attempts: dict[uuid.UUID, Attempt] = {}
    if url and fresh:
        gate = asyncio.Semaphore(PROVIDER_CONCURRENCY)

        async def one(client: httpx.AsyncClient, item: dict[str, Any]) -> Attempt:
            async with gate:
                row = _provider_row(channel, item, "sending")
                # Logged before the provider hears of it: a crash now never leads to a resend.
                await groupwrite.write(lambda: db.execute(_DELIVERY_ROW, *row))
                attempt = await channels.post_provider(
                    client, url, key, _provider_body(channel, item)
                )
                await groupwrite.write(lambda: _provider_outcome(channel, item, row[0], attempt))
                return attempt

        async with httpx.AsyncClient(timeout=channels.PROVIDER_TIMEOUT_S) as client:
            answers = await asyncio.gather(*(one(client, item) for item in fresh))
        attempts = {
            db.as_uuid(item["id"]): answer for item, answer in zip(fresh, answers, strict=True)
        }
    else:
        attempts = {
            db.as_uuid(item["id"]): Attempt("skipped", None, "not configured") for item in fresh
        }
    unreached = []
    for item in items:
        item_id = db.as_uuid(item["id"])
        status = attempts[item_id].status if item_id in attempts else tried.get(item_id)
        if status in ("failed", "skipped"):  # "sending" from a dead sender: outcome unknown
            unreached.append(item)
    return unreached


async def _close(item_ids: list[uuid.UUID], finished: bool = True) -> None:
    """End the claim (inside a write transaction). Not finished: the item keeps its state, so
    a pending one is sent again by retry_due."""
    done = "chain_state = 'done', " if finished else ""
    for start in range(0, len(item_ids), INSERT_CHUNK):
        chunk = item_ids[start : start + INSERT_CHUNK]
        await db.execute(
            f"UPDATE notify_inbox_item SET {done}claimed_until = NULL "
            f"WHERE id IN ({db.in_list(chunk)})",
            *chunk,
        )


async def run_chains(
    item_ids: list[uuid.UUID],
    *,
    only_new_subscriptions: bool = False,
    claimed: bool = False,
    loaded: tuple[list[dict[str, Any]], dict[uuid.UUID, list[dict[str, Any]]]] | None = None,
) -> set[uuid.UUID]:
    """Send these items through their chain; the keepers a push or provider reached anew.

    A pending item gets the whole chain; a done item only pushes (to subscriptions not yet
    reached, or never tried when `only_new_subscriptions`). `claimed`: the caller holds the
    items' claim already (it has just inserted them)."""
    ids = item_ids if claimed else await _claim(item_ids)
    if not ids:
        return set()
    open_ids = set(ids)
    reached: set[uuid.UUID] = set()
    try:
        items, targets = loaded or await _load(ids, only_new_subscriptions)
        results = await _send_pushes(items, targets)
        pushed = {db.as_uuid(r.item["id"]) for r in results if r.attempt.status == "delivered"}
        reached |= {
            db.as_uuid(r.item["keeper"]) for r in results if r.attempt.status == "delivered"
        }
        fallback = [
            item
            for item in items
            if item["chain_state"] == "pending" and db.as_uuid(item["id"]) not in pushed
        ]
        finished = list(open_ids - {db.as_uuid(item["id"]) for item in fallback})
        await _record_pushes(results, finished)
        open_ids -= set(finished)
        for channel in ("sms", "wechat"):
            before = {db.as_uuid(item["id"]) for item in fallback}
            fallback = await _provider_step(channel, fallback)
            still = {db.as_uuid(item["id"]) for item in fallback}
            gained = before - still
            reached |= {
                db.as_uuid(item["keeper"]) for item in items if db.as_uuid(item["id"]) in gained
            }
        remaining = list(open_ids)
        if remaining:
            await groupwrite.write(lambda: _close(remaining))
        open_ids.clear()
    finally:
        if open_ids:  # an error midway: what is not finished stays pending for retry_due
            async with db.write_transaction():
                await _close(list(open_ids), finished=False)
    return reached


# Background work and retries ------------------------------------------------------------------


def _in_background(coroutine) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    _background.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        # The items stay pending: retry_due() sends them on its next run.
        log.error("notification chain failed: %s", mask_phones_in_text(repr(task.exception())))


async def drain() -> None:
    """Wait for the chains started in the background (tests, shutdown)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


async def retry_due() -> int:
    """Send what is owed: pending items whose sender died or never started, and pushes that
    failed with 429/5xx/no answer whose subscription's back-off has run out. Returns how many
    items were taken. The jobs capability runs this every minute or so."""
    moment = clock.utcnow()
    async with db.read_transaction():
        pending = await db.fetch(
            "SELECT id, created_at, ttl_seconds FROM notify_inbox_item "
            "WHERE chain_state = 'pending' AND (claimed_until IS NULL OR claimed_until < $1) "
            "ORDER BY created_at LIMIT 500",
            moment,
        )
        retries = await db.fetch(
            "SELECT DISTINCT d.item FROM notify_delivery d "
            "JOIN notify_push_subscription s ON s.id = d.subscription "
            "JOIN notify_inbox_item i ON i.id = d.item "
            "WHERE d.channel = 'push' AND d.status = 'failed' "
            "AND (d.http_status IS NULL OR d.http_status = 429 OR d.http_status >= 500) "
            "AND i.chain_state = 'done' AND i.created_at > $1 "
            "AND (s.next_attempt_at IS NULL OR s.next_attempt_at <= $2) "
            "AND NOT EXISTS (SELECT 1 FROM notify_delivery ok WHERE ok.item = d.item "
            "AND ok.subscription = d.subscription AND ok.status = 'delivered') LIMIT 500",
            moment - RETRY_WINDOW,
            moment,
        )
    taken = 0
    # Owed longer than its time to live (the server was down for days): last week's reminder
    # would only confuse; the banner stays, nothing is sent.
    stale = [
        db.as_uuid(row["id"])
        for row in pending
        if _moment(row["created_at"]) + datetime.timedelta(seconds=row["ttl_seconds"]) < moment
    ]
    if stale:
        await groupwrite.write(lambda: _close(stale))
    closed = set(stale)
    owed = [db.as_uuid(row["id"]) for row in pending if db.as_uuid(row["id"]) not in closed]
    if owed:
        await run_chains(owed)
        taken += len(owed)
    if retries:
        ids = [db.as_uuid(row["item"]) for row in retries]
        await run_chains(ids)
        taken += len(ids)
    return taken


# Subscriptions and the inbox ------------------------------------------------------------------


def check_subscription(endpoint: str, p256dh: str, auth: str, device_id: str | None) -> None:
    """A push endpoint is an https URL of a push service; keys are a P-256 point and 16 bytes.

    Plain http is refused unless CUNZHAN_PUSH_ALLOW_HTTP=1 (tests and bench_push run a push
    service on loopback): the server POSTs to whatever endpoint a keeper registers."""
    allowed = ("https", "http") if os.environ.get("CUNZHAN_PUSH_ALLOW_HTTP") == "1" else ("https",)
    try:
        parsed = urlparse(endpoint or "")
        host = parsed.hostname
    except ValueError:
        host = None
    printable = endpoint.isascii() and all(" " < ch < "\x7f" for ch in endpoint)
    if not (printable and host and parsed.scheme in allowed and len(endpoint) <= 1000):
        raise DomainError("push_subscription_invalid", field="endpoint")
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError) as exc:
        raise DomainError("push_subscription_invalid", field="p256dh") from exc
    try:
        secret = b64url_decode(auth)
    except (ValueError, TypeError) as exc:
        raise DomainError("push_subscription_invalid", field="auth") from exc
    if len(point) != 65:  # browsers give the uncompressed point; encryption needs it
        raise DomainError("push_subscription_invalid", field="p256dh")
    if len(secret) != 16:
        raise DomainError("push_subscription_invalid", field="auth")
    if device_id is not None and (len(device_id) > 64 or _control_characters(device_id)):
        raise DomainError("push_subscription_invalid", field="device_id")


async def save_subscription(
    keeper_id: uuid.UUID, *, endpoint: str, p256dh: str, auth: str, device_id: str
) -> uuid.UUID:
    """Upsert by endpoint: the same browser re-subscribing updates it. An endpoint belongs to the
    keeper who registered it until that keeper deletes it or the push service says it is gone:
    another keeper who learns the URL cannot move it to himself (409)."""
    check_subscription(endpoint, p256dh, auth, device_id)
    try:
        await check_endpoint(endpoint)
    except EndpointNotPublic as exc:
        raise DomainError("push_endpoint_not_public", field="endpoint") from exc
    moment = clock.utcnow()
    async with db.write_transaction():
        rows = await db.fetch(
            "INSERT INTO notify_push_subscription (id, keeper, device_id, endpoint, p256dh, auth, "
            "created_at, updated_at, failures) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 0) "
            "ON CONFLICT (endpoint) DO UPDATE SET keeper = excluded.keeper, "
            "device_id = excluded.device_id, p256dh = excluded.p256dh, auth = excluded.auth, "
            "updated_at = excluded.updated_at, failures = 0, next_attempt_at = NULL "
            "WHERE notify_push_subscription.keeper = excluded.keeper "
            "RETURNING id",
            uuid.uuid4(),
            keeper_id,
            device_id,
            endpoint,
            p256dh,
            auth,
            moment,
        )
    if not rows:
        raise DomainError("push_endpoint_taken", status=409, field="endpoint")
    return db.as_uuid(rows[0]["id"])


async def delete_subscription(keeper_id: uuid.UUID, endpoint: str) -> None:
    async with db.write_transaction():
        await db.execute(
            "DELETE FROM notify_push_subscription WHERE endpoint = $1 AND keeper = $2",
            endpoint,
            keeper_id,
        )


async def inbox(keeper_id: uuid.UUID, language: str, limit: int = 100) -> list[dict[str, Any]]:
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT i.id, i.kind, i.title_key, i.body_key, i.params, i.url, i.dedupe_key, "
            "i.created_at, i.read_at, n.title AS notice_title, n.body AS notice_body "
            "FROM notify_inbox_item i LEFT JOIN notify_notice n ON n.id = i.notice "
            "WHERE i.keeper = $1 ORDER BY i.created_at DESC, i.id LIMIT $2",
            keeper_id,
            limit,
        )
    answer = []
    for row in rows:
        title, body = render(row, language)
        answer.append(
            {
                "id": db.as_uuid(row["id"]),
                "kind": "notice" if row["kind"] == "notice" else "reminder",
                "title": title,
                "body": body,
                "created_at": _moment(row["created_at"]),
                "read_at": _moment(row["read_at"]),
                "url": row["url"] or None,
            }
        )
    return answer


async def mark_read(keeper_id: uuid.UUID, item_id: uuid.UUID) -> None:
    """Idempotent: the first read time stays. Another keeper's item is "not found"."""
    async with db.write_transaction():
        rows = await db.fetch(
            "SELECT read_at FROM notify_inbox_item WHERE id = $1 AND keeper = $2",
            item_id,
            keeper_id,
        )
        if not rows:
            raise DomainError("not_found", status=404)
        if rows[0]["read_at"] is None:
            await db.execute(
                "UPDATE notify_inbox_item SET read_at = $1 WHERE id = $2", clock.utcnow(), item_id
            )


# County notices -------------------------------------------------------------------------------


def _control_characters(text: str, allowed: str = "") -> bool:
    """NUL and other control characters: PostgreSQL refuses NUL, and none belong in a notice."""
    return any((ord(ch) < 32 or ord(ch) == 127) and ch not in allowed for ch in text)


def _check_notice(scope: str, title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if scope not in SCOPES:
        raise DomainError("notice_scope_invalid", field="scope")
    if not title or len(title) > NOTICE_TITLE_MAX or _control_characters(title):
        raise DomainError("notice_title_invalid", field="title", max=NOTICE_TITLE_MAX)
    if not body or len(body) > NOTICE_BODY_MAX or _control_characters(body, "\n\t"):
        raise DomainError("notice_body_invalid", field="body", max=NOTICE_BODY_MAX)
    return title, body


async def _scope_keepers(
    county_id: uuid.UUID, scope: str, target_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    """Active keepers of open stations in the scope; the target must lie in the county."""
    if scope == "county":
        if target_id not in (None, county_id):
            raise DomainError("notice_target_invalid", field="target_id")
        condition, args = "", []
    else:
        table = "registry_township" if scope == "township" else "registry_station"
        if target_id is None:
            raise DomainError("notice_target_invalid", field="target_id")
        found = await db.fetch(
            f"SELECT id FROM {table} WHERE id = $1 AND county = $2", target_id, county_id
        )
        if not found:
            raise DomainError("notice_target_invalid", field="target_id")
        condition = " AND s.township = $3" if scope == "township" else " AND s.id = $3"
        args = [target_id]
    return await db.fetch(
        "SELECT u.id, s.id AS station FROM accounts_user u JOIN registry_station s "
        "ON s.id = u.station WHERE s.county = $1 AND u.role = 'keeper' AND u.active = $2 "
        f"AND s.closed_at IS NULL{condition}",
        county_id,
        True,
        *args,
    )


async def create_notice(
    county_id: uuid.UUID,
    author_id: uuid.UUID | None,
    *,
    scope: str,
    target_id: uuid.UUID | None,
    title: str,
    body: str,
) -> uuid.UUID:
    """Write the notice and one inbox item per keeper in scope in one transaction, answer, and
    run the channel chains in the background (see the module docstring for why)."""
    title, body = _check_notice(scope, title, body)
    notice_id = uuid.uuid4()
    async with db.write_transaction():
        keepers = await _scope_keepers(county_id, scope, target_id)
        await db.execute(
            "INSERT INTO notify_notice (id, county, scope, target_id, title, body, author, "
            "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            notice_id,
            county_id,
            scope,
            target_id if scope != "county" else None,
            title,
            body,
            author_id,
            clock.utcnow(),
        )
        # Staff actions are audited (accounts_audit), in the same transaction as the notice.
        await db.execute(
            "INSERT INTO accounts_audit (id, actor, county, action, target_type, target_id, "
            "details, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            uuid.uuid4(),
            author_id,
            county_id,
            "notice.created",
            "notice",
            str(notice_id),
            json.dumps({"scope": scope, "recipients": len(keepers)}),
            clock.utcnow(),
        )
        created = await _insert_items(
            [
                NewItem(
                    keeper=db.as_uuid(row["id"]),
                    county=county_id,
                    station=db.as_uuid(row["station"]),
                    kind="notice",
                    notice=notice_id,
                    dedupe_key=f"notice:{notice_id}",
                    url=NOTICE_URL,
                    urgency="normal",
                    ttl_seconds=NOTICE_TTL_S,
                )
                for row in keepers
            ]
        )
    if created:
        _in_background(run_chains(list(created.values()), claimed=True))
    return notice_id


async def list_notices(county_id: uuid.UUID, limit: int = 50) -> list[dict[str, Any]]:
    """The county's notices, newest first, with how many keepers got, were reached and read."""
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT n.id, n.scope, n.target_id, n.title, n.body, n.created_at, "
            "a.name AS author_name, COUNT(i.id) AS recipients, "
            "SUM(CASE WHEN i.delivered_via <> '' THEN 1 ELSE 0 END) AS delivered, "
            "SUM(CASE WHEN i.read_at IS NOT NULL THEN 1 ELSE 0 END) AS read "
            "FROM notify_notice n LEFT JOIN accounts_user a ON a.id = n.author "
            "LEFT JOIN notify_inbox_item i ON i.notice = n.id WHERE n.county = $1 "
            "GROUP BY n.id, n.scope, n.target_id, n.title, n.body, n.created_at, a.name "
            "ORDER BY n.created_at DESC LIMIT $2",
            county_id,
            limit,
        )
        names = await _target_names(county_id)
    return [
        {
            "id": db.as_uuid(row["id"]),
            "scope": row["scope"],
            "target_id": db.as_uuid(row["target_id"]) if row["target_id"] else None,
            "target_name": names.get(str(row["target_id"]), "") if row["target_id"] else "",
            "title": row["title"],
            "body": row["body"],
            "author_name": row["author_name"] or "",
            "created_at": _moment(row["created_at"]),
            "recipients": int(row["recipients"] or 0),
            "delivered": int(row["delivered"] or 0),
            "read": int(row["read"] or 0),
        }
        for row in rows
    ]


async def _target_names(county_id: uuid.UUID) -> dict[str, str]:
    rows = await db.fetch(
        "SELECT id, name FROM registry_township WHERE county = $1 "
        "UNION ALL SELECT id, name FROM registry_station WHERE county = $1",
        county_id,
    )
    return {str(row["id"]): row["name"] for row in rows}


async def deliveries(
    county_id: uuid.UUID,
    *,
    station_id: uuid.UUID | None = None,
    limit: int = 200,
    language: str = "zh-CN",
) -> list[dict[str, Any]]:
    """Who was reminded and how: every attempt, newest first, phones masked."""
    args: list[Any] = [county_id]
    condition = ""
    if station_id is not None:
        args.append(station_id)
        condition = " AND d.station = $2"
    args.append(max(1, min(limit, 1000)))
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT d.id, d.at, d.channel, d.status, d.http_status, d.error, d.dedupe_key, "
            "d.station, d.keeper, d.item, u.name AS keeper_name, u.phone, s.name AS station_name, "
            "i.kind, i.title_key, i.body_key, i.params, i.read_at, "
            "n.title AS notice_title, n.body AS notice_body "
            "FROM notify_delivery d JOIN notify_inbox_item i ON i.id = d.item "
            "JOIN accounts_user u ON u.id = d.keeper "
            "LEFT JOIN registry_station s ON s.id = d.station "
            "LEFT JOIN notify_notice n ON n.id = i.notice "
            f"WHERE d.county = $1{condition} ORDER BY d.at DESC, d.id LIMIT ${len(args)}",
            *args,
        )
    answer = []
    for row in rows:
        title, _ = render(row, language)
        answer.append(
            {
                "id": db.as_uuid(row["id"]),
                "at": _moment(row["at"]),
                "item_id": db.as_uuid(row["item"]),
                "kind": row["kind"],
                "title": title,
                "dedupe_key": row["dedupe_key"],
                "channel": row["channel"],
                "status": row["status"],
                "http_status": row["http_status"],
                "error": mask_phones_in_text(row["error"] or ""),
                "keeper_id": db.as_uuid(row["keeper"]),
                "keeper_name": row["keeper_name"] or "",
                "keeper_phone": mask_phone(row["phone"]),
                "station_id": db.as_uuid(row["station"]) if row["station"] else None,
                "station_name": row["station_name"] or "",
                "read_at": _moment(row["read_at"]),
            }
        )
    return answer
