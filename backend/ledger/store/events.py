"""The log (`ledger_event`), each station's chain head (`ledger_chain`) and the conflicts
(`ledger_conflict`): appending a batch, reading it back for the pull, verify and replay."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import msgspec

from backend import db
from backend.sqlite_params import sqlite_adapters, sqlite_value

GENESIS_HASH = "0" * 64

_EVENT_COLUMNS = (
    "id, station, county, seq, device_id, keeper, type, occurred_at, received_at, "
    "business_date, data, server_data, content_hash, prev_hash, hash, adjusts_month"
)


class EventRow(msgspec.Struct):
    """One row of the log as written and as the chain hashes it (`data`, `server_data`: the
    canonical JSON text)."""

    id: uuid.UUID
    station: uuid.UUID
    county: uuid.UUID
    seq: int
    device_id: uuid.UUID
    keeper: uuid.UUID
    type: str
    occurred_at: datetime.datetime
    received_at: datetime.datetime
    business_date: datetime.date
    data: str
    server_data: str
    content_hash: str
    prev_hash: str
    hash: str = ""
    adjusts_month: str | None = None  # dated in this closed month (not part of the chain)


class ChainHead(msgspec.Struct, frozen=True):
    station_id: uuid.UUID
    station_code: str
    last_seq: int
    last_hash: str


class LoggedRow(msgspec.Struct, frozen=True):
    """An event as the replay reads it (`data`, `server_data` decoded)."""

    id: uuid.UUID
    seq: int
    type: str
    occurred_at: datetime.datetime
    received_at: datetime.datetime
    business_date: datetime.date
    data: dict[str, Any]
    server_data: dict[str, Any]


class PulledRow(LoggedRow, frozen=True):
    """An event as the pull reads it: also who made it on which device, and its reversal."""

    device_id: uuid.UUID
    keeper: uuid.UUID
    reversed_by: uuid.UUID | None = None


class Conflict(msgspec.Struct, frozen=True):
    event_id: uuid.UUID
    content_hash: str


class Checkin(msgspec.Struct, frozen=True):
    occurred_at: datetime.datetime
    business_date: datetime.date


# Appending ------------------------------------------------------------------------------------


async def lock_chain(station_id: uuid.UUID) -> tuple[int, str]:
    """Take the station's chain head (SQLite's IMMEDIATE transaction already serialises)."""
    lock = "" if db.is_sqlite() else " FOR UPDATE"
    select = f"SELECT last_seq, last_hash FROM ledger_chain WHERE station = $1{lock}"
    rows = await db.fetch(select, station_id)
    if not rows:  # the station's first push
        await db.execute(
            "INSERT INTO ledger_chain (station, last_seq, last_hash) VALUES ($1, 0, $2) "
            "ON CONFLICT (station) DO NOTHING",
            station_id,
            GENESIS_HASH,
        )
        rows = await db.fetch(select, station_id)
    return rows[0]["last_seq"], rows[0]["last_hash"]


async def advance_chain(station_id: uuid.UUID, last_seq: int, last_hash: str) -> None:
    await db.execute(
        "UPDATE ledger_chain SET last_seq = $1, last_hash = $2 WHERE station = $3",
        last_seq,
        last_hash,
        station_id,
    )


async def owners(ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """For the ids already in the log: the station that logged each, and its content hash."""
    if not ids:
        return {}
    rows = await db.fetch(
        f"SELECT id, station, content_hash FROM ledger_event WHERE id IN ({db.in_list(ids)})", *ids
    )
    return {db.as_uuid(r["id"]): (db.as_uuid(r["station"]), r["content_hash"]) for r in rows}


async def insert(rows: list[EventRow]) -> None:
    sql = (
        f"INSERT INTO ledger_event ({_EVENT_COLUMNS}) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    )
    if db.is_sqlite():
        await db.executemany(sql, sqlite_parameters(rows))
        return
    await db.executemany(sql, [_values(r) for r in rows])


def sqlite_parameters(rows: list[EventRow]) -> list[tuple[Any, ...]]:
    """The rows' parameters already adapted (`sqlite_value`): sqlite3 adapting every UUID and
    moment by a call into Python was most of the INSERT's cost. The values a push's rows share
    (station, county, device, keeper, receipt time; the day, when equal) are adapted once
    (tests/test_hashes.py compares this with sqlite3's own adapting over many generated rows)."""
    if not rows:
        return []
    first = rows[0]
    station, county, device = first.station, first.county, first.device_id
    keeper, received, day = first.keeper, first.received_at, first.business_date
    if not all(
        r.station is station
        and r.county is county
        and r.device_id is device
        and r.keeper is keeper
        and r.received_at is received
        for r in rows
    ):
        return [tuple(sqlite_value(value) for value in _values(r)) for r in rows]
    adapt_id, adapt_moment, _ = sqlite_adapters()
    shared = [sqlite_value(value) for value in (station, county, device, keeper, received, day)]
    station_text, county_text, device_text, keeper_text, received_text, day_text = shared
    return [
        (
            adapt_id(r.id) if type(r.id) is uuid.UUID else sqlite_value(r.id),
            station_text, county_text, r.seq, device_text, keeper_text, r.type,
            adapt_moment(r.occurred_at)
            if type(r.occurred_at) is datetime.datetime
            else sqlite_value(r.occurred_at),
            received_text,
            day_text
            if r.business_date == day and type(r.business_date) is type(day)
            else sqlite_value(r.business_date),
            r.data, r.server_data, r.content_hash, r.prev_hash, r.hash, r.adjusts_month,
        )
        for r in rows
    ]  # fmt: skip


def _values(r: EventRow) -> tuple[Any, ...]:
    """A row's parameters in `_EVENT_COLUMNS`' order."""
    return (
        r.id, r.station, r.county, r.seq, r.device_id, r.keeper, r.type, r.occurred_at,
        r.received_at, r.business_date, r.data, r.server_data, r.content_hash, r.prev_hash,
        r.hash, r.adjusts_month,
    )  # fmt: skip


async def record_conflicts(
    conflicts: list[Conflict],
    station_id: uuid.UUID,
    device_id: uuid.UUID,
    keeper_id: uuid.UUID,
    received_at: datetime.datetime,
) -> None:
    await db.executemany(
        "INSERT INTO ledger_conflict (event_id, station, device_id, keeper, content_hash, "
        "received_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (c.event_id, station_id, device_id, keeper_id, c.content_hash, received_at)
            for c in conflicts
        ],
    )


