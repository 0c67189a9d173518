"""月结 on time (县级审核), one definition for the month review page and the scorecard.

- A station's month is submitted (closed) on time when it was by the end of the county's
  `month_close_day` of the month after, county time (the 5th by default).
- Over a year to date, the months judged are those whose deadline has passed by its last day
  (a month still inside its deadline may yet be on time); each station counts for the months it
  was open in (opened on or before the month's end, not closed before the month began).

    deadline(first_of_month, close_day) -> date
    by(moment, deadline, zone) -> bool
    year_to_date(county, first, until) -> {"station_months", "submitted_on_time",
        "closed_on_time", "submitted_pct", "closed_pct"}   (pct None without station-months)
"""

from __future__ import annotations

import datetime
from typing import Any

from backend import db
from backend.county.definitions import share_pct
from backend.county.service import next_month
from backend.county.store import places
from backend.ledger import months as ledger_months


def deadline(first: datetime.date, close_day: int) -> datetime.date:
    return next_month(first).replace(day=close_day)


def by(moment: datetime.datetime | None, day: datetime.date, zone: Any) -> bool:
    """Done by the end of `day`, county time."""
    return moment is not None and moment.astimezone(zone).date() <= day


def _open_in(station: places.BuiltStation, first: datetime.date, last: datetime.date) -> bool:
    opened = station.opened_on is None or station.opened_on <= last
    return opened and (station.closed_on is None or station.closed_on > first)


async def year_to_date(
    county: places.CountyRow, first: datetime.date, until: datetime.date
) -> dict[str, Any]:
    """The station-months of [first, until]'s judged months, and how many of them were submitted
    and closed on time (call outside a transaction: the months are read in their own)."""
    async with db.read_transaction():
        stations = await places.coverage_places(county.id)
    counts = {"station_months": 0, "submitted_on_time": 0, "closed_on_time": 0}
    judged = []
    month = first.replace(day=1)
    while deadline(month, county.month_close_day) < until:
        judged.append(month)
        month = next_month(month)
    reviews = await ledger_months.county_months(county.id, [f"{m:%Y-%m}" for m in judged])
    for month in judged:
        last = next_month(month) - datetime.timedelta(days=1)
        due = deadline(month, county.month_close_day)
        states = {state.station_id: state for state in reviews[f"{month:%Y-%m}"].stations}
        for station in stations.stations:
            if not _open_in(station, month, last) or station.id not in states:
                continue
            state = states[station.id]
            counts["station_months"] += 1
            counts["submitted_on_time"] += by(state.submitted_at, due, county.zone)
            closed = state.state == "closed"
            counts["closed_on_time"] += closed and by(state.closed_at, due, county.zone)
    return {
        **counts,
        "submitted_pct": share_pct(counts["submitted_on_time"], counts["station_months"]),
        "closed_pct": share_pct(counts["closed_on_time"], counts["station_months"]),
    }
