"""Inbox items and their delivery log: the outbox each channel chain works through.

Every function runs inside the caller's transaction (db.write_transaction, db.read_transaction or
groupwrite.write): the chain decides what commits together.
"""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Any

import msgspec

from backend import db

if TYPE_CHECKING:  # a push attempt's result only; channels sits above the store
    from backend.notify.channels import Attempt

INSERT_CHUNK = 200
REMINDER_TTL_S = 24 * 3600


def _moment(value: Any) -> datetime.datetime | None:
    return None if value is None else db.as_moment(value)


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else db.as_uuid(value)


class Message(msgspec.Struct):
    """What a message says: a reminder's translation keys and parameters, or a notice as staff
    wrote it (`notice_title` set)."""

    kind: str
    title_key: str
    body_key: str
    params: str  # JSON
    notice_title: str | None
    notice_body: str | None


class NewItem(msgspec.Struct):
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
    id: uuid.UUID = msgspec.field(default_factory=uuid.uuid4)


class ClaimedItem(Message):
    """An item a chain is sending, with the keeper's language and phone (for the providers)."""

    id: uuid.UUID
    keeper: uuid.UUID
    county: uuid.UUID
    station: uuid.UUID | None
    url: str
    dedupe_key: str
    urgency: str
    ttl_seconds: int
    chain_state: str
    delivered_via: str
    language: str | None
    phone: str | None


class InboxRow(Message):
    id: uuid.UUID
    url: str
    created_at: datetime.datetime | None
    read_at: datetime.datetime | None


class Recipient(msgspec.Struct, frozen=True):
    keeper: uuid.UUID
    county: uuid.UUID | None
    station: uuid.UUID | None


class TriedPush(msgspec.Struct, frozen=True):
    item: uuid.UUID
    subscription: uuid.UUID | None
    status: str


class OwedItem(msgspec.Struct, frozen=True):
    id: uuid.UUID
    created_at: datetime.datetime
    ttl_seconds: int


_ITEM_COLUMNS = (
    "id, keeper, county, station, kind, notice, title_key, body_key, params, url, dedupe_key, "
    "urgency, ttl_seconds, created_at, chain_state, claimed_until"
)