async def seqs_and_server_data(ids: list[uuid.UUID]) -> dict[str, tuple[int, dict[str, Any]]]:
    """For logged events: their seq and what the server added, by the id's text."""
    rows = await db.fetch(
        f"SELECT id, seq, server_data FROM ledger_event WHERE id IN ({db.in_list(ids)})", *ids
    )
    return {
        str(db.as_uuid(row["id"])): (row["seq"], json.loads(row["server_data"])) for row in rows
    }


# Reading back ---------------------------------------------------------------------------------


async def after(station_id: uuid.UUID, since: int, limit: int) -> list[PulledRow]:
    """The pull's page: the station's events after `since`, each with its reversal if any."""
    rows = await db.fetch(
        "SELECT e.id, e.seq, e.type, e.occurred_at, e.received_at, e.business_date, "
        "e.device_id, e.keeper, e.data, e.server_data, r.reversal "
        "FROM ledger_event e LEFT JOIN ledger_reversal r ON r.target = e.id "
        "WHERE e.station = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
        station_id,
        since,
        limit,
    )
    return [
        PulledRow(
            **_logged_fields(row),
            device_id=db.as_uuid(row["device_id"]),
            keeper=db.as_uuid(row["keeper"]),
            reversed_by=db.as_uuid(row["reversal"]) if row["reversal"] else None,
        )
        for row in rows
    ]


async def replay_page(station_id: uuid.UUID, after_seq: int, limit: int) -> list[LoggedRow]:
    rows = await db.fetch(
        "SELECT id, seq, type, occurred_at, received_at, business_date, data, server_data "
        "FROM ledger_event WHERE station = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        station_id,
        after_seq,
        limit,
    )
    return [LoggedRow(**_logged_fields(row)) for row in rows]


def _logged_fields(row: Any) -> dict[str, Any]:
    """A logged event's own columns, as the pull and the replay both read them."""
    return {
        "id": db.as_uuid(row["id"]),
        "seq": row["seq"],
        "type": row["type"],
        "occurred_at": db.as_moment(row["occurred_at"]),
        "received_at": db.as_moment(row["received_at"]),
        "business_date": db.as_date(row["business_date"]),
        "data": json.loads(row["data"]),
        "server_data": json.loads(row["server_data"]),
    }


