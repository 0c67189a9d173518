"""Every station of a county at a glance (the stations page, a township's page): its last
activity, its last 7 and 30 days, this week's check-in, its shelf, and why it needs attention."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from backend.county import service
from backend.county.definitions import CHECKIN_KIND
from backend.county.figures import NOT_ACTIVITY, reading
from backend.county.store import ledger_reads, places, rollup_rows
from backend.ledger.service import week_start

INACTIVE_DAYS = 14
MANY_OVERDUE = 5


async def stations_overview(
    county_id: uuid.UUID,
    today: datetime.date | None = None,
    township_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Every station of the county with its last activity, its last 7 and 30 days, this week's
    check-in, its shelf, and why it needs attention."""
    county = await service.county_row(county_id)
    today = today or county.today()
    window = today - datetime.timedelta(days=29)
    seven = today - datetime.timedelta(days=6)
    monday = week_start(today)
    async with reading(county_id):
        stations = [
            station
            for station in await places.stations(county_id, by_township=True)
            if township_id is None or station.township_id == township_id
        ]
        # Summed per station in the database: a month of a county's rows is ~100,000 (a
        # township's page reads its own stations' alone).
        activity = {
            line.station: line
            for line in await rollup_rows.station_activity(
                county_id,
                (window, seven, monday, today),
                CHECKIN_KIND,
                NOT_ACTIVITY,
                None if township_id is None else [station.id for station in stations],
            )
        }
        shelf = await ledger_reads.shelf_counts(
            county_id, today - datetime.timedelta(days=county.parcel_return_days)
        )
        quiet = [
            station.id
            for station in stations
            if getattr(activity.get(station.id), "last_day", None) is None
        ]
        older = await rollup_rows.last_days_before(quiet, window, NOT_ACTIVITY)
    overview = []
    for station in stations:
        item = _overview_item(station, activity.get(station.id))
        item["last_activity"] = item["last_activity"] or older.get(station.id)
        item["parcels_on_shelf"], item["parcels_overdue"] = shelf.get(station.id, (0, 0))
        item["needs_attention"] = _needs_attention(item, today)
        overview.append(item)
    return overview


_SUMS = ("count_7d", "amount_7d_fen", "fee_7d_fen", "count_30d", "amount_30d_fen", "fee_30d_fen")


def _overview_item(
    station: places.StationRow, activity: rollup_rows.StationActivity | None
) -> dict[str, Any]:
    return {
        "station_id": station.id,
        "name": station.name,
        "code": station.code,
        "township_id": station.township_id,
        "township": station.township,
        "village": station.village,
        "poor_village": station.poor_village,
        "closed": station.closed,
        "last_activity": activity.last_day if activity else None,
        "checked_in_this_week": bool(activity and activity.checked_in),
        **{key: getattr(activity, key) if activity else 0 for key in _SUMS},
    }


def _needs_attention(item: dict[str, Any], today: datetime.date) -> list[str]:
    if item["closed"]:
        return []
    reasons = []
    if not item["checked_in_this_week"]:
        reasons.append("no_checkin")
    last = item["last_activity"]
    if last is None or (today - last).days >= INACTIVE_DAYS:
        reasons.append("inactive_14_days")
    if item["parcels_overdue"] >= MANY_OVERDUE:
        reasons.append("many_overdue")
    return reasons
