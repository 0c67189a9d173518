"""County notices and what staff read about deliveries.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend import db
from backend.notify.store.items import Message


def _moment(value: Any) -> datetime.datetime | None:
    return None if value is None else db.as_moment(value)


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else db.as_uuid(value)


class ScopeKeeper(msgspec.Struct, frozen=True):
    keeper: uuid.UUID
    station: uuid.UUID


class NoticeRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    scope: str
    target_id: uuid.UUID | None
    title: str
    body: str
    author_name: str
    created_at: datetime.datetime | None
    recipients: int
    delivered: int
    read: int


class DeliveryRow(Message):
    id: uuid.UUID
    at: datetime.datetime | None
    item: uuid.UUID
    channel: str
    status: str
    http_status: int | None
    error: str
    dedupe_key: str
    keeper: uuid.UUID
    keeper_name: str
    phone: str | None
    station: uuid.UUID | None
    station_name: str
    read_at: datetime.datetime | None


async def target_in_county(scope: str, target_id: uuid.UUID, county_id: uuid.UUID) -> bool:
    """Whether the township or station (`scope`) lies in the county."""
    table = "registry_township" if scope == "township" else "registry_station"
    found = await db.fetch(
        f"SELECT id FROM {table} WHERE id = $1 AND county = $2", target_id, county_id
    )
    return bool(found)


async def keepers_in_scope(
    county_id: uuid.UUID, scope: str, target_id: uuid.UUID | None
) -> list[ScopeKeeper]:
    """Active keepers of open stations in the county, the township or the station."""
    condition, args = "", []
    if scope != "county":
        condition = " AND s.township = $3" if scope == "township" else " AND s.id = $3"
        args = [target_id]
    rows = await db.fetch(
        "SELECT u.id, s.id AS station FROM accounts_user u JOIN registry_station s "
        "ON s.id = u.station WHERE s.county = $1 AND u.role = 'keeper' AND u.active = $2 "
        f"AND s.closed_at IS NULL{condition}",
        county_id,
        True,
        *args,
    )
    return [ScopeKeeper(db.as_uuid(row["id"]), db.as_uuid(row["station"])) for row in rows]


async def insert(
    notice_id: uuid.UUID,
    county_id: uuid.UUID,
    *,
    scope: str,
    target_id: uuid.UUID | None,
    title: str,
    body: str,
    author_id: uuid.UUID | None,
    moment: datetime.datetime,
) -> None:
    await db.execute(
        "INSERT INTO notify_notice (id, county, scope, target_id, title, body, author, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        notice_id,
        county_id,
        scope,
        target_id,
        title,
        body,
        author_id,
        moment,
    )


async def of_county(county_id: uuid.UUID, limit: int) -> list[NoticeRow]:
    """Newest first, with how many keepers got each, were reached and read it."""
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
    return [
        NoticeRow(
            id=db.as_uuid(row["id"]),
            scope=row["scope"],
            target_id=_uuid(row["target_id"]) if row["target_id"] else None,
            title=row["title"],
            body=row["body"],
            author_name=row["author_name"] or "",
            created_at=_moment(row["created_at"]),
            recipients=int(row["recipients"] or 0),
            delivered=int(row["delivered"] or 0),
            read=int(row["read"] or 0),
        )
        for row in rows
    ]


async def target_names(county_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """The names of the county's townships and stations, by id."""
    rows = await db.fetch(
        "SELECT id, name FROM registry_township WHERE county = $1 "
        "UNION ALL SELECT id, name FROM registry_station WHERE county = $1",
        county_id,
    )
    return {db.as_uuid(row["id"]): row["name"] for row in rows}


async def delivery_log(
    county_id: uuid.UUID, station_id: uuid.UUID | None, limit: int
) -> list[DeliveryRow]:
    """Every channel attempt in the county (or at one station), newest first."""
    args: list[Any] = [county_id]
    condition = ""
    if station_id is not None:
        args.append(station_id)
        condition = " AND d.station = $2"
    args.append(limit)
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
    return [
        DeliveryRow(
            id=db.as_uuid(row["id"]),
            at=_moment(row["at"]),
            item=db.as_uuid(row["item"]),
            kind=row["kind"],
            title_key=row["title_key"],
            body_key=row["body_key"],
            params=row["params"] or "{}",
            notice_title=row["notice_title"],
            notice_body=row["notice_body"],
            channel=row["channel"],
            status=row["status"],
            http_status=row["http_status"],
            error=row["error"] or "",
            dedupe_key=row["dedupe_key"],
            keeper=db.as_uuid(row["keeper"]),
            keeper_name=row["keeper_name"] or "",
            phone=row["phone"],
            station=_uuid(row["station"]) if row["station"] else None,
            station_name=row["station_name"] or "",
            read_at=_moment(row["read_at"]),
        )
        for row in rows
    ]