async def chain_heads() -> list[ChainHead]:
    """Every station with a chain, by station code."""
    rows = await db.fetch(
        "SELECT s.id, s.code, h.last_seq, h.last_hash FROM registry_station s "
        "JOIN ledger_chain h ON h.station = s.id ORDER BY s.code"
    )
    return [
        ChainHead(
            station_id=db.as_uuid(row["id"]),
            station_code=row["code"],
            last_seq=row["last_seq"],
            last_hash=row["last_hash"],
        )
        for row in rows
    ]


async def chain_page(station_id: uuid.UUID, from_seq: int, limit: int) -> list[EventRow]:
    """Whole rows, as written, from `from_seq` on: what verify hashes again."""
    rows = await db.fetch(
        "SELECT * FROM ledger_event WHERE station = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
        station_id,
        from_seq,
        limit,
    )
    return [
        EventRow(
            id=db.as_uuid(row["id"]),
            station=db.as_uuid(row["station"]),
            county=db.as_uuid(row["county"]),
            seq=row["seq"],
            device_id=db.as_uuid(row["device_id"]),
            keeper=db.as_uuid(row["keeper"]),
            type=row["type"],
            occurred_at=db.as_moment(row["occurred_at"]),
            received_at=db.as_moment(row["received_at"]),
            business_date=db.as_date(row["business_date"]),
            data=row["data"],
            server_data=row["server_data"],
            content_hash=row["content_hash"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
            adjusts_month=row["adjusts_month"],
        )
        for row in rows
    ]


async def cash_counts(
    station_ids: list[uuid.UUID], first: datetime.date, last: datetime.date
) -> dict[tuple[uuid.UUID, datetime.date], int]:
    """Each station's 日结 per day, the latest not reversed (a later count replaces earlier)."""
    rows = await db.fetch(
        "SELECT e.station, e.business_date, e.data FROM ledger_event e "
        "LEFT JOIN ledger_reversal r ON r.target = e.id "
        "WHERE e.type = 'cash.counted' AND r.target IS NULL AND e.adjusts_month IS NULL "
        f"AND e.business_date >= $1 AND e.business_date <= $2 "
        f"AND e.station IN ({db.in_list(station_ids, 3)}) ORDER BY e.seq",
        first,
        last,
        *station_ids,
    )
    counts = {}
    for row in rows:
        key = (db.as_uuid(row["station"]), db.as_date(row["business_date"]))
        counts[key] = int(json.loads(row["data"])["counted_fen"])
    return counts


class AttendedRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    station: uuid.UUID
    business_date: datetime.date
    data: dict[str, Any]


async def training_attended(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[AttendedRow]:
    """The county's village training sessions (`training.attended`) not reversed, counted on a
    business day from `first` to `last`."""
    rows = await db.fetch(
        "SELECT e.id, e.station, e.business_date, e.data FROM ledger_event e "
        "LEFT JOIN ledger_reversal r ON r.target = e.id "
        "WHERE e.county = $1 AND e.type = 'training.attended' AND r.target IS NULL "
        "AND e.business_date >= $2 AND e.business_date <= $3 ORDER BY e.business_date, e.seq",
        county_id,
        first,
        last,
    )
    return [
        AttendedRow(
            id=db.as_uuid(row["id"]),
            station=db.as_uuid(row["station"]),
            business_date=db.as_date(row["business_date"]),
            data=json.loads(row["data"]),
        )
        for row in rows
    ]


async def last_checkin(station_id: uuid.UUID) -> Checkin | None:
    rows = await db.fetch(
        "SELECT e.occurred_at, e.business_date FROM ledger_event e "
        "LEFT JOIN ledger_reversal r ON r.target = e.id "
        "WHERE e.station = $1 AND e.type = 'checkin.recorded' AND r.target IS NULL "
        "AND e.adjusts_month IS NULL "
        "ORDER BY e.seq DESC LIMIT 1",
        station_id,
    )
    if not rows:
        return None
    return Checkin(
        occurred_at=db.as_moment(rows[0]["occurred_at"]),
        business_date=db.as_date(rows[0]["business_date"]),
    )
