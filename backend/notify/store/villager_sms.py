"""SMS to villagers (`notify_villager_sms`) and the facts about stations, parcels and households
their messages need.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend import db

CHUNK = 500
CLAIM_BATCH = 200


class NewSms(msgspec.Struct, frozen=True):
    parcel: uuid.UUID
    station: uuid.UUID
    county: uuid.UUID
    kind: str  # pickup | reminder
    seq: int
    phone: str
    language: str
    params: str  # JSON
    month: str
    created_at: datetime.datetime
    id: uuid.UUID = msgspec.field(default_factory=uuid.uuid4)


class ClaimedSms(msgspec.Struct, frozen=True):
    id: uuid.UUID
    kind: str
    phone: str
    language: str
    params: str


class SmsOutcome(msgspec.Struct, frozen=True):
    id: uuid.UUID
    state: str  # sent | failed
    http_status: int | None
    error: str


class StationFacts(msgspec.Struct, frozen=True):
    name: str
    opening_hours: str
    county: uuid.UUID
    timezone: str


class ShelfParcel(msgspec.Struct, frozen=True):
    id: uuid.UUID
    station: uuid.UUID
    county: uuid.UUID
    recipient_phone: str | None
    pickup_code: str
    received_date: datetime.date
    state: str


class SmsLine(msgspec.Struct, frozen=True):
    """A parcel's message as the counter shows it."""

    parcel: uuid.UUID
    kind: str
    seq: int
    state: str


class MonthCount(msgspec.Struct, frozen=True):
    station: uuid.UUID
    name: str
    code: str
    kind: str
    state: str
    n: int


async def insert_pending(rows: list[NewSms]) -> None:
    """Messages owed, one row each; a parcel's message of one kind and sequence exists once."""
    values = [
        (row.id, row.parcel, row.station, row.county, row.kind, row.seq, row.phone,
         row.language, row.params, row.month, row.created_at)
        for row in rows
    ]  # fmt: skip
    await db.executemany(
        "INSERT INTO notify_villager_sms (id, parcel, station, county, kind, seq, phone, "
        "language, params, month, state, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11) "
        "ON CONFLICT (parcel, kind, seq) DO NOTHING",
        values,
    )


def _claimed(rows: list[dict[str, Any]]) -> list[ClaimedSms]:
    return [
        ClaimedSms(
            id=db.as_uuid(row["id"]),
            kind=row["kind"],
            phone=row["phone"],
            language=row["language"],
            params=row["params"] or "{}",
        )
        for row in rows
    ]


async def claim(ids: list[uuid.UUID] | None, moment: datetime.datetime) -> list[ClaimedSms]:
    """Mark pending rows "sending" and return them (atomic on both engines): one sender each.
    None: the oldest pending rows."""
    if ids is None:
        return _claimed(
            await db.fetch(
                "UPDATE notify_villager_sms SET state = 'sending', attempted_at = $1 "
                "WHERE id IN (SELECT id FROM notify_villager_sms WHERE state = 'pending' "
                f"ORDER BY created_at LIMIT {CLAIM_BATCH}) AND state = 'pending' RETURNING *",
                moment,
            )
        )
    if not ids:
        return []
    return _claimed(
        await db.fetch(
            "UPDATE notify_villager_sms SET state = 'sending', attempted_at = $1 "
            f"WHERE id IN ({db.in_list(ids, 2)}) AND state = 'pending' RETURNING *",
            moment,
            *ids,
        )
    )


async def record(outcomes: list[SmsOutcome]) -> None:
    await db.executemany(
        "UPDATE notify_villager_sms SET state = $1, http_status = $2, error = $3 WHERE id = $4",
        [(o.state, o.http_status, o.error, o.id) for o in outcomes],
    )


async def fail_stale_claims(before: datetime.datetime, error: str) -> None:
    """Claims older than `before`: the sender stopped mid-call, the outcome is unknown."""
    await db.execute(
        "UPDATE notify_villager_sms SET state = 'failed', error = $1 "
        "WHERE state = 'sending' AND attempted_at < $2",
        error,
        before,
    )


async def lines(parcel_ids: list[uuid.UUID]) -> list[SmsLine]:
    """Every message of these parcels, by kind and sequence."""
    found: list[SmsLine] = []
    for start in range(0, len(parcel_ids), CHUNK):
        chunk = parcel_ids[start : start + CHUNK]
        if not chunk:
            continue
        rows = await db.fetch(
            "SELECT parcel, kind, seq, state FROM notify_villager_sms "
            f"WHERE parcel IN ({db.in_list(chunk)}) ORDER BY kind, seq",
            *chunk,
        )
        found.extend(
            SmsLine(db.as_uuid(row["parcel"]), row["kind"], row["seq"], row["state"])
            for row in rows
        )
    return found