_DELIVERY_ROW = (
    "INSERT INTO notify_delivery (id, item, keeper, county, station, channel, status, "
    "dedupe_key, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)

_CLAIMED_COLUMNS = (
    "i.id, i.keeper, i.county, i.station, i.kind, i.title_key, i.body_key, i.params, i.url, "
    "i.dedupe_key, i.urgency, i.ttl_seconds, i.chain_state, i.delivered_via, "
    "n.title AS notice_title, n.body AS notice_body, u.language, u.phone"
)


# Creating items -------------------------------------------------------------------------------


async def insert_items(
    items: list[NewItem], moment: datetime.datetime, claimed_until: datetime.datetime
) -> dict[uuid.UUID, uuid.UUID]:
    """Insert what is new, claimed until `claimed_until`, each with its banner "delivered";
    {keeper: item id} of the inserted (a keeper who has the dedupe key already gets nothing)."""
    created: dict[uuid.UUID, uuid.UUID] = {}
    for start in range(0, len(items), INSERT_CHUNK):
        chunk = items[start : start + INSERT_CHUNK]
        values: list[str] = []
        args: list[Any] = []
        for item in chunk:
            row = [
                item.id, item.keeper, item.county, item.station, item.kind, item.notice,
                item.title_key, item.body_key, item.params, item.url, item.dedupe_key,
                item.urgency, item.ttl_seconds, moment, "pending", claimed_until,
            ]  # fmt: skip
            values.append(f"({db.in_list(row, len(args) + 1)})")
            args.extend(row)
        rows = await db.fetch(
            f"INSERT INTO notify_inbox_item ({_ITEM_COLUMNS}) VALUES {', '.join(values)} "
            'ON CONFLICT ("keeper", "dedupe_key") DO NOTHING RETURNING id, keeper',
            *args,
        )
        for inserted in rows:
            created[db.as_uuid(inserted["keeper"])] = db.as_uuid(inserted["id"])
    by_id = {item.id: item for item in items}
    banners = [
        (uuid.uuid4(), item_id, keeper, by_id[item_id].county, by_id[item_id].station,
         "banner", "delivered", by_id[item_id].dedupe_key, moment)
        for keeper, item_id in created.items()
    ]  # fmt: skip
    await db.executemany(_DELIVERY_ROW, banners)
    return created


async def recipients(
    user_ids: list[uuid.UUID] | None, station_id: uuid.UUID | None = None
) -> list[Recipient]:
    """These users, or a station's active keepers, with their county and station."""
    select = (
        "SELECT u.id, COALESCE(u.county, s.county) AS county, u.station FROM accounts_user u "
        "LEFT JOIN registry_station s ON s.id = u.station "
    )
    if station_id is not None:
        rows = await db.fetch(
            select + "WHERE u.station = $1 AND u.role = 'keeper' AND u.active = $2",
            station_id,
            True,
        )
    elif not user_ids:
        return []
    else:
        rows = await db.fetch(select + f"WHERE u.id IN ({db.in_list(user_ids)})", *user_ids)
    return [
        Recipient(
            keeper=db.as_uuid(row["id"]), county=_uuid(row["county"]), station=_uuid(row["station"])
        )
        for row in rows
    ]


async def earlier_items(keepers: list[uuid.UUID], dedupe_key: str) -> dict[uuid.UUID, uuid.UUID]:
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


async def with_untried_subscriptions(item_ids: list[uuid.UUID]) -> list[uuid.UUID]:
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


# The chain ------------------------------------------------------------------------------------


async def claim(
    item_ids: list[uuid.UUID], moment: datetime.datetime, until: datetime.datetime
) -> list[uuid.UUID]:
    """Take the items nobody else is sending at `moment` (atomic on both engines)."""
    claimed: list[uuid.UUID] = []
    for start in range(0, len(item_ids), INSERT_CHUNK):
        chunk = item_ids[start : start + INSERT_CHUNK]
        rows = await db.fetch(
            "UPDATE notify_inbox_item SET claimed_until = $1 "
            f"WHERE id IN ({db.in_list(chunk, 3)}) "
            "AND (claimed_until IS NULL OR claimed_until < $2) "
            "RETURNING id",
            until,
            moment,
            *chunk,
        )
        claimed.extend(db.as_uuid(row["id"]) for row in rows)
    return claimed


async def claimed_items(item_ids: list[uuid.UUID]) -> list[ClaimedItem]:
    rows = await db.fetch(
        f"SELECT {_CLAIMED_COLUMNS} FROM notify_inbox_item i "
        "JOIN accounts_user u ON u.id = i.keeper LEFT JOIN notify_notice n ON n.id = i.notice "
        f"WHERE i.id IN ({db.in_list(item_ids)})",
        *item_ids,
    )
    return [
        ClaimedItem(
            id=db.as_uuid(row["id"]),
            keeper=db.as_uuid(row["keeper"]),
            county=db.as_uuid(row["county"]),
            station=_uuid(row["station"]),
            kind=row["kind"],
            title_key=row["title_key"],
            body_key=row["body_key"],
            params=row["params"] or "{}",
            url=row["url"],
            dedupe_key=row["dedupe_key"],
            urgency=row["urgency"],
            ttl_seconds=row["ttl_seconds"],
            chain_state=row["chain_state"],
            delivered_via=row["delivered_via"],
            notice_title=row["notice_title"],
            notice_body=row["notice_body"],
            language=row["language"],
            phone=row["phone"],
        )
        for row in rows
    ]


async def push_attempts(item_ids: list[uuid.UUID]) -> list[TriedPush]:
    rows = await db.fetch(
        "SELECT item, subscription, status FROM notify_delivery WHERE channel = 'push' "
        f"AND item IN ({db.in_list(item_ids)})",
        *item_ids,
    )
    return [
        TriedPush(db.as_uuid(row["item"]), _uuid(row["subscription"]), row["status"])
        for row in rows
    ]


async def log_pushes(
    attempts: list[tuple[ClaimedItem, uuid.UUID, Attempt]], moment: datetime.datetime
) -> None:
    """One delivery row per (item, subscription, attempt)."""
    rows = [
        (uuid.uuid4(), item.id, item.keeper, item.county, item.station, "push",
         attempt.status, attempt.http_status, attempt.error, subscription_id,
         item.dedupe_key, moment)
        for item, subscription_id, attempt in attempts
    ]  # fmt: skip
    await db.executemany(
        "INSERT INTO notify_delivery (id, item, keeper, county, station, channel, status, "
        "http_status, error, subscription, dedupe_key, at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        rows,
    )


async def mark_delivered(item_ids: list[uuid.UUID], channel: str) -> None:
    """The first channel that reached each item (a later one does not overwrite it)."""
    await db.executemany(
        "UPDATE notify_inbox_item SET delivered_via = $1 WHERE id = $2 AND delivered_via = ''",
        [(channel, item_id) for item_id in item_ids],
    )


async def close(item_ids: list[uuid.UUID], finished: bool = True) -> None:
    """End the claim. Not finished: the item keeps its state, so a pending one is sent again."""
    done = "chain_state = 'done', " if finished else ""
    for start in range(0, len(item_ids), INSERT_CHUNK):
        chunk = item_ids[start : start + INSERT_CHUNK]
        await db.execute(
            f"UPDATE notify_inbox_item SET {done}claimed_until = NULL "
            f"WHERE id IN ({db.in_list(chunk)})",
            *chunk,
        )


async def provider_attempts(channel: str, item_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """{item: status} of the earlier attempts on an SMS or WeChat channel."""
    rows = await db.fetch(
        "SELECT item, status FROM notify_delivery WHERE channel = $1 "
        f"AND item IN ({db.in_list(item_ids, 2)})",
        channel,
        *item_ids,
    )
    return {db.as_uuid(row["item"]): row["status"] for row in rows}


async def fail_unfinished_sends(channel: str, item_ids: list[uuid.UUID], error: str) -> None:
    """Close the "sending" rows of a sender that died: their outcome is unknown."""
    await db.execute(
        "UPDATE notify_delivery SET status = 'failed', error = $1 WHERE channel = $2 "
        f"AND status = 'sending' AND item IN ({db.in_list(item_ids, 3)})",
        error,
        channel,
        *item_ids,
    )


async def log_provider(
    channel: str, items: list[ClaimedItem], status: str, moment: datetime.datetime
) -> list[uuid.UUID]:
    """A delivery row per item on `channel` with `status`; the rows' ids."""
    rows = [
        (uuid.uuid4(), item.id, item.keeper, item.county, item.station, channel, status,
         item.dedupe_key, moment)
        for item in items
    ]  # fmt: skip
    await db.executemany(_DELIVERY_ROW, rows)
    return [row[0] for row in rows]


async def provider_outcome(
    channel: str,
    item_id: uuid.UUID,
    row_id: uuid.UUID,
    attempt: Attempt,
    moment: datetime.datetime,
) -> None:
    await db.execute(
        "UPDATE notify_delivery SET status = $1, http_status = $2, error = $3, at = $4 "
        "WHERE id = $5",
        attempt.status,
        attempt.http_status,
        attempt.error,
        moment,
        row_id,
    )
    if attempt.status == "delivered":
        await mark_delivered([item_id], channel)


# Retries --------------------------------------------------------------------------------------


async def owed_items(moment: datetime.datetime) -> list[OwedItem]:
    """Pending items nobody is sending: their sender died or never started."""
    rows = await db.fetch(
        "SELECT id, created_at, ttl_seconds FROM notify_inbox_item "
        "WHERE chain_state = 'pending' AND (claimed_until IS NULL OR claimed_until < $1) "
        "ORDER BY created_at LIMIT 500",
        moment,
    )
    return [
        OwedItem(db.as_uuid(row["id"]), db.as_moment(row["created_at"]), row["ttl_seconds"])
        for row in rows
    ]


async def retryable_pushes(moment: datetime.datetime, since: datetime.datetime) -> list[uuid.UUID]:
    """Done items created after `since` with a push that failed with 429/5xx/no answer, never
    delivered to that subscription since, and whose back-off has run out."""
    rows = await db.fetch(
        "SELECT DISTINCT d.item FROM notify_delivery d "
        "JOIN notify_push_subscription s ON s.id = d.subscription "
        "JOIN notify_inbox_item i ON i.id = d.item "
        "WHERE d.channel = 'push' AND d.status = 'failed' "
        "AND (d.http_status IS NULL OR d.http_status = 429 OR d.http_status >= 500) "
        "AND i.chain_state = 'done' AND i.created_at > $1 "
        "AND (s.next_attempt_at IS NULL OR s.next_attempt_at <= $2) "
        "AND NOT EXISTS (SELECT 1 FROM notify_delivery ok WHERE ok.item = d.item "
        "AND ok.subscription = d.subscription AND ok.status = 'delivered') LIMIT 500",
        since,
        moment,
    )
    return [db.as_uuid(row["item"]) for row in rows]


# The keeper's inbox ---------------------------------------------------------------------------


async def inbox(keeper_id: uuid.UUID, limit: int) -> list[InboxRow]:
    rows = await db.fetch(
        "SELECT i.id, i.kind, i.title_key, i.body_key, i.params, i.url, i.dedupe_key, "
        "i.created_at, i.read_at, n.title AS notice_title, n.body AS notice_body "
        "FROM notify_inbox_item i LEFT JOIN notify_notice n ON n.id = i.notice "
        "WHERE i.keeper = $1 ORDER BY i.created_at DESC, i.id LIMIT $2",
        keeper_id,
        limit,
    )
    return [
        InboxRow(
            id=db.as_uuid(row["id"]),
            kind=row["kind"],
            title_key=row["title_key"],
            body_key=row["body_key"],
            params=row["params"] or "{}",
            notice_title=row["notice_title"],
            notice_body=row["notice_body"],
            url=row["url"],
            created_at=_moment(row["created_at"]),
            read_at=_moment(row["read_at"]),
        )
        for row in rows
    ]


async def mark_read(keeper_id: uuid.UUID, item_id: uuid.UUID, moment: datetime.datetime) -> bool:
    """Set the read time once; False when the keeper has no such item."""
    rows = await db.fetch(
        "SELECT read_at FROM notify_inbox_item WHERE id = $1 AND keeper = $2",
        item_id,
        keeper_id,
    )
    if not rows:
        return False
    if rows[0]["read_at"] is None:
        await db.execute("UPDATE notify_inbox_item SET read_at = $1 WHERE id = $2", moment, item_id)
    return True
