"""Calendar months of county-local days: plain date arithmetic, imported by the county's service
and its stores alike (it imports nothing of the county)."""

from __future__ import annotations

import datetime


def next_month(day: datetime.date) -> datetime.date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
