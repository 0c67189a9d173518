"""The province report's day body (cunzhan.county-day.v1): what the `province-report` job sends
for each finished day (reporting.py), and the part of it that decides whether a day already sent
has changed (its `figures` and `kinds`), read from the county's rollups like every other figure."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import Any

from backend import db
from backend.county.definitions import (
    PROVINCE_FIGURE_KEYS,
    PROVINCE_KIND_FIGURES,
    figures_of,
    kinds_of,
)
from backend.county.figures import reading
from backend.county.store import places, rollup_rows
from backend.county.store.rollup_rows import DayLine, KindLine
from backend.ledger import months


def _activity(lines: Iterable[KindLine]) -> dict[str, Any]:
    """A day as the province's body carries it (its figures of cunzhan.county-day.v1)."""
    figures = figures_of(lines)
    return {
        "figures": {key: figures[key] for key in PROVINCE_FIGURE_KEYS},
        "kinds": kinds_of(lines, PROVINCE_KIND_FIGURES),
    }


async def days_activity(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> dict[datetime.date, dict[str, Any]]:
    """Per day from `first` to `last`, the day's activity as the province report carries it
    (`figures` and `kinds`), in one read: what decides whether a reported day changed."""
    async with reading(county_id) as figures:
        lines = await figures.days(first, last)
    by_day: dict[datetime.date, list[DayLine]] = {}
    for line in lines:
        by_day.setdefault(line.day, []).append(line)
    days = (first + datetime.timedelta(days=n) for n in range((last - first).days + 1))
    return {day: _activity(by_day.get(day, [])) for day in days}


def adjustment_lines(
    entries: Iterable[months.AdjustmentOut], codes: dict[uuid.UUID, str]
) -> list[dict[str, Any]]:
    """Adjustments as the province report's day body marks them: each entry dated in a closed
    month with its own date and that month, beside the day it counts on."""
    return [
        {
            "station_code": codes.get(entry.station_id, ""),
            "kind": entry.kind,
            "own_date": entry.own_date.isoformat(),
            "month": entry.month,
            "amount_fen": entry.amount_fen,
            "fee_fen": entry.fee_fen,
        }
        for entry in entries
    ]


async def day_figures(county: places.CountyRow, day: datetime.date) -> dict[str, Any]:
    """What the province receives for one day: the county's headline figures and kinds, and
    the adjustments among them (entries dated in a closed month, counted on this day)."""
    async with reading(county.id) as figures:
        lines = await figures.days(day, day)
        active = await rollup_rows.active_station_count(county.id, day)
        stations_open = await places.open_station_count(county.id)
    adjusted = await months.adjustments(county.id, day, day, county.zone)
    codes: dict[uuid.UUID, str] = {}
    if adjusted:
        async with db.read_transaction():
            stations = await places.stations(county.id, include_closed=True)
        codes = {station.id: station.code for station in stations}
    return {
        "schema": "cunzhan.county-day.v1",
        "county_code": county.code,
        "county_name": county.name,
        "day": day.isoformat(),
        "currency": "CNY",
        "money_unit": "fen",
        "stations_open": stations_open,
        "stations_active": active,
        **_activity(lines),
        "adjustments": adjustment_lines(adjusted, codes),
    }
