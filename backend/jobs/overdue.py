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

import msgspec

from backend import clock
from backend.jobs import store
from backend.jobs.fanout import bounded_map, each_county
from backend.notify import villagers
from backend.registry import store as registry
from backend.registry.store import CountySchedule
from backend.settings import Settings

PICKUP_URL = "/app/#/pickup"


def overdue_dedupe_key(station_id: uuid.UUID, day: datetime.date) -> str:
    return f"parcel-overdue:{station_id}:{day.isoformat()}"


async def remind_station(
    settings: Settings, item: tuple[uuid.UUID, int], day: datetime.date, return_days: int
) -> int:
    """One station's keepers: how many parcels wait past the limit; once per local day."""
    from backend.notify.service import notify_station_keepers

    station_id, count = item
    return int(
        await notify_station_keepers(
            settings,
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


async def mark_and_remind_overdue(
    settings: Settings, now: datetime.datetime | None = None
) -> dict[str, int]:
    now = now or clock.utcnow()
    counts = {
        "overdue": 0,
        "newly_marked": 0,
        "stations_reminded": 0,
        "keepers_notified": 0,
        "villager_reminders": 0,
    }

    async def handle_county(county: CountySchedule) -> None:
        local = now.astimezone(zoneinfo.ZoneInfo(county.timezone))
        last_ok_day = local.date() - datetime.timedelta(days=county.parcel_return_days)
        found = await store.mark_overdue(county.id, local.date(), last_ok_day, now)
        counts["overdue"] += sum(found.per_station.values())
        counts["newly_marked"] += found.newly_marked
        # Villagers with parcels past the free days: an SMS at most every 2 days, 3 in all.
        counts["villager_reminders"] += await villagers.remind_county(
            settings, msgspec.structs.asdict(county), now
        )
        if local.hour < county.checkin_reminder_hour:
            return
        notified = await bounded_map(
            partial(
                remind_station, settings, day=local.date(), return_days=county.parcel_return_days
            ),
            list(found.per_station.items()),
        )
        counts["stations_reminded"] += sum(1 for n in notified if n)
        counts["keepers_notified"] += sum(notified)

    return await each_county(await registry.county_schedules(), handle_county, counts)


async def overdue_parcels(station_id: uuid.UUID) -> list[dict[str, Any]]:
    """The station's parcels marked for return and still on the shelf (no personal data)."""
    return [msgspec.structs.asdict(parcel) for parcel in await store.overdue_on_shelf(station_id)]
