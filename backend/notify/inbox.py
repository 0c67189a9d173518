"""The keeper's inbox: every message is first an item here (the banner), whatever the channels
do afterwards."""

from __future__ import annotations

import json
import uuid
from typing import Any

from backend import clock, db
from backend.errors import DomainError
from backend.i18n import translate
from backend.notify.store import items as store
from backend.notify.store.items import Message


def render(message: Message, language: str) -> tuple[str, str]:
    """Title and body: a notice as staff wrote it, a reminder in `language`."""
    if message.kind == "notice" and message.notice_title is not None:
        return message.notice_title or "", message.notice_body or ""
    params = json.loads(message.params or "{}")
    return (
        translate(message.title_key, language, **params),
        translate(message.body_key, language, **params) if message.body_key else "",
    )


async def inbox(keeper_id: uuid.UUID, language: str, limit: int = 100) -> list[dict[str, Any]]:
    async with db.read_transaction():
        rows = await store.inbox(keeper_id, limit)
    answer = []
    for row in rows:
        title, body = render(row, language)
        answer.append(
            {
                "id": row.id,
                "kind": "notice" if row.kind == "notice" else "reminder",
                "title": title,
                "body": body,
                "created_at": row.created_at,
                "read_at": row.read_at,
                "url": row.url or None,
            }
        )
    return answer


async def mark_read(keeper_id: uuid.UUID, item_id: uuid.UUID) -> None:
    """Idempotent: the first read time stays. Another keeper's item is "not found"."""
    async with db.write_transaction():
        if not await store.mark_read(keeper_id, item_id, clock.utcnow()):
            raise DomainError("not_found", status=404)
