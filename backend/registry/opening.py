"""When a station counts as built (open): the one rule, for coverage (county) and courier reach
(delivery) alike. Days are county-local."""

from __future__ import annotations

import datetime


def built_on(
    opened_on: datetime.date | None, closed_on: datetime.date | None, day: datetime.date
) -> bool:
    """Open on `day`: opened on or before it (no opening day: always was) and not yet closed."""
    opened = opened_on is None or opened_on <= day
    return opened and (closed_on is None or closed_on > day)
