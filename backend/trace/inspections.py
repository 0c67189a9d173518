"""A household's produce inspections (检验检测) and what they cost it: 岳普湖 (seed 003, (8))
withdraws the 上行 logistics subsidy from those whose products fail inspection again and again
(「对产品检测检验长期不合格者…取消申请农产品上行物流补贴申请资格」).

The rule here, a county setting (`subsidy_withdraw_after_failures` on the registry's county, 2 by
default, as before it was a setting; 0 turns it off): a household whose last N inspections up to
a day all failed has no claim to the subsidy on that day; one passed inspection gives it back. An
inspection's day is its batch's harvest day, else the county-local day the batch was recorded.
Every failed batch marks its household on the registry (`failed_batches`), whatever the rule.
"""

from __future__ import annotations

import bisect
import datetime
import uuid
import zoneinfo
from collections import defaultdict

from backend import db
from backend.registry import store as registry_store
from backend.trace import store


class SubsidyWithdrawals:
    """Per household code, the days from which its subsidy is withdrawn or given back."""

    def __init__(self, changes: dict[str, list[tuple[datetime.date, bool]]]):
        self._days = {code: [day for day, _ in marks] for code, marks in changes.items()}
        self._withdrawn = {code: [flag for _, flag in marks] for code, marks in changes.items()}

    @property
    def codes(self) -> frozenset[str]:
        """The households whose subsidy is withdrawn on some day."""
        return frozenset(self._days)

    def withdrawn(self, household_code: str | None, day: datetime.date | None) -> bool:
        if not household_code or day is None or household_code not in self._days:
            return False
        at = bisect.bisect_right(self._days[household_code], day) - 1
        return at >= 0 and self._withdrawn[household_code][at]


async def subsidy_withdrawals(county_id: uuid.UUID, timezone: str) -> SubsidyWithdrawals:
    """The county's withdrawals under its rule now (none when the rule is off)."""
    zone = zoneinfo.ZoneInfo(timezone)
    async with db.read_transaction():
        county = await registry_store.county(county_id)
        failures = county.subsidy_withdraw_after_failures if county else 0
        rows = await store.inspections(county_id) if failures > 0 else []
    history: dict[uuid.UUID, list[tuple[datetime.date, datetime.datetime, bool]]] = defaultdict(
        list
    )
    for row in rows:
        day = row.day or row.created_at.astimezone(zone).date()
        history[row.household].append((day, row.created_at, row.result == "failed"))
    changes: dict[str, list[tuple[datetime.date, bool]]] = {}
    for household_id, inspected in history.items():
        marks = _marks(sorted(inspected), failures)
        if not any(withdrawn for _, withdrawn in marks):
            continue  # never withdrawn: no need to know its code
        async with db.read_transaction():
            household = await registry_store.household(household_id)
        if household is not None:
            changes[household.code] = marks
    return SubsidyWithdrawals(changes)


def _marks(
    inspected: list[tuple[datetime.date, datetime.datetime, bool]], failures_needed: int
) -> list[tuple[datetime.date, bool]]:
    """After each inspection day: is the subsidy withdrawn (the last N all failed)?"""
    marks: list[tuple[datetime.date, bool]] = []
    failures = 0
    for day, _, failed in inspected:
        failures = failures + 1 if failed else 0
        withdrawn = failures >= failures_needed
        if marks and marks[-1][0] == day:
            marks[-1] = (day, withdrawn)
        else:
            marks.append((day, withdrawn))
    return marks


async def failed_batches(
    county_id: uuid.UUID, household_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[str, datetime.date]]]:
    """Per household (of these), its batches that failed inspection: (code, day), oldest first;
    the day is the batch's harvest day, else the county-local day it was recorded. The registry
    shows them on the household (app.py hands this down as `failed_batches_of`)."""
    if not household_ids:
        return {}
    async with db.read_transaction():
        county = await registry_store.county(county_id)
        rows = await store.failed_batches(county_id, household_ids)
    zone = zoneinfo.ZoneInfo(county.timezone if county else "Asia/Shanghai")
    found: dict[uuid.UUID, list[tuple[str, datetime.date]]] = defaultdict(list)
    for row in rows:
        found[row.household].append((row.code, row.day or row.created_at.astimezone(zone).date()))
    return {
        household: sorted(marks, key=lambda m: (m[1], m[0])) for household, marks in found.items()
    }
