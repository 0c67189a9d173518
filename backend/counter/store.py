"""The counter's reads of the ledger's tables, all of them, read-only and in one place.

The counter owns no tables. What it shows of the day's parcels and dispatches it reads here from
the ledger's projections (ledger_parcel, ledger_dispatch), in the caller's read transaction; the
registry's rows (shelf, prices, households) it reads and writes through registry.store.
"""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db


class CarrierCount(msgspec.Struct, frozen=True):
    carrier: str
    n: int


class ClosedParcel(msgspec.Struct, frozen=True):
    carrier: str
    state: str  # picked_up | returned
    closed_at: datetime.datetime


async def received_by_carrier(station_id: uuid.UUID, day: datetime.date) -> list[CarrierCount]:
    """Parcels received on that business day (reversed ones not), per carrier."""
    rows = await db.fetch(
        "SELECT carrier, COUNT(*) AS n FROM ledger_parcel WHERE station = $1 "
        "AND received_date = $2 AND state <> 'reversed' GROUP BY carrier",
        station_id,
        day,
    )
    return [CarrierCount(carrier=row["carrier"], n=int(row["n"])) for row in rows]


async def closed_since(station_id: uuid.UUID, since: datetime.datetime) -> list[ClosedParcel]:
    """Parcels handed over or returned since that moment."""
    rows = await db.fetch(
        "SELECT carrier, state, closed_at FROM ledger_parcel WHERE station = $1 "
        "AND state IN ('picked_up', 'returned') AND closed_at >= $2",
        station_id,
        since,
    )
    return [
        ClosedParcel(
            carrier=row["carrier"], state=row["state"], closed_at=db.as_moment(row["closed_at"])
        )
        for row in rows
    ]


async def dispatched_by_carrier(station_id: uuid.UUID, day: datetime.date) -> list[CarrierCount]:
    """Parcels sent (代发) on that business day, not reversed, per carrier."""
    rows = await db.fetch(
        "SELECT carrier, COUNT(*) AS n FROM ledger_dispatch WHERE station = $1 "
        "AND business_date = $2 AND reversed = $3 GROUP BY carrier",
        station_id,
        day,
        False,
    )
    return [CarrierCount(carrier=row["carrier"], n=int(row["n"])) for row in rows]


async def parcels_on_shelf_for(station_id: uuid.UUID, phone: str) -> list[uuid.UUID]:
    """The station's parcels on the shelf for this phone, or for a masked number ending like it."""
    rows = await db.fetch(
        "SELECT id FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf' "
        "AND (recipient_phone = $2 OR recipient_phone LIKE $3)",
        station_id,
        phone,
        f"%{phone[-4:]}",
    )
    return [db.as_uuid(row["id"]) for row in rows]
