"""What the county hub worker's page (`/county/hub`, 县级物流配送中心) shows: the county's open
stations to hand parcels to (the village routes), and the legs still open past 48 h (超时未到),
read through the month figures' own read (`service.county_delivery`), so the page, the API and
the workbook count the same late legs."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from backend.delivery import service
from backend.registry import service as registry
from backend.registry.schemas import StationOut

# Legs dispatched this month and in the month before: a parcel open for longer than that is lost,
# not late, and is followed up elsewhere.
LATE_MONTHS = 2


@dataclass(frozen=True)
class LateRow:
    station_id: uuid.UUID
    station: str  # code and name
    tracking_no: str
    package: str | None
    dispatched_at: datetime.datetime
    hours_open: float


async def routes(county_id: uuid.UUID) -> list[StationOut]:
    """The stations the hub may hand parcels to: the county's open ones, by code."""
    stations = await registry.list_stations(county_id, include_closed=False)
    return sorted(stations, key=lambda station: station.code)


def _months(today: datetime.date) -> list[str]:
    first = today.replace(day=1)
    months = [first]
    while len(months) < LATE_MONTHS:
        months.append((months[-1] - datetime.timedelta(days=1)).replace(day=1))
    return [month.strftime("%Y-%m") for month in months]


async def late_legs(county_id: uuid.UUID) -> list[LateRow]:
    """Legs open for more than 48 h, oldest first (at most 200 of each month)."""
    rows: list[LateRow] = []
    for month in _months(await registry.county_today(county_id)):
        figures = await service.county_delivery(county_id, month)
        names = {
            row.station_id: f"{row.station_code} {row.station_name}" for row in figures.stations
        }
        rows.extend(
            LateRow(
                station_id=leg.station_id,
                station=names.get(leg.station_id, ""),
                tracking_no=leg.tracking_no,
                package=leg.package,
                dispatched_at=leg.dispatched_at,
                hours_open=leg.hours_open,
            )
            for leg in figures.late_open_legs
        )
    return sorted(rows, key=lambda row: row.dispatched_at)
