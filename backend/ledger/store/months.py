"""Each station's months under review (`ledger_month`): which are closed, and their states."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db

_COLUMNS = (
    "station, month, state, submitted_at, submitted_by, closed_at, closed_by, reopened_at, "
    "reopened_by, reason"
)


class MonthRow(msgspec.Struct, frozen=True):
    station: uuid.UUID
    month: str
    state: str  # open | submitted | closed
    submitted_at: datetime.datetime | None = None
    submitted_by: uuid.UUID | None = None
    closed_at: datetime.datetime | None = None
    closed_by: uuid.UUID | None = None
    reopened_at: datetime.datetime | None = None
    reopened_by: uuid.UUID | None = None
    reason: str = ""


def _row(row: dict) -> MonthRow:
    def moment(value):
        return db.as_moment(value) if value is not None else None

    def ident(value):
        return db.as_uuid(value) if value is not None else None

    return MonthRow(
        station=db.as_uuid(row["station"]),
        month=row["month"],
        state=row["state"],
        submitted_at=moment(row["submitted_at"]),
        submitted_by=ident(row["submitted_by"]),
        closed_at=moment(row["closed_at"]),
        closed_by=ident(row["closed_by"]),
        reopened_at=moment(row["reopened_at"]),
        reopened_by=ident(row["reopened_by"]),
        reason=row["reason"] or "",
    )


async def closed_months(station_id: uuid.UUID) -> set[str]:
    """The station's closed months ('YYYY-MM'): one small read per sync batch."""
    rows = await db.fetch(
        "SELECT month FROM ledger_month WHERE station = $1 AND state = 'closed'", station_id
    )
    return {row["month"] for row in rows}


async def closed_in_county(county_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """(station, month) of every closed month of the county's stations."""
    rows = await db.fetch(
        "SELECT m.station, m.month FROM ledger_month m JOIN registry_station s "
        "ON s.id = m.station WHERE s.county = $1 AND m.state = 'closed' ORDER BY m.month",
        county_id,
    )
    return [(db.as_uuid(row["station"]), row["month"]) for row in rows]


async def get(station_id: uuid.UUID, month: str) -> MonthRow | None:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM ledger_month WHERE station = $1 AND month = $2",
        station_id,
        month,
    )
    return _row(rows[0]) if rows else None


async def of_stations(
    station_ids: list[uuid.UUID], months: list[str]
) -> dict[tuple[uuid.UUID, str], MonthRow]:
    """The stations' rows of these months, by (station, month)."""
    if not station_ids or not months:
        return {}
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM ledger_month WHERE month IN ({db.in_list(months)}) "
        f"AND station IN ({db.in_list(station_ids, len(months) + 1)})",
        *months,
        *station_ids,
    )
    return {(row.station, row.month): row for row in map(_row, rows)}


async def of_station(station_id: uuid.UUID, months: list[str]) -> dict[str, MonthRow]:
    if not months:
        return {}
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM ledger_month WHERE station = $1 "
        f"AND month IN ({db.in_list(months, 2)})",
        station_id,
        *months,
    )
    return {row.month: row for row in map(_row, rows)}


async def save(row: MonthRow) -> None:
    """Write the station's month as given (inside the caller's transaction)."""
    await db.execute(
        "DELETE FROM ledger_month WHERE station = $1 AND month = $2", row.station, row.month
    )
    await db.execute(
        f"INSERT INTO ledger_month ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        row.station,
        row.month,
        row.state,
        row.submitted_at,
        row.submitted_by,
        row.closed_at,
        row.closed_by,
        row.reopened_at,
        row.reopened_by,
        row.reason,
    )


class Adjustment(msgspec.Struct, frozen=True):
    """An entry dated in a closed month and counted on `counted_on` in a later open one."""

    id: uuid.UUID
    station: uuid.UUID
    type: str
    occurred_at: datetime.datetime
    counted_on: datetime.date
    month: str  # the closed month it was dated in
    data: str  # canonical JSON as logged


async def adjustments(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[Adjustment]:
    """The county's entries counted in [first, last] that were dated in a closed month and
    stand (not reversed)."""
    rows = await db.fetch(
        "SELECT e.id, e.station, e.type, e.occurred_at, e.business_date, e.adjusts_month, e.data "
        "FROM ledger_event e LEFT JOIN ledger_reversal r ON r.target = e.id "
        "WHERE e.county = $1 AND e.business_date >= $2 AND e.business_date <= $3 "
        "AND e.adjusts_month IS NOT NULL AND r.target IS NULL "
        "ORDER BY e.business_date, e.station, e.seq",
        county_id,
        first,
        last,
    )
    return [
        Adjustment(
            id=db.as_uuid(row["id"]),
            station=db.as_uuid(row["station"]),
            type=row["type"],
            occurred_at=db.as_moment(row["occurred_at"]),
            counted_on=db.as_date(row["business_date"]),
            month=row["adjusts_month"],
            data=row["data"],
        )
        for row in rows
    ]
