"""The chain's first step: Web Push to every subscription of the keeper, and what the answers
mean for the subscriptions (reset, back off, or delete when the push service says gone)."""

from __future__ import annotations

import asyncio
import datetime
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend import clock, runtime
from backend.i18n import negotiate
from backend.notify import groupwrite
from backend.notify.channels import Attempt
from backend.notify.inbox import render
from backend.notify.keys import vapid_pair
from backend.notify.store import items as item_store
from backend.notify.store import subscriptions as subscription_store
from backend.notify.store.items import ClaimedItem
from backend.notify.store.subscriptions import PushTarget
from backend.settings import Settings

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("cunzhan.notify")

PUSH_CONCURRENCY = 32
BACKOFF_FIRST_S = 60
BACKOFF_MAX_S = 6 * 3600


def push_payload(item: ClaimedItem, language: str) -> dict[str, str]:
    """What pwa/sw.js shows: title, body, the screen a tap opens, a tag that collapses repeats."""
    title, body = render(item, language)
    return {"title": title, "body": body, "url": item.url, "tag": item.dedupe_key}


def backoff_seconds(failures: int, retry_after_s: int | None) -> int:
    delay = min(BACKOFF_FIRST_S * 2 ** max(failures - 1, 0), BACKOFF_MAX_S)
    if retry_after_s:
        delay = max(delay, min(retry_after_s, 24 * 3600))
    return delay


@dataclass
class PushResult:
    item: ClaimedItem
    subscription: PushTarget
    attempt: Attempt


async def send_pushes(
    items: list[ClaimedItem], targets: dict[uuid.UUID, list[PushTarget]], settings: Settings
) -> list[PushResult]:
    moment = clock.utcnow()
    pairs = [(item, sub) for item in items for sub in targets[item.id]]
    if not pairs:
        return []
    # Imported here, on the first push a process sends: ~24 MB that a process taking entries and
    # serving pages never needs (webpush.py).
    from backend.notify import webpush

    vapid = await vapid_pair(settings)
    gate = asyncio.Semaphore(PUSH_CONCURRENCY)

    async def one(item: ClaimedItem, subscription: PushTarget, session) -> PushResult:
        due = subscription.next_attempt_at
        if due is not None and due > moment:
            # The push service asked us to wait: this message waits for retry_due().
            return PushResult(item, subscription, Attempt("failed", None, "backing off"))
        async with gate:
            attempt = await webpush.send_push(
                session,
                {
                    "endpoint": subscription.endpoint,
                    "p256dh": subscription.p256dh,
                    "auth": subscription.auth,
                },
                push_payload(item, negotiate(None, item.language)),
                vapid=vapid,
                subject=settings.vapid_subject,
                ttl_seconds=item.ttl_seconds,
                urgency=item.urgency,
            )
        return PushResult(item, subscription, attempt)

    session = _push_session()
    return list(await asyncio.gather(*(one(item, sub, session) for item, sub in pairs)))


def _push_session() -> aiohttp.ClientSession:
    """One HTTP session (kept-alive connections to the push services) for the running app,
    shared by the chains that overlap, as a job notifying station after station does; closed
    with the app (backend/runtime.py)."""
    from backend.notify import webpush

    # Public addresses only, checked at connect time, and no redirects (webpush.py).
    return runtime.current().get(
        "notify.push_session",
        lambda: webpush.push_http_session(PUSH_CONCURRENCY * 4),
        close=lambda session: session.close(),
    )


async def record_pushes(results: list[PushResult], finished: list[uuid.UUID]) -> None:
    """Log the attempts, update the subscriptions, and close the items that are done."""
    moment = clock.utcnow()
    delivered_items: set[uuid.UUID] = set()
    succeeded: set[uuid.UUID] = set()
    gone: set[uuid.UUID] = set()
    failed: list[tuple[int, datetime.datetime, uuid.UUID]] = []
    for result in results:
        subscription, attempt = result.subscription, result.attempt
        if attempt.status == "delivered":
            delivered_items.add(result.item.id)
            succeeded.add(subscription.id)
        elif attempt.status == "gone":
            gone.add(subscription.id)
        elif attempt.retryable and attempt.error != "backing off":
            subscription.failures += 1  # the same subscription may fail twice here
            wait = backoff_seconds(subscription.failures, attempt.retry_after_s)
            failed.append(
                (subscription.failures, moment + datetime.timedelta(seconds=wait), subscription.id)
            )

    async def write() -> None:
        await item_store.log_pushes(
            [(r.item, r.subscription.id, r.attempt) for r in results], moment
        )
        await subscription_store.record_outcomes(
            succeeded=succeeded, failed=failed, gone=gone, moment=moment
        )
        await item_store.mark_delivered(list(delivered_items), "push")
        await item_store.close(finished)

    await groupwrite.write(write)
    if gone:
        log.info("push: %d subscription(s) gone, deleted", len(gone))
