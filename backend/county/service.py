"""The county's days and months: county-local days, calendar months, the same day a year before,
and the ranges the API accepts. The figures themselves are `figures.py`'s.

    county_today(county_id) -> date
    page_month("YYYY-MM" | None, today) -> first day; none is this month; anything else a problem
"""

from __future__ import annotations

import datetime
import uuid

from backend import db
from backend.county.calendar_months import next_month
from backend.county.store import places
from backend.errors import DomainError
from backend.params import parse_month

MAX_RANGE_DAYS = 366
MONTHS_SHOWN = 12


async def county_row(county_id: uuid.UUID) -> places.CountyRow:
    async with db.read_transaction():
        return await places.county(county_id)


async def county_today(county_id: uuid.UUID) -> datetime.date:
    return (await county_row(county_id)).today()


def check_range(start: datetime.date, end: datetime.date) -> None:
    if end < start:
        raise DomainError("county_range_reversed", status=400, field="to")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise DomainError("county_range_too_long", status=400, field="to", max=MAX_RANGE_DAYS)


def page_month(value: str | None, today: datetime.date) -> datetime.date:
    """`YYYY-MM` → its first day; none → this month. A month that cannot be read (a hand-typed
    address: 2026-13, 9999-12) is refused as the API refuses it, a localized problem the pages show
    as their error page: it was shown this month's figures instead, under the month asked for's
    address, with nothing said."""
    if not value:
        return month_start(today)
    return parse_month(value)[0]


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def previous_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def month_end(first: datetime.date) -> datetime.date:
    return next_month(first) - datetime.timedelta(days=1)


def recent_months(today: datetime.date) -> list[datetime.date]:
    """This month and the eleven before it, newest first (the pages' month choices)."""
    months, month = [], month_start(today)
    for _ in range(MONTHS_SHOWN):
        months.append(month)
        month = previous_month(month)
    return months


def year_before(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
