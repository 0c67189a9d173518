"""The channel chain of an inbox item: Web Push to every subscription → SMS if none or all
failed → WeChat if SMS failed or is not configured.

A chain runs under a short claim on its items, so one process sends them; a sender that dies
leaves them "pending" and `service.retry_due()` sends them later. Push is at-least-once (the
message's tag lets the phone replace a repeat); SMS and WeChat are at-most-once (providers.py).
"""

from __future__ import annotations

import datetime
import uuid

from backend import clock, db
from backend.notify import channels, groupwrite
from backend.notify.providers import PROVIDER_CONCURRENCY, provider_step
from backend.notify.pushes import PUSH_CONCURRENCY, record_pushes, send_pushes
from backend.notify.store import items as item_store
from backend.notify.store import subscriptions as subscription_store
from backend.notify.store.items import ClaimedItem
from backend.notify.store.subscriptions import PushTarget
from backend.settings import Settings

CLAIM_SECONDS = 120  # push 10 s + SMS 5 s + WeChat 5 s, with room; see claim_seconds

Loaded = tuple[list[ClaimedItem], dict[uuid.UUID, list[PushTarget]]]


def claim_seconds(items: int) -> int:
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


def claim_until(moment: datetime.datetime, items: int) -> datetime.datetime:
    return moment + datetime.timedelta(seconds=claim_seconds(items))


async def _claim(item_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Take the items nobody else is sending right now."""
    moment = clock.utcnow()
    async with db.write_transaction():
        return await item_store.claim(item_ids, moment, claim_until(moment, len(item_ids)))


async def load(item_ids: list[uuid.UUID], only_new_subscriptions: bool) -> Loaded:
    """The claimed items, and per item the keeper's subscriptions that have not had it
    delivered yet (or, for a repeat call, that have never been tried with it)."""
    async with db.read_transaction():
        items = await item_store.claimed_items(item_ids)
        if not items:
            return [], {}
        keepers = list({item.keeper for item in items})
        subscriptions = await subscription_store.of_keepers(keepers)
        tried = await item_store.push_attempts(item_ids)
    skip = {
        (row.item, row.subscription)
        for row in tried
        if row.subscription is not None and (only_new_subscriptions or row.status == "delivered")
    }
    by_keeper: dict[uuid.UUID, list[PushTarget]] = {}
    for subscription in subscriptions:
        by_keeper.setdefault(subscription.keeper, []).append(subscription)
    targets = {
        item.id: [
            subscription
            for subscription in by_keeper.get(item.keeper, [])
            if (item.id, subscription.id) not in skip
        ]
        for item in items
    }
    return items, targets


async def run_chains(
    item_ids: list[uuid.UUID],
    settings: Settings,
    *,
    only_new_subscriptions: bool = False,
    claimed: bool = False,
    loaded: Loaded | None = None,
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
        items, targets = loaded or await load(ids, only_new_subscriptions)
        results = await send_pushes(items, targets, settings)
        delivered = [r.item for r in results if r.attempt.status == "delivered"]
        pushed = {item.id for item in delivered}
        reached |= {item.keeper for item in delivered}
        fallback = [
            item for item in items if item.chain_state == "pending" and item.id not in pushed
        ]
        finished = list(open_ids - {item.id for item in fallback})
        await record_pushes(results, finished)
        open_ids -= set(finished)
        for channel in ("sms", "wechat"):
            before = fallback
            fallback = await provider_step(channel, fallback, settings)
            still = {item.id for item in fallback}
            reached |= {item.keeper for item in before if item.id not in still}
        remaining = list(open_ids)
        if remaining:
            await groupwrite.write(lambda: item_store.close(remaining))
        open_ids.clear()
    finally:
        if open_ids:  # an error midway: what is not finished stays pending for retry_due
            async with db.write_transaction():
                await item_store.close(list(open_ids), finished=False)
    return reached
