"""The only code that touches the jobs' tables: the scheduler lease, the runs, the parcels marked
for return; and the jobs' reads of the ledger (check-ins of a week, parcels on the shelf), which
are read-only and gathered here.

The lease is one row, taken or renewed by a single conditional upsert (atomic on SQLite and
PostgreSQL); a run's claim is an insert that the unique (name, window_key) index lets through once.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Sequence

import msgspec

from backend import clock, db


def moment(value) -> datetime.datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back text)."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromisoformat(str(value)).replace(tzinfo=datetime.UTC)


# The lease -------------------------------------------------------------------------------------


class LeaseRow(msgspec.Struct, frozen=True):
    name: str
    holder: str
    acquired_at: datetime.datetime
    renewed_at: datetime.datetime
    expires_at: datetime.datetime


def _lease_row(row: dict) -> LeaseRow:
    return LeaseRow(
        name=row["name"],
        holder=row["holder"],
        acquired_at=moment(row["acquired_at"]),
        renewed_at=moment(row["renewed_at"]),
        expires_at=moment(row["expires_at"]),
    )


async def database_now() -> datetime.datetime:
    """The clock every process agrees on: PostgreSQL's (its `serve` processes may run on hosts
    whose clocks drift apart); an SQLite file is served from one host, whose clock it is."""
    if db.is_sqlite():
        return clock.utcnow()
    rows = await db.fetch_once("SELECT clock_timestamp() AS now")
    return moment(rows[0]["now"])


async def take_lease(
    name: str, holder: str, ttl: datetime.timedelta, now: datetime.datetime | None
) -> tuple[LeaseRow, datetime.datetime]:
    """Take or renew the lease when it is free, expired or already `holder`'s; the row as it is
    afterwards (whoever holds it) and the moment, by the database's clock, it was decided."""
    async with db.write_transaction():
        now = now or await database_now()
        # The WHERE lets the update through only for the current holder or over an expired
        # lease: two processes racing for a free lease cannot both win.
        await db.execute(
            "INSERT INTO jobs_lease (name, holder, acquired_at, renewed_at, expires_at) "
            "VALUES ($1, $2, $3, $3, $4) "
            "ON CONFLICT (name) DO UPDATE SET "
            "holder = excluded.holder, renewed_at = excluded.renewed_at, "
            "expires_at = excluded.expires_at, "
            "acquired_at = CASE WHEN jobs_lease.holder = excluded.holder "
            "THEN jobs_lease.acquired_at ELSE excluded.acquired_at END "
            "WHERE jobs_lease.holder = excluded.holder OR jobs_lease.expires_at < $3",
            name,
            holder,
            now,
            now + ttl,
        )
        rows = await db.fetch("SELECT * FROM jobs_lease WHERE name = $1", name)
    return _lease_row(rows[0]), now


async def expire_lease(name: str, holder: str) -> None:
    """Hand the lease back: expired a second ago, when `holder` still has it."""
    async with db.write_transaction():
        await db.execute(
            "UPDATE jobs_lease SET expires_at = $1 WHERE name = $2 AND holder = $3",
            await database_now() - datetime.timedelta(seconds=1),
            name,
            holder,
        )


async def lease(name: str) -> tuple[LeaseRow, datetime.datetime] | None:
    """The lease's row and the database's time of reading, in the caller's transaction if any."""
    rows = await db.fetch_once("SELECT * FROM jobs_lease WHERE name = $1", name)
    return (_lease_row(rows[0]), await database_now()) if rows else None


# Runs ------------------------------------------------------------------------------------------


class RunRow(msgspec.Struct, frozen=True):
    window_key: str
    trigger: str
    holder: str
    started_at: datetime.datetime
    finished_at: datetime.datetime | None
    status: str
    counts: dict[str, int]
    error: str


async def claim_run(
    *,
    run_id: uuid.UUID,
    name: str,
    window_key: str,
    trigger: str,
    holder: str,
    started_at: datetime.datetime,
) -> bool:
    """False when the window was claimed already."""
    async with db.write_transaction():
        rows = await db.fetch(
            "INSERT INTO jobs_run (id, name, window_key, trigger, holder, started_at, status, "
            "counts, error) VALUES ($1, $2, $3, $4, $5, $6, 'running', '{}', '') "
            "ON CONFLICT (name, window_key) DO NOTHING RETURNING id",
            run_id,
            name,
            window_key,
            trigger,
            holder,
            started_at,
        )
    return bool(rows)


async def finish_run(run_id: uuid.UUID, status: str, counts: dict[str, int], error: str) -> None:
    async with db.write_transaction():
        await db.execute(
            "UPDATE jobs_run SET finished_at = $1, status = $2, counts = $3, error = $4 "
            "WHERE id = $5",
            clock.utcnow(),
            status,
            json.dumps(counts, sort_keys=True),
            error,
            run_id,
        )


