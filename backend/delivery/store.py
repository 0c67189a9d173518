"""The only code that reads or writes the hub's legs (`delivery_leg`); rows come out typed."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend import db
from backend.delivery.tables import HubLeg


class LegRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county: uuid.UUID
    station: uuid.UUID
    tracking_no: str
    package: str
    round: int
    dispatched_at: datetime.datetime


class NewLeg(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county: uuid.UUID
    station: uuid.UUID
    tracking_no: str
    package: str
    round: int
    dispatched_at: datetime.datetime
    dispatched_by: uuid.UUID | None


def _leg(row: dict[str, Any]) -> LegRow:
    return LegRow(
        id=db.as_uuid(row["id"]),
        county=db.as_uuid(row["county"]),
        station=db.as_uuid(row["station"]),
        tracking_no=row["tracking_no"],
        package=row["package"] or "",
        round=row["round"],
        dispatched_at=db.as_moment(row["dispatched_at"]),
    )


_COLUMNS = (
    HubLeg.id,
    HubLeg.county,
    HubLeg.station,
    HubLeg.tracking_no,
    HubLeg.package,
    HubLeg.round,
    HubLeg.dispatched_at,
)


async def latest_legs(
    station_id: uuid.UUID, tracking_nos: list[str]
) -> dict[tuple[str, str], LegRow]:
    """The newest leg of each (number, package) of these numbers to this station."""
    latest: dict[tuple[str, str], LegRow] = {}
    for start in range(0, len(tracking_nos), 500):
        rows = await HubLeg.select(*_COLUMNS).where(
            (HubLeg.station == station_id)
            & HubLeg.tracking_no.is_in(tracking_nos[start : start + 500])
        )
        for leg in map(_leg, rows):
            key = (leg.tracking_no, leg.package)
            if key not in latest or latest[key].round < leg.round:
                latest[key] = leg
    return latest


async def insert_legs(legs: list[NewLeg]) -> None:
    if legs:
        await HubLeg.insert(*(HubLeg(**msgspec.structs.asdict(leg)) for leg in legs))


async def county_legs(
    county_id: uuid.UUID, start: datetime.datetime, end: datetime.datetime
) -> list[LegRow]:
    """The county's legs dispatched in [start, end), oldest first."""
    rows = (
        await HubLeg.select(*_COLUMNS)
        .where(
            (HubLeg.county == county_id)
            & (HubLeg.dispatched_at >= start)
            & (HubLeg.dispatched_at < end)
        )
        .order_by(HubLeg.dispatched_at)
    )
    return [_leg(row) for row in rows]


async def legs_of_number(tracking_no: str) -> list[LegRow]:
    """Every leg of one number, at any station, oldest first."""
    rows = (
        await HubLeg.select(*_COLUMNS)
        .where(HubLeg.tracking_no == tracking_no)
        .order_by(HubLeg.dispatched_at)
    )
    return [_leg(row) for row in rows]
