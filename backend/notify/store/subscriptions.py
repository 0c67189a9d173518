"""Push subscriptions (one per browser and keeper) and the server's stored VAPID key.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db


class PushTarget(msgspec.Struct):
    """A keeper's subscription as a chain sends to it. `failures` counts up while one chain
    records its attempts (the same subscription may fail twice in one chain)."""

    id: uuid.UUID
    keeper: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str
    failures: int
    next_attempt_at: datetime.datetime | None


async def of_keepers(keepers: list[uuid.UUID]) -> list[PushTarget]:
    """The keepers' subscriptions, oldest first."""
    rows = await db.fetch(
        "SELECT id, keeper, endpoint, p256dh, auth, failures, next_attempt_at "
        "FROM notify_push_subscription "
        f"WHERE keeper IN ({db.in_list(keepers)}) ORDER BY created_at",
        *keepers,
    )
    return [
        PushTarget(
            id=db.as_uuid(row["id"]),
            keeper=db.as_uuid(row["keeper"]),
            endpoint=row["endpoint"],
            p256dh=row["p256dh"],
            auth=row["auth"],
            failures=row["failures"],
            next_attempt_at=(
                None if row["next_attempt_at"] is None else db.as_moment(row["next_attempt_at"])
            ),
        )
        for row in rows
    ]


async def save(
    keeper_id: uuid.UUID,
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    device_id: str,
    moment: datetime.datetime,
) -> uuid.UUID | None:
    """Upsert by endpoint; None when the endpoint belongs to another keeper."""
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
    return db.as_uuid(rows[0]["id"]) if rows else None


async def delete_of_keeper(keeper_id: uuid.UUID, endpoint: str) -> None:
    await db.execute(
        "DELETE FROM notify_push_subscription WHERE endpoint = $1 AND keeper = $2",
        endpoint,
        keeper_id,
    )


async def record_outcomes(
    *,
    succeeded: set[uuid.UUID],
    failed: list[tuple[int, datetime.datetime, uuid.UUID]],
    gone: set[uuid.UUID],
    moment: datetime.datetime,
) -> None:
    """After a chain's pushes: reset the ones that took it, back off the ones that failed
    ((failures, next attempt, id)), delete the ones the push service says are gone."""
    await db.executemany(
        "UPDATE notify_push_subscription SET failures = 0, next_attempt_at = NULL, "
        "last_success_at = $1 WHERE id = $2",
        [(moment, subscription_id) for subscription_id in succeeded],
    )
    await db.executemany(
        "UPDATE notify_push_subscription SET failures = $1, next_attempt_at = $2 WHERE id = $3",
        failed,
    )
    await db.executemany("DELETE FROM notify_push_subscription WHERE id = $1", [(s,) for s in gone])


# The VAPID key --------------------------------------------------------------------------------


async def stored_private_key() -> str | None:
    rows = await db.fetch("SELECT private_key FROM notify_vapid_key WHERE id = 1")
    return rows[0]["private_key"] if rows else None


async def keep_vapid_key(private_key: str, public_key: str, moment: datetime.datetime) -> None:
    """Store the pair unless another process stored one first."""
    await db.execute(
        "INSERT INTO notify_vapid_key (id, private_key, public_key, created_at) "
        "VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        private_key,
        public_key,
        moment,
    )
