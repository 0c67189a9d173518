"""`parcel-overdue`: parcels on the shelf past the county's return limit.

The job marks them for return in its own table (the ledger stays a projection of events: the
keeper's `parcel.returned` is what closes a parcel) and reminds each station's keeper once per
county-local day with the count. Villagers whose parcels wait past the free days get an SMS
reminder (see notify.villagers: every 2 days at most, 3 in all, at a decent local hour).
Reminders wait for the county's working hours (its reminder hour), so nobody is woken at
midnight; marking happens at any hour.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from functools import partial
from typing import Any

from backend import clock, db
from backend.jobs.fanout import bounded_map, each_county
from backend.notify import villagers

PICKUP_URL = "/app/#/pickup"


async def _counties() -> list[dict[str, Any]]:
    async with db.read_transaction():
        return await db.fetch(
            "SELECT id, timezone, parcel_return_days, parcel_free_days, checkin_reminder_hour "
            "FROM registry_county ORDER BY code"
        )


async def _mark(county_id: uuid.UUID, today: datetime.date, return_days: int, now) -> dict:
    """Mark the county's overdue parcels; {station: overdue count}, and how many were new."""
    last_ok_day = today - datetime.timedelta(days=return_days)
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
        new_rows = [
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
    return {"per_station": per_station, "newly_marked": len(new_rows)}


def overdue_dedupe_key(station_id: uuid.UUID, day: datetime.date) -> str:
    return f"parcel-overdue:{station_id}:{day.isoformat()}"


async def remind_station(item: tuple[uuid.UUID, int], day: datetime.date, return_days: int) -> int:
    """One station's keepers: how many parcels wait past the limit; once per local day."""
    from backend.notify.service import notify_station_keepers

    station_id, count = item
    return int(
        await notify_station_keepers(
            station_id,
            kind="parcel_overdue",
            title_key="notify.parcel_overdue.title",
            body_key="notify.parcel_overdue.body",
            params={"count": count, "days": return_days},
            url=PICKUP_URL,
            dedupe_key=overdue_dedupe_key(station_id, day),
        )
        or 0
    )


async def mark_and_remind_overdue(now: datetime.datetime | None = None) -> dict[str, int]:
    now = now or clock.utcnow()
    counts = {
        "overdue": 0,
        "newly_marked": 0,
        "stations_reminded": 0,
        "keepers_notified": 0,
        "villager_reminders": 0,
    }

    async def handle_county(county: dict[str, Any]) -> None:
        local = now.astimezone(zoneinfo.ZoneInfo(county["timezone"]))
        found = await _mark(
            db.as_uuid(county["id"]), local.date(), county["parcel_return_days"], now
        )
        counts["overdue"] += sum(found["per_station"].values())
        counts["newly_marked"] += found["newly_marked"]
        # Villagers with parcels past the free days: an SMS at most every 2 days, 3 in all.
        counts["villager_reminders"] += await villagers.remind_county(county, now)
        if local.hour < county["checkin_reminder_hour"]:
            return
        notified = await bounded_map(
            partial(remind_station, day=local.date(), return_days=county["parcel_return_days"]),
            list(found["per_station"].items()),
        )
        counts["stations_reminded"] += sum(1 for n in notified if n)
        counts["keepers_notified"] += sum(notified)

    return await each_county(await _counties(), handle_county, counts)


async def overdue_parcels(station_id: uuid.UUID) -> list[dict[str, Any]]:
    """The station's parcels marked for return and still on the shelf (no personal data)."""
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT p.id, p.tracking_no, p.carrier, p.pickup_code, p.received_date, "
            "o.marked_at FROM jobs_overdue_parcel o JOIN ledger_parcel p ON p.id = o.parcel "
            "WHERE o.station = $1 AND p.state = 'on_shelf' ORDER BY p.received_date, p.id",
            station_id,
        )
    return [
        {
            "parcel_id": db.as_uuid(row["id"]),
            "tracking_no": row["tracking_no"],
            "carrier": row["carrier"],
            "pickup_code": row["pickup_code"],
            "received_date": db.as_date(row["received_date"]),
            "marked_at": row["marked_at"],
        }
        for row in rows
    ]