class Written(msgspec.Struct, frozen=True):
    parcel: uuid.UUID
    kind: str
    seq: int
    created_at: datetime.datetime


async def written(parcel_ids: list[uuid.UUID]) -> list[Written]:
    """When each message of these parcels was written."""
    found: list[Written] = []
    for start in range(0, len(parcel_ids), CHUNK):
        chunk = parcel_ids[start : start + CHUNK]
        rows = await db.fetch(
            "SELECT parcel, kind, seq, created_at FROM notify_villager_sms "
            f"WHERE parcel IN ({db.in_list(chunk)})",
            *chunk,
        )
        found.extend(
            Written(
                db.as_uuid(row["parcel"]), row["kind"], row["seq"], db.as_moment(row["created_at"])
            )
            for row in rows
        )
    return found


async def month_counts(county_id: uuid.UUID, month: str) -> list[MonthCount]:
    rows = await db.fetch(
        "SELECT v.station, s.name, s.code, v.kind, v.state, COUNT(*) AS n "
        "FROM notify_villager_sms v JOIN registry_station s ON s.id = v.station "
        "WHERE v.county = $1 AND v.month = $2 GROUP BY v.station, s.name, s.code, v.kind, "
        "v.state ORDER BY s.code",
        county_id,
        month,
    )
    return [
        MonthCount(
            station=db.as_uuid(row["station"]),
            name=row["name"],
            code=row["code"],
            kind=row["kind"],
            state=row["state"],
            n=int(row["n"]),
        )
        for row in rows
    ]


# Facts from the registry, the ledger and accounts ---------------------------------------------


async def station_facts(station_id: uuid.UUID) -> StationFacts:
    rows = await db.fetch(
        "SELECT s.name, s.opening_hours, s.county, c.timezone FROM registry_station s "
        "JOIN registry_county c ON c.id = s.county WHERE s.id = $1",
        station_id,
    )
    row = rows[0]
    return StationFacts(
        name=row["name"],
        opening_hours=row["opening_hours"],
        county=db.as_uuid(row["county"]),
        timezone=row["timezone"],
    )


async def opted_out(county_id: uuid.UUID, phones: list[str]) -> set[str]:
    """The phones whose household asked for no SMS."""
    if not phones:
        return set()
    rows = await db.fetch(
        "SELECT phone FROM registry_household WHERE county = $1 AND sms_opt_out = $2 "
        f"AND phone IN ({db.in_list(phones, 3)})",
        county_id,
        True,
        *phones,
    )
    return {row["phone"] for row in rows}


async def keepers_language(county_id: uuid.UUID) -> str | None:
    """The language most of the county's keepers chose."""
    rows = await db.fetch(
        "SELECT language, COUNT(*) AS n FROM accounts_user WHERE county = $1 AND role = 'keeper' "
        "GROUP BY language ORDER BY n DESC, language LIMIT 1",
        county_id,
    )
    return rows[0]["language"] if rows else None


_PARCEL_COLUMNS = "id, station, county, recipient_phone, pickup_code, received_date, state"


def _parcel(row: dict[str, Any]) -> ShelfParcel:
    return ShelfParcel(
        id=db.as_uuid(row["id"]),
        station=db.as_uuid(row["station"]),
        county=db.as_uuid(row["county"]),
        recipient_phone=row["recipient_phone"],
        pickup_code=row["pickup_code"],
        received_date=db.as_date(row["received_date"]),
        state=row["state"],
    )


async def shelved_before(county_id: uuid.UUID, day: datetime.date) -> list[ShelfParcel]:
    """Parcels on the county's shelves received before `day`."""
    rows = await db.fetch(
        f"SELECT {_PARCEL_COLUMNS} "
        "FROM ledger_parcel WHERE county = $1 AND state = 'on_shelf' AND received_date < $2",
        county_id,
        day,
    )
    return [_parcel(row) for row in rows]


async def parcel_at(station_id: uuid.UUID, parcel_id: uuid.UUID) -> ShelfParcel | None:
    rows = await db.fetch(
        f"SELECT {_PARCEL_COLUMNS} FROM ledger_parcel WHERE id = $1 AND station = $2",
        parcel_id,
        station_id,
    )
    return _parcel(rows[0]) if rows else None
