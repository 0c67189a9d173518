"""Which months a change of the catalogue's rule moves (which 代销 are not farm produce: a
product's category, a text mapped to a product). It moves figures only on the days of the sales
whose side it changed, so rollups.follow_catalogue recounts the months of those sales, not the
county, or rebuilds the county where that would cost more (tests/test_county_catalogue_rule.py
compares both with a rebuild). A product added moves none: no sale can name a code the catalogue
did not have."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from backend import db
from backend.catalogue.service import NotFarm
from backend.county import sale_months
from backend.county.store import rollup_months
from backend.county.store import sale_months as sale_month_rows
from backend.county.store.rollup_state import RollupState

# A station-day recounted in Python (as a refresh does) costs ~1.6× one counted by a rebuild's
# SQL (72 s against 46 s for a text sold on every day of a 5 M-entry county:
# scripts/bench_map_text.py), so a change whose months are more than ~60 % of the county's
# rebuilds it instead.
RECOUNT_COST_OVER_REBUILD = 1.6
# What a page's read may do itself, in station-months as a rebuild counts them (~9 ms each at the
# bench county's ~28 entries a station-day: about half a second); more is the rollup job's.
PAGE_WORK = 60


@dataclass(frozen=True)
class Plan:
    """How the county's figures follow a change: the months of these stations recounted, or
    the county rebuilt; and what that costs, in station-months counted by a rebuild."""

    months: dict[uuid.UUID, set[datetime.date]]
    rebuild: bool
    cost: float

    def too_much_for_a_page(self) -> bool:
        return self.cost > PAGE_WORK


def kept(state: RollupState) -> NotFarm | None:
    """The rule the rollups were counted with: kept beside its digest since 2026-12-06; a county
    whose digest is "" had none (every sale farm produce); else not known."""
    if state.products_rule:
        return NotFarm.from_text(state.products_rule)
    if not state.products_hash:
        return NotFarm(codes=frozenset(), texts=frozenset())
    return None


async def plan(county_id: uuid.UUID, before: NotFarm, after: NotFarm) -> Plan:
    """The months of the standing sales whose side the change from `before` to `after` moved,
    per station, or a rebuild where that costs less."""
    texts, codes = before.texts ^ after.texts, before.codes ^ after.codes
    if not texts and not codes:
        return Plan({}, rebuild=False, cost=0)
    await sale_months.catch_up(county_id)
    async with db.read_transaction():
        months = await sale_month_rows.months_with(county_id, texts, codes)
        every = await rollup_months.station_month_count(county_id)
    recount = sum(map(len, months.values())) * RECOUNT_COST_OVER_REBUILD
    if recount > every:
        return Plan({}, rebuild=True, cost=every)
    return Plan(months, rebuild=False, cost=recount)


def days_of(firsts: set[datetime.date], through: datetime.date) -> set[datetime.date]:
    """Every day of these months up to `through`."""
    days = set()
    for first in firsts:
        day = first
        while day.month == first.month and day <= through:
            days.add(day)
            day += datetime.timedelta(days=1)
    return days
