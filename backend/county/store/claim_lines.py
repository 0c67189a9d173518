"""Read-only: the month's dispatches as the workbook's 补贴明细 lists them (subsidies.sheet_claims).

dispatch_reads.live_dispatches reads every column, joined to ledger_event for the 补报 month:
the join alone cost more than the rest of the statement (each dispatch looks up its wide event
row). Here the few late dispatches' months are read on their own (the partial index
ledger_event_adjustment), the destination and fee the sheet never shows are not read, and
each station's id and each day are converted once, not once per parcel.
"""

from __future__ import annotations

import datetime
import uuid

from backend import db
from backend.county.store.dispatch_reads import Dispatch


async def month_lines(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date, farm_only: bool
) -> list[Dispatch]:
    """The county's qualifying dispatches whose business day is in [first, last], without their
    destination and fee (as dispatch_reads' condition: not reversed, farm produce when asked)."""
    farm = " AND d.farm_product = $5" if farm_only else ""
    rows = await db.fetch(
        "SELECT d.id, CAST(d.station AS TEXT) AS station, d.tracking_no, d.carrier, d.weight_g, "
        "d.farm_product, d.household_code, d.business_date, d.received_at FROM ledger_dispatch d "
        "WHERE d.county = $1 AND d.reversed = $2 AND d.business_date >= $3 "
        f"AND d.business_date <= $4{farm}",
        county_id,
        False,
        first,
        last,
        *([True] if farm_only else []),
    )
    # A dispatch's business day is its event's: the late ones are the month's events with a month.
    late = {
        row["id"]: row["adjusts_month"]
        for row in await db.fetch(
            "SELECT e.id, e.adjusts_month FROM ledger_event e WHERE e.county = $1 "
            "AND e.business_date >= $2 AND e.business_date <= $3 AND e.adjusts_month IS NOT NULL",
            county_id,
            first,
            last,
        )
    }
    stations: dict = {}
    days: dict = {}
    lines = []
    for row in rows:
        station, day = row["station"], row["business_date"]
        if station not in stations:
            stations[station] = db.as_uuid(station)
        if day not in days:
            days[day] = db.as_date(day)
        lines.append(
            Dispatch(
                id=db.as_uuid(row["id"]),
                station=stations[station],
                tracking_no=row["tracking_no"],
                received_at=db.as_moment(row["received_at"]),
                carrier=row["carrier"],
                weight_g=row["weight_g"],
                farm_product=bool(row["farm_product"]),
                household_code=row["household_code"],
                business_date=days[day],
                late_for=late.get(row["id"]),
            )
        )
    return lines
