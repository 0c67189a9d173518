"""Every station of a county at a glance (the stations page, a township's page): its last
activity, its last 7 and 30 days, this week's check-in, its shelf, and why it needs attention."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from typing import Any

from backend.county import service
from backend.county.definitions import CHECKIN_KIND
from backend.county.figures import NOT_ACTIVITY, reading
from backend.county.store import ledger_reads, places, rollup_rows
from backend.county.store.rollup_rows import StationDayLine
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
    async with reading(county_id) as figures:
        lines = await figures.station_days(min(window, monday), today)
        shelf = await ledger_reads.shelf_counts(
            county_id, today - datetime.timedelta(days=county.parcel_return_days)
        )
        stations = await places.stations(county_id, by_township=True)
        last: dict[uuid.UUID, datetime.date] = {}
        for line in lines:
            if line.kind not in NOT_ACTIVITY and line.day > last.get(line.station, line.day.min):
                last[line.station] = line.day
        quiet = [station.id for station in stations if station.id not in last]
        older = await rollup_rows.last_days_before(quiet, window, NOT_ACTIVITY)
    by_station: dict[uuid.UUID, list[StationDayLine]] = defaultdict(list)
    for line in lines:
        by_station[line.station].append(line)
    overview = []
    for station in stations:
        if township_id is not None and station.township_id != township_id:
            continue
        item = _overview_item(station, by_station[station.id], seven, window, monday)
        item["last_activity"] = last.get(station.id) or older.get(station.id)
        item["parcels_on_shelf"], item["parcels_overdue"] = shelf.get(station.id, (0, 0))
        item["needs_attention"] = _needs_attention(item, today)
        overview.append(item)
    return overview


def _overview_item(station: places.StationRow, lines, seven, window, monday) -> dict[str, Any]:
    item: dict[str, Any] = {
        "station_id": station.id,
        "name": station.name,
        "code": station.code,
        "township_id": station.township_id,
        "township": station.township,
        "village": station.village,
        "poor_village": station.poor_village,
        "closed": station.closed,
        "last_activity": None,
        "checked_in_this_week": False,
        **dict.fromkeys(
            ("count_7d", "amount_7d_fen", "fee_7d_fen", "count_30d", "amount_30d_fen"), 0
        ),
        "fee_30d_fen": 0,
    }
    for line in lines:
        if line.kind == CHECKIN_KIND and line.day >= monday and line.count > 0:
            item["checked_in_this_week"] = True
        if line.kind in NOT_ACTIVITY:
            continue
        for suffix, since in (("7d", seven), ("30d", window)):
            if line.day >= since:
                item[f"count_{suffix}"] += line.count
                item[f"amount_{suffix}_fen"] += line.amount_fen
                item[f"fee_{suffix}_fen"] += line.fee_fen
    return item


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
