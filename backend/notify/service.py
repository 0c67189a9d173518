"""Notifications to keepers, as other capabilities call them: a message to keepers, the retry
of what is owed, and the chains running in the background.

Every message is first an inbox item, committed before anything is sent: the banner exists even if
every channel fails, and the item is the outbox of its own channel chain (chain.py). The chain runs
after the commit under a short claim on the item; `retry_due()` sends what a dead sender left.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable
from typing import Any

from backend import clock, db
from backend.notify import groupwrite
from backend.notify.chain import claim_until, load, run_chains
from backend.notify.store import items as store
from backend.notify.store.items import REMINDER_TTL_S, NewItem
from backend.settings import Settings

RETRY_WINDOW = datetime.timedelta(hours=24)  # a reminder older than this is not worth a push


async def notify_users(
    settings: Settings,
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
        settings,
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


async def notify_user(
    settings: Settings,
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
        settings,
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
    settings: Settings,
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
        settings,
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


async def _notify(
    settings: Settings,
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
        keepers = [row for row in await store.recipients(user_ids, station_id) if row.county]
        earlier = await store.earlier_items([row.keeper for row in keepers], dedupe_key)
        untried = await store.with_untried_subscriptions(list(earlier.values()))
    items = [
        NewItem(
            keeper=row.keeper,
            county=row.county,
            station=row.station,
            kind=kind,
            dedupe_key=dedupe_key,
            url=url,
            title_key=title_key,
            body_key=body_key,
            params=params_json,
            urgency=urgency,
            ttl_seconds=ttl_seconds,
        )
        for row in keepers
        if row.keeper not in earlier and row.county is not None
    ]

    async def write():
        # The new items are claimed by this process at once (it sends them next): one write
        # less, and if it dies before sending, the claim runs out and `retry_due` sends them.
        moment = clock.utcnow()
        created = await store.insert_items(items, moment, claim_until(moment, len(items)))
        loaded = await load(list(created.values()), False) if created else ([], {})
        return created, loaded

    created, loaded = await groupwrite.write(write) if items else ({}, ([], {}))
    reached = set(created)
    if created:
        await run_chains(list(created.values()), settings, claimed=True, loaded=loaded)
    if untried:
        # "What was already sent to a subscription in this window is not sent again, but a
        # subscription added since gets it" (API.md).
        reached |= await run_chains(untried, settings, only_new_subscriptions=True)
    return len(reached)


# Retries and background work ------------------------------------------------------------------


async def retry_due(settings: Settings) -> int:
    """Send what is owed: pending items whose sender died or never started, and pushes that
    failed with 429/5xx/no answer whose subscription's back-off has run out. Returns how many
    items were taken. The jobs capability runs this every minute or so."""
    moment = clock.utcnow()
    async with db.read_transaction():
        pending = await store.owed_items(moment)
        retries = await store.retryable_pushes(moment, moment - RETRY_WINDOW)
    taken = 0
    # Owed longer than its time to live (the server was down for days): last week's reminder
    # would only confuse; the banner stays, nothing is sent.
    stale = [
        row.id
        for row in pending
        if row.created_at + datetime.timedelta(seconds=row.ttl_seconds) < moment
    ]
    if stale:
        await groupwrite.write(lambda: store.close(stale))
    closed = set(stale)
    owed = [row.id for row in pending if row.id not in closed]
    if owed:
        await run_chains(owed, settings)
        taken += len(owed)
    if retries:
        await run_chains(retries, settings)
        taken += len(retries)
    return taken
