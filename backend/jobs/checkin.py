"""`checkin-reminder`: nudge keepers whose station has not checked in this week.

Each county chooses the ISO weekday and local hour of the reminder; its week runs Monday to
Sunday in its own time zone, so an Asia/Urumqi county is reminded at its own working hours. A
second nudge goes a day later to the stations still missing. The job runs every few minutes and
asks "is it due for this county now?", so a window missed while the server was down still runs
once that week. Notify's dedupe key (station, week, nudge) makes a second run send nothing twice
while reaching a keeper or device added since.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from dataclasses import dataclass
from functools import partial

from backend import clock, db
from backend.jobs import store
from backend.jobs.fanout import bounded_map, each_county
from backend.ledger.service import week_start
from backend.registry import store as registry
from backend.registry.store import CountySchedule
from backend.settings import Settings

CHECKIN_URL = "/app/#/checkin"


@dataclass(frozen=True)
class ReminderWindow:
    week_monday: datetime.date
    first_at: datetime.datetime  # the county's reminder moment this week
    second_at: datetime.datetime | None  # a day later, when that is still this week

    def nudge_due(self, now: datetime.datetime) -> int:
        """0 when nothing is due yet this week, else 1 or 2 (the second nudge once it is time)."""
        if now < self.first_at:
            return 0
        if self.second_at is not None and now >= self.second_at:
            return 2
        return 1


def reminder_window(
    timezone: str, weekday: int, hour: int, now: datetime.datetime
) -> ReminderWindow:
    """This week's reminder moments of a county, computed in its local time."""
    zone = zoneinfo.ZoneInfo(timezone)
    monday = week_start(now.astimezone(zone).date())
    day = monday + datetime.timedelta(days=min(max(weekday, 1), 7) - 1)
    first = datetime.datetime.combine(day, datetime.time(min(max(hour, 0), 23)), tzinfo=zone)
    next_day = day + datetime.timedelta(days=1)
    second = first + datetime.timedelta(days=1) if next_day.weekday() != 0 else None
    return ReminderWindow(week_monday=monday, first_at=first, second_at=second)


async def stations_missing_checkin(
    county_id: uuid.UUID, week_monday: datetime.date
) -> list[uuid.UUID]:
    """Open stations of the county without a (not reversed) check-in in the county-local week.

    A station is open when it is not closed and has opened by the end of that week."""
    week_end = week_monday + datetime.timedelta(days=7)
    async with db.read_transaction():
        stations = await registry.open_stations_by(county_id, week_end)
        done = await store.stations_checked_in(county_id, week_monday, week_end)
    return [station for station in stations if station not in done]


def checkin_dedupe_key(station_id: uuid.UUID, week_monday: datetime.date, nudge: int) -> str:
    return f"checkin:{station_id}:{week_monday.isoformat()}:{nudge}"


async def remind_station(
    settings: Settings, station_id: uuid.UUID, window: ReminderWindow, nudge: int
) -> int:
    """One station's keepers, the first or second nudge of the week; how many got it now."""
    from backend.notify.service import notify_station_keepers

    key = "notify.checkin.second" if nudge == 2 else "notify.checkin"
    return int(
        await notify_station_keepers(
            settings,
            station_id,
            kind="checkin",
            title_key=f"{key}.title",
            body_key=f"{key}.body",
            params={"week": window.week_monday.isoformat()},
            url=CHECKIN_URL,
            dedupe_key=checkin_dedupe_key(station_id, window.week_monday, nudge),
        )
        or 0
    )


async def send_checkin_reminders(
    settings: Settings, now: datetime.datetime | None = None
) -> dict[str, int]:
    """Remind every county that is due now; returns how many counties, stations and keepers."""
    now = now or clock.utcnow()
    counts = {"counties_due": 0, "stations_missing": 0, "keepers_notified": 0}

    async def remind_county(county: CountySchedule) -> None:
        window = reminder_window(
            county.timezone, county.checkin_reminder_weekday, county.checkin_reminder_hour, now
        )
        nudge = window.nudge_due(now)
        if not nudge:
            return
        counts["counties_due"] += 1
        missing = await stations_missing_checkin(county.id, window.week_monday)
        counts["stations_missing"] += len(missing)
        notified = await bounded_map(
            partial(remind_station, settings, window=window, nudge=nudge), missing
        )
        counts["keepers_notified"] += sum(notified)

    return await each_county(await registry.county_schedules(), remind_county, counts)