async def abandon_runs(new_holder: str) -> int:
    """Scheduled runs still "running" under another holder become "abandoned"; how many."""
    async with db.write_transaction():
        rows = await db.fetch(
            "UPDATE jobs_run SET status = 'abandoned', finished_at = $1 "
            "WHERE status = 'running' AND holder <> $2 AND trigger = 'schedule' RETURNING id",
            clock.utcnow(),
            new_holder,
        )
    return len(rows)


async def prune_runs(before: datetime.datetime) -> int:
    """Delete finished runs started before that moment; how many went."""
    async with db.write_transaction():
        old = await db.fetch(
            "SELECT COUNT(*) AS n FROM jobs_run WHERE started_at < $1 AND status <> 'running'",
            before,
        )
        await db.execute(
            "DELETE FROM jobs_run WHERE started_at < $1 AND status <> 'running'", before
        )
    return int(old[0]["n"])


async def recent_runs(name: str, limit: int) -> list[RunRow]:
    """The job's latest runs, newest first, in the caller's transaction if any."""
    rows = await db.fetch_once(
        "SELECT * FROM jobs_run WHERE name = $1 ORDER BY started_at DESC LIMIT $2", name, limit
    )
    return [
        RunRow(
            window_key=row["window_key"],
            trigger=row["trigger"],
            holder=row["holder"],
            started_at=moment(row["started_at"]),
            finished_at=moment(row["finished_at"]) if row["finished_at"] else None,
            status=row["status"],
            counts=json.loads(row["counts"] or "{}"),
            error=row["error"] or "",
        )
        for row in rows
    ]


# Parcels marked for return ---------------------------------------------------------------------


class OverdueMarking(msgspec.Struct, frozen=True):
    per_station: dict[uuid.UUID, int]  # parcels past the limit on each station's shelf
    newly_marked: int


async def mark_overdue(
    county_id: uuid.UUID, today: datetime.date, last_ok_day: datetime.date, now: datetime.datetime
) -> OverdueMarking:
    """Mark the county's parcels on the shelf received on or before `last_ok_day` (read from the
    ledger's projection), in one transaction."""
    async with db.write_transaction():
        overdue = await db.fetch(
            "SELECT id, station, received_date FROM ledger_parcel "
            "WHERE county = $1 AND state = 'on_shelf' AND received_date <= $2",
            county_id,
            last_ok_day,
        )
        marked = {
            str(row["parcel"])
            for row in await db.fetch(
                "SELECT parcel FROM jobs_overdue_parcel WHERE county = $1", county_id
            )
        }
        new_rows: Sequence[tuple] = [
            (
                db.as_uuid(row["id"]),
                db.as_uuid(row["station"]),
                county_id,
                (today - db.as_date(row["received_date"])).days,
                now,
            )
            for row in overdue
            if str(row["id"]) not in marked
        ]
        await db.executemany(
            "INSERT INTO jobs_overdue_parcel (parcel, station, county, days_on_shelf, marked_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (parcel) DO NOTHING",
            new_rows,
        )
    per_station: dict[uuid.UUID, int] = {}
    for row in overdue:
        station = db.as_uuid(row["station"])
        per_station[station] = per_station.get(station, 0) + 1
    return OverdueMarking(per_station=per_station, newly_marked=len(new_rows))


class OverdueParcel(msgspec.Struct, frozen=True):
    parcel_id: uuid.UUID
    tracking_no: str
    carrier: str
    pickup_code: str
    received_date: datetime.date
    marked_at: datetime.datetime


async def overdue_on_shelf(station_id: uuid.UUID) -> list[OverdueParcel]:
    """The station's parcels marked for return and still on the shelf (the ledger says so)."""
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT p.id, p.tracking_no, p.carrier, p.pickup_code, p.received_date, "
            "o.marked_at FROM jobs_overdue_parcel o JOIN ledger_parcel p ON p.id = o.parcel "
            "WHERE o.station = $1 AND p.state = 'on_shelf' ORDER BY p.received_date, p.id",
            station_id,
        )
    return [
        OverdueParcel(
            parcel_id=db.as_uuid(row["id"]),
            tracking_no=row["tracking_no"],
            carrier=row["carrier"],
            pickup_code=row["pickup_code"],
            received_date=db.as_date(row["received_date"]),
            marked_at=moment(row["marked_at"]),
        )
        for row in rows
    ]


# The ledger's check-ins ------------------------------------------------------------------------


async def stations_checked_in(
    county_id: uuid.UUID, first_day: datetime.date, end_day: datetime.date
) -> set[uuid.UUID]:
    """Stations of the county with a check-in (not reversed) on a business day in
    [first_day, end_day), read from the ledger's events."""
    rows = await db.fetch_once(
        "SELECT DISTINCT e.station FROM ledger_event e "
        "LEFT JOIN ledger_reversal r ON r.target = e.id "
        "WHERE e.county = $1 AND e.business_date >= $2 AND e.business_date < $3 "
        "AND e.type = 'checkin.recorded' AND r.target IS NULL"
        # A late check-in of a closed month counts on a later day for the ledger, not as a
        # check-in of that week.
        " AND e.adjusts_month IS NULL",
        county_id,
        first_day,
        end_day,
    )
    return {db.as_uuid(row["station"]) for row in rows}
