"""The chain's fallbacks: SMS when no push reached the keeper, WeChat when SMS did not either.

Providers are not idempotent, so these channels are at-most-once per message: the attempt is
logged "sending" before the provider hears of it, and an item with any earlier attempt on a
channel is never sent on it again.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from backend import clock
from backend.i18n import negotiate
from backend.notify import channels, groupwrite
from backend.notify.channels import Attempt
from backend.notify.inbox import render
from backend.notify.store import items as store
from backend.notify.store.items import ClaimedItem
from backend.settings import Settings

PROVIDER_CONCURRENCY = 8  # SMS and WeChat providers throttle per account; stay well below
UNKNOWN_OUTCOME = "outcome unknown (the sender stopped); not sent again"


def provider_body(channel: str, item: ClaimedItem, settings: Settings) -> dict[str, Any]:
    language = negotiate(None, item.language)
    title, body = render(item, language)
    common = {
        "phone": item.phone,  # the provider needs the real number; nothing else gets it
        "language": language,
        "message_id": str(item.id),  # lets a provider that can deduplicate do so
    }
    if channel == "sms":
        params = json.loads(item.params or "{}")
        return {
            **common,
            "template": settings.sms_template,
            "params": {"title": title, "body": body, **{k: str(v) for k, v in params.items()}},
        }
    return {
        **common,
        "template": settings.wechat_template,
        "data": {"title": title, "body": body},
        "url": item.url,
    }


async def provider_step(
    channel: str, items: list[ClaimedItem], settings: Settings
) -> list[ClaimedItem]:
    """Try `channel` for these items; the items still unreached afterwards (worth the next
    channel). An item with an earlier attempt on this channel is never sent again by it."""
    url, key = (
        (settings.sms_url, settings.sms_key)
        if channel == "sms"
        else (settings.wechat_url, settings.wechat_key)
    )
    if not items:
        return []
    item_ids = [item.id for item in items]

    async def prepare() -> tuple[dict[uuid.UUID, str], list[ClaimedItem]]:
        tried = await store.provider_attempts(channel, item_ids)
        # A "sending" row left by a sender that died: the outcome is unknown, so no second SMS.
        await store.fail_unfinished_sends(channel, item_ids, UNKNOWN_OUTCOME)
        fresh = [item for item in items if item.id not in tried]
        if not url:
            await store.log_provider(channel, fresh, "skipped", clock.utcnow())
        return tried, fresh

    tried, fresh = await groupwrite.write(prepare)
    attempts: dict[uuid.UUID, Attempt] = {}
    if url and fresh:
        gate = asyncio.Semaphore(PROVIDER_CONCURRENCY)

        async def one(client: httpx.AsyncClient, item: ClaimedItem) -> Attempt:
            async with gate:
                # Logged before the provider hears of it: a crash now never leads to a resend.
                [row_id] = await groupwrite.write(
                    lambda: store.log_provider(channel, [item], "sending", clock.utcnow())
                )
                attempt = await channels.post_provider(
                    client, url, key, provider_body(channel, item, settings)
                )
                await groupwrite.write(
                    lambda: store.provider_outcome(
                        channel, item.id, row_id, attempt, clock.utcnow()
                    )
                )
                return attempt

        async with httpx.AsyncClient(timeout=channels.PROVIDER_TIMEOUT_S) as client:
            answers = await asyncio.gather(*(one(client, item) for item in fresh))
        attempts = {item.id: answer for item, answer in zip(fresh, answers, strict=True)}
    else:
        attempts = {item.id: Attempt("skipped", None, "not configured") for item in fresh}
    unreached = []
    for item in items:
        status = attempts[item.id].status if item.id in attempts else tried.get(item.id)
        if status in ("failed", "skipped"):  # "sending" from a dead sender: outcome unknown
            unreached.append(item)
    return unreached
