"""County notices to stations, and the delivery log staff read ("who was reminded and how").

A notice is written in the request, one inbox item per keeper in scope in the same transaction;
its chains run after the answer (`deliver`, a Litestar background task of the response): a
provider that hangs cannot hold a staff member's request (the items are durable already;
`service.retry_due` is the net).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from backend import clock, db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.errors import DomainError
from backend.notify.chain import claim_until, run_chains
from backend.notify.inbox import render
from backend.notify.store import items as item_store
from backend.notify.store import notices as store
from backend.notify.store.items import NewItem
from backend.privacy import mask_phone, mask_phones_in_text
from backend.settings import Settings

NOTICE_TTL_S = 3 * 24 * 3600
NOTICE_TITLE_MAX = 40
NOTICE_BODY_MAX = 500
NOTICE_URL = "/app/#/home"
SCOPES = ("county", "township", "station")

log = logging.getLogger("cunzhan.notify")


@dataclass(frozen=True)
class NewNotice:
    id: uuid.UUID
    items: list[uuid.UUID]  # its inbox items, claimed for `deliver`


def control_characters(text: str, allowed: str = "") -> bool:
    """NUL and other control characters: PostgreSQL refuses NUL, and none belong in a notice."""
    return any((ord(ch) < 32 or ord(ch) == 127) and ch not in allowed for ch in text)


def _check_notice(scope: str, title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if scope not in SCOPES:
        raise DomainError("notice_scope_invalid", field="scope")
    if not title or len(title) > NOTICE_TITLE_MAX or control_characters(title):
        raise DomainError("notice_title_invalid", field="title", max=NOTICE_TITLE_MAX)
    if not body or len(body) > NOTICE_BODY_MAX or control_characters(body, "\n\t"):
        raise DomainError("notice_body_invalid", field="body", max=NOTICE_BODY_MAX)
    return title, body


async def _scope_keepers(
    county_id: uuid.UUID, scope: str, target_id: uuid.UUID | None
) -> list[store.ScopeKeeper]:
    """Active keepers of open stations in the scope; the target must lie in the county."""
    if scope == "county":
        if target_id not in (None, county_id):
            raise DomainError("notice_target_invalid", field="target_id")
    elif target_id is None:
        raise DomainError("notice_target_missing", field="target_id")
    elif not await store.target_in_county(scope, target_id, county_id):
        raise DomainError("notice_target_invalid", field="target_id")
    return await store.keepers_in_scope(county_id, scope, target_id)


async def create_notice(
    county_id: uuid.UUID,
    author: CurrentUser | None,
    settings: Settings,
    *,
    scope: str,
    target_id: uuid.UUID | None,
    title: str,
    body: str,
) -> NewNotice:
    """Write the notice and one inbox item per keeper in scope in one transaction; the caller
    answers, then runs `deliver` (see the module docstring for why)."""
    title, body = _check_notice(scope, title, body)
    notice_id = uuid.uuid4()
    async with db.write_transaction():
        keepers = await _scope_keepers(county_id, scope, target_id)
        moment = clock.utcnow()
        await store.insert(
            notice_id,
            county_id,
            scope=scope,
            target_id=target_id if scope != "county" else None,
            title=title,
            body=body,
            author_id=author.id if author else None,
            moment=moment,
        )
        # Staff actions are audited, in the same transaction as the notice.
        await audit(
            author,
            "notice.created",
            "notice",
            notice_id,
            county_id=county_id,
            scope=scope,
            recipients=len(keepers),
        )
        created = await item_store.insert_items(
            [
                NewItem(
                    keeper=row.keeper,
                    county=county_id,
                    station=row.station,
                    kind="notice",
                    notice=notice_id,
                    dedupe_key=f"notice:{notice_id}",
                    url=NOTICE_URL,
                    urgency="normal",
                    ttl_seconds=NOTICE_TTL_S,
                )
                for row in keepers
            ],
            moment,
            claim_until(moment, len(keepers)),
        )
    return NewNotice(notice_id, list(created.values()))


async def deliver(settings: Settings, items: list[uuid.UUID]) -> None:
    """The channel chains of a new notice, once its author has the answer. A failure is logged:
    the items stay pending and `service.retry_due` sends them."""
    if not items:
        return
    try:
        await run_chains(items, settings, claimed=True)
    except Exception as exc:
        log.error("notice delivery failed: %s", mask_phones_in_text(repr(exc)))


async def list_notices(county_id: uuid.UUID, limit: int = 50) -> list[dict[str, Any]]:
    """The county's notices, newest first, with how many keepers got, were reached and read."""
    async with db.read_transaction():
        rows = await store.of_county(county_id, limit)
        names = await store.target_names(county_id)
    return [
        {
            "id": row.id,
            "scope": row.scope,
            "target_id": row.target_id,
            "target_name": names.get(row.target_id, "") if row.target_id else "",
            "title": row.title,
            "body": row.body,
            "author_name": row.author_name,
            "created_at": row.created_at,
            "recipients": row.recipients,
            "delivered": row.delivered,
            "read": row.read,
        }
        for row in rows
    ]


async def deliveries(
    county_id: uuid.UUID,
    *,
    station_id: uuid.UUID | None = None,
    limit: int = 200,
    language: str = "zh-CN",
) -> list[dict[str, Any]]:
    """Who was reminded and how: every attempt, newest first, phones masked."""
    async with db.read_transaction():
        rows = await store.delivery_log(county_id, station_id, max(1, min(limit, 1000)))
    answer = []
    for row in rows:
        title, _ = render(row, language)
        answer.append(
            {
                "id": row.id,
                "at": row.at,
                "item_id": row.item,
                "kind": row.kind,
                "title": title,
                "dedupe_key": row.dedupe_key,
                "channel": row.channel,
                "status": row.status,
                "http_status": row.http_status,
                "error": mask_phones_in_text(row.error),
                "keeper_id": row.keeper,
                "keeper_name": row.keeper_name,
                "keeper_phone": mask_phone(row.phone),
                "station_id": row.station,
                "station_name": row.station_name,
                "read_at": row.read_at,
            }
        )
    return answer
