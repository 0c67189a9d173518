"""One township as its information officer (乡镇电商信息员) reports it: its coverage, its stations
and what needs attention, the month's and the year's figures of its stations, and the training
held in it. Every number comes from the county's one read model (figures.py, training's year
figures): the township's rows of what the county pages show."""

from __future__ import annotations

import uuid
from typing import Any

from backend import db
from backend.county import figures, overview, service, targets
from backend.county.definitions import figures_of
from backend.county.store import places
from backend.errors import DomainError
from backend.params import parse_month
from backend.registry import store as registry_store
from backend.training import figures as training


def _pct(part: int, whole: int) -> float | None:
    return round(part * 100.0 / whole, 1) if whole else None


async def township_overview(
    county_id: uuid.UUID, township_id: uuid.UUID, month: str | None = None
) -> dict[str, Any]:
    county = await service.county_row(county_id)
    today = county.today()
    first, last = parse_month(month or today.strftime("%Y-%m"))
    until = min(last, today)
    covered = await figures.coverage(county_id)
    (row,) = [t for t in covered["by_township"] if t["id"] == township_id] or [None]
    if row is None:
        raise DomainError("unknown_township", status=404, field="township_id")
    stations = await overview.stations_overview(county_id, today, township_id)
    mine = {item["station_id"] for item in stations}
    # The township's stations' rows only, by their own keys (a county's year is ~60,000).
    month_lines = await figures.station_totals(county_id, first, until, mine)
    year_lines = await figures.station_totals(county_id, first.replace(month=1, day=1), until, mine)
    sessions = (await training.year_figures(county_id, first.year)).sessions
    held = [s for s in sessions if s.township_id == township_id and s.held_on <= until]
    coverage = {
        **{key: row[key] for key in ("township_stations", "village_stations", "villages")},
        "villages_covered": row["villages_covered"],
        "village_coverage_pct": _pct(row["villages_covered"], row["villages"]),
        "poor_villages": row["poor_villages"],
        "poor_villages_covered": row["poor_villages_covered"],
        "poor_village_coverage_pct": _pct(row["poor_villages_covered"], row["poor_villages"]),
        "poor_villages_without_station": [
            v["name"]
            for v in covered["poor_villages_without_station"]
            if v["township"] == row["name"]
        ],
    }
    year_figures = figures_of(line for line in year_lines if line.station in mine)
    training_held = {
        "sessions": len(held),
        "trainee_visits": sum(s.trainee_visits for s in held),
        "poor_trainee_visits": sum(s.poor_trainee_visits for s in held),
    }
    actuals = {
        "stations_village": coverage["village_stations"],
        "village_pct": coverage["village_coverage_pct"],
        "poor_village_pct": coverage["poor_village_coverage_pct"],
        "online_retail_fen": year_figures["retail_fen"],
        "upward_sales_fen": year_figures["upward_sales_fen"],
        "farm_parcels_out": year_figures["farm_parcels_out"],
        "training_visits": training_held["trainee_visits"],
    }
    return {
        "county_id": county_id,
        "township_id": township_id,
        "name": row["name"],
        "poor": row["poor"],
        "month": first.strftime("%Y-%m"),
        "coverage": coverage,
        "stations": stations,
        "checked_in_this_week": sum(1 for s in stations if s["checked_in_this_week"]),
        "needing_attention": sum(1 for s in stations if s["needs_attention"]),
        "month_figures": figures_of(line for line in month_lines if line.station in mine),
        "year_figures": year_figures,
        # 惠及脱贫户 (户): distinct 脱贫户 its stations served, as the kpis count the county's
        "month_households": await figures.households_served(county_id, first, until, mine),
        "year_households": await figures.households_served(
            county_id, first.replace(month=1, day=1), until, mine
        ),
        "training": training_held,
        "targets": await _judged(township_id, actuals),
    }


async def _judged(township_id: uuid.UUID, actuals: dict[str, Any]) -> list[dict[str, Any]]:
    """The county's targets for the township beside the overview's own figure for each: met when
    the figure reaches the target (a percent of nothing, None, meets none)."""
    judged = []
    for row in await targets.township_targets(township_id):
        actual = actuals[row.name]
        judged.append(
            {
                "name": row.name,
                "unit": targets.TOWNSHIP_TARGET_NAMES[row.name],
                "target": targets.target_number(row.target),
                "actual": actual,
                "met": actual is not None and actual >= row.target,
            }
        )
    return judged


async def county_of(township_id: uuid.UUID) -> uuid.UUID:
    """The county a township belongs to (404 problem when there is none)."""
    async with db.read_transaction():
        row = await registry_store.township(township_id)
    if row is None:
        raise DomainError("unknown_township", status=404, field="township_id")
    return row.county_id


async def townships(county_id: uuid.UUID) -> list[places.Place]:
    """The county's townships (the staff's choice of which township to look at)."""
    async with db.read_transaction():
        return await places.townships(county_id)
