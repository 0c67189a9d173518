"""A text mapped by staff (product_sales.map_text): the county's figures follow the new rule at
once, by recounting only the months of the sales whose text changed sides, or by a rebuild where
that would cost more (tests/test_county_mapped_texts.py compares both with a rebuild)."""

from __future__ import annotations

import dataclasses
import datetime
import uuid

from backend import db
from backend.catalogue.service import NotFarm
from backend.county import rollups, sale_months
from backend.county.store import rollup_households, rollup_months, rollup_rows
from backend.county.store import sale_months as sale_month_rows

# A station-day recounted in Python (as a refresh does) costs ~1.6× one counted by a rebuild's SQL
# (72 s against 46 s for a text sold on every day of a 5 M-entry county: scripts/bench_map_text.py),
# so a mapped text whose months are more than ~60 % of the county's rebuilds it instead.
RECOUNT_COST_OVER_REBUILD = 1.6


async def follow(county_id: uuid.UUID, before: NotFarm) -> int:
    """After staff mapped a text: the county's figures under the new rule at once. Only the texts
    that changed sides (farm produce or not) move any figure, and only on the days of their
    sales: those stations' months are recounted, not the county (a rebuild at 5 M entries is
    most of a minute, too long for a staff member's request). A rule that was already behind
    the rollups (a category changed, waiting for the job) rebuilds the county, as before.
    Returns the (station, day) pairs written."""
    async with rollups.one_refresh_at_a_time(county_id):
        with db.on_primary():
            async with db.read_transaction():
                rule = await rollups.county_rule(county_id)
                state = await rollup_rows.state(county_id)
            if state is None or rollups.rule_changed(state, _with_products(rule, before)):
                return await rollups.rebuild_county(county_id)
            changed = before.texts ^ rule.not_farm.texts
            if not changed:
                return 0  # e.g. a text mapped to a farm product: farm produce as it was
            await sale_months.catch_up(county_id)
            async with db.read_transaction():
                months = await sale_month_rows.months_with_texts(county_id, changed)
                every = await rollup_months.station_month_count(county_id)
            if sum(map(len, months.values())) * RECOUNT_COST_OVER_REBUILD > every:
                # The text is in most of the county's months: cheaper whole.
                return await rollups.rebuild_county(county_id)
            counted = state.counted_through or rule.today()
            due = {station: _days_of(firsts, counted) for station, firsts in months.items()}
            touched_days, pairs = await rollups.recount_days(county_id, rule, counted, {}, due)
            async with db.write_transaction():
                await rollup_rows.serialise(county_id)
                await rollup_rows.write_totals(county_id, touched_days)
                await rollup_households.write_county_months(county_id, touched_days)
                await rollups.save_state(county_id, rule, counted)
            return pairs


def _with_products(rule: rollups.CountyRule, products: NotFarm) -> rollups.CountyRule:
    return dataclasses.replace(rule, not_farm=products)


def _days_of(firsts: set[datetime.date], through: datetime.date) -> set[datetime.date]:
    """Every day of these months up to `through`."""
    days = set()
    for first in firsts:
        day = first
        while day.month == first.month and day <= through:
            days.add(day)
            day += datetime.timedelta(days=1)
    return days
