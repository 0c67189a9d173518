"""The actuals of the county's targets that other capabilities count (delivery's legs and
reach) or that the month close defines: each read through its owner's own definition, for
figures.month_kpis.

    delivery_48h_pct(county_id, first, last) -> float | None
    courier_reach_pct(county_id, first, last) -> {"courier_station_reach_pct", …}
    months_on_time(county, first, until, wanted) -> {"months_submitted_on_time_pct", …}
"""

from __future__ import annotations

import datetime
import uuid

from backend.county import month_close
from backend.county.calendar_months import next_month
from backend.county.definitions import share_pct
from backend.county.store import places
from backend.delivery import reach as delivery_reach
from backend.delivery import service as delivery

# Target name → the reach figure it is judged on (any courier, delivery/reach.py).
COURIER_REACH = {
    "courier_station_reach_pct": "stations_pct",
    "courier_township_reach_pct": "townships_pct",
}


async def courier_reach_pct(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> dict[str, float | None]:
    """快递进村 over [first, last]: the shares of the stations open on `last` and of the
    townships that any courier reached (the delivery capability's own definition)."""
    reach = await delivery_reach.county_reach_any(county_id, first, last)
    return {name: reach[field] for name, field in COURIER_REACH.items()}


async def delivery_48h_pct(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> float | None:
    """县到村 48 h over the months from `first`'s to `last`'s: the delivery capability's own month
    figures (legs by the month they were dispatched in) summed, within_48h of the legs decided
    (closed, or open past 48 h; not those still within their 48 h) in percent."""
    decided = within = 0
    month = first.replace(day=1)
    while month <= last:
        totals = await delivery.county_delivery_totals(county_id, f"{month:%Y-%m}")
        decided += totals.legs - totals.pending
        within += totals.within_48h
        month = next_month(month)
    return share_pct(within, decided)


async def months_on_time(
    county: places.CountyRow, first: datetime.date, until: datetime.date, wanted: set[str]
) -> dict[str, float | None]:
    """月结 on time over the year to date (month_close.py), counted only when asked for."""
    names = ("months_submitted_on_time_pct", "months_closed_on_time_pct")
    if not wanted & set(names):
        return dict.fromkeys(names)
    on_time = await month_close.year_to_date(county, first, until)
    return dict(zip(names, (on_time["submitted_pct"], on_time["closed_pct"]), strict=True))
