"""How the county stands against the programme, as its pages show it: check-ins week by week,
coverage of townships and villages with this month's figures against last year's, and the
last 12 months' trends."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from typing import Any, TypedDict

from backend.county import figures, standards, targets
from backend.county.definitions import activity_of, figures_of, growth_pct, partly_measured
from backend.county.review import TREND_WEEKS, StationRow, county_facts, percent, station_rows
from backend.county.scorecard import target_unit
from backend.county.service import month_start, next_month, page_month, recent_months, year_before
from backend.county.store import places
from backend.ledger.service import week_start
from backend.registry import standards as registry_standards
from backend.web.charts import Chart, bar_chart
from backend.web.format import Formatter

# Check-ins week by week ------------------------------------------------------------------------


class CheckinLine(TypedDict):
    """A station's line of the check-in grid: did it check in each of the weeks?"""

    station: StationRow
    weeks: list[bool]


async def checkin_grid(county_id: uuid.UUID, township: str | None) -> dict[str, Any]:
    """Open stations × the last eight weeks: did the station check in that week?"""
    async with figures.reading(county_id) as county:
        facts = await county_facts(county_id)
        rows = await station_rows(county_id, include_closed=False)
        first = facts.week_start - datetime.timedelta(weeks=TREND_WEEKS - 1)
        pairs = await county.checkin_days(first, facts.today)
        townships = await places.townships(county_id)
    weeks = [first + datetime.timedelta(weeks=n) for n in range(TREND_WEEKS)]
    checked: dict[uuid.UUID, set[datetime.date]] = defaultdict(set)
    for station, day in pairs:
        checked[station].add(week_start(day))
    if township:
        rows = [row for row in rows if str(row.township_id) == township]
    grid: list[CheckinLine] = [
        {"station": row, "weeks": [week in checked[row.id] for week in weeks]} for row in rows
    ]
    compliance = [
        percent(sum(1 for line in grid if line["weeks"][n]), len(grid)) for n in range(len(weeks))
    ]
    return {
        "facts": facts,
        "weeks": weeks,
        "grid": grid,
        "compliance": compliance,
        "townships": [{"id": str(t.id), "name": t.name} for t in townships],
        "township": township or "",
    }


# Coverage --------------------------------------------------------------------------------------


def page_day(value: str | None, today: datetime.date) -> datetime.date:
    """`YYYY-MM-DD` from 2015 to today → that day; anything else is today (a page never fails
    on it: the date picker shows the day it counted)."""
    try:
        day = datetime.date.fromisoformat(value or "")
    except ValueError:
        return today
    return day if datetime.date(2015, 1, 1) <= day <= today else today


COVERAGE_ROWS = ("townships", "villages", "poor_villages", "poor_townships")


async def coverage(
    county_id: uuid.UUID, month: str | None, on: str | None = None
) -> dict[str, Any]:
    async with figures.reading(county_id) as county:
        facts = await county_facts(county_id)
        first = page_month(month, facts.today)
        last = next_month(first) - datetime.timedelta(days=1)
        if first == month_start(facts.today):
            last = facts.today  # this month so far, against the same days last year
        now_lines = await county.days(first, last)
        before_lines = await county.days(year_before(first), year_before(last))
    day = page_day(on, facts.today)
    covered = await figures.coverage(county_id, day)  # the one definition of coverage
    now, before = figures_of(now_lines), figures_of(before_lines)
    now_kinds, before_kinds = activity_of(now_lines), activity_of(before_lines)
    # The kpis judge the coverage targets on today's coverage: the page's own when it is today's.
    kpis = await figures.month_kpis(
        county_id, f"{first:%Y-%m}", covered=covered if day == facts.today else None
    )
    # Those days a year before only partly in the ledger: no growth against them.
    begins = kpis["year_to_date"]["ledger_begins"]
    partial = partly_measured(year_before(first), year_before(last), begins)
    station_standards = await registry_standards.county_standards(county_id)
    return {
        "standards": standards.standards_rows(station_standards),
        "standards_on": station_standards.on,
        "lacking": station_standards.lacking,
        "scorecard": [
            {**target, "unit": target_unit(target["name"])}
            for target in kpis["targets"]
            if target["name"] in targets.TARGET_NAMES
        ],
        "year_to_date": kpis["year_to_date"],
        "facts": facts,
        "on": day,
        "active_from": covered["active_from"],
        "levels": covered["stations"],
        "targets": [_target(name, covered[name]) for name in COVERAGE_ROWS],
        "poor_villages_without_station": covered["poor_villages_without_station"],
        "townships": covered["by_township"],
        "month": first,
        "period_end": last,
        "months": recent_months(facts.today),
        "figures": [
            _growth("retail", now["retail_fen"], before["retail_fen"], partial),
            _growth("farm_retail", now["farm_retail_fen"], before["farm_retail_fen"], partial),
            _growth("upward", now["upward_sales_fen"], before["upward_sales_fen"], partial),
            _growth("downward", now["downward_sales_fen"], before["downward_sales_fen"], partial),
            _growth("income", now["income_fen"], before["income_fen"], partial),
            _growth("postage", now["postage_fen"], before["postage_fen"], partial),
        ],
        "parcels": [
            _growth(kind, now_kinds[kind]["count"], before_kinds[kind]["count"], partial)
            for kind in ("parcel_received", "parcel_dispatched")
        ],
        "last_year_first": year_before(first),
        "last_year_last": year_before(last),
        "last_year_partial": partial,
        # 惠及脱贫户 as the programme counts it: households (户), their payout, the 交易额
        "poverty": [
            {
                **_growth(
                    "poor_households",
                    await figures.households_served(county_id, first, last),
                    await figures.households_served(
                        county_id, year_before(first), year_before(last)
                    ),
                    partial,
                ),
                "unit": "households",
            },
            {
                **_growth(
                    "poverty_payout",
                    now["poverty_payout_fen"],
                    before["poverty_payout_fen"],
                    partial,
                ),
                "unit": "yuan",
            },
            {
                **_growth(
                    "poverty_amount",
                    now["poverty_amount_fen"],
                    before["poverty_amount_fen"],
                    partial,
                ),
                "unit": "yuan",
            },
        ],
        "poor_village_rows": kpis["year_to_date"]["poor_villages"]["villages"],
    }


def _target(name: str, part: dict[str, Any]) -> dict[str, Any]:
    pct = part["pct"] if part["total"] else None
    return {
        "name": name,
        "covered": part["covered"],
        "total": part["total"],
        "pct": pct,
        "active_covered": part["active_covered"],
        "active_pct": part["active_pct"] if part["total"] else None,
        "target": part["target_pct"],
        "met": part["met"],
    }


def _growth(name: str, now: int, before: int, partial: bool) -> dict[str, Any]:
    growth = None if partial else growth_pct(now, before)
    return {"name": name, "now": now, "before": before, "growth": growth}


# 12-month trends -------------------------------------------------------------------------------

# TREND_KEYS' columns as the page heads them: the label's key and the unit.
TREND_COLUMNS = (
    ("retail_fen", "county_page.retail", "yuan"),
    ("upward_sales_fen", "county_page.upward", "yuan"),
    ("downward_sales_fen", "county_page.downward", "yuan"),
    ("income_fen", "county_page.income", "yuan"),
    ("parcels_in", "county_page.kind.parcel_received", "parcels"),
    ("parcels_out", "county_page.kind.parcel_dispatched", "parcels"),
    ("poverty_payout_fen", "county_page.poverty.poverty_payout", "yuan"),
)


async def trends(county_id: uuid.UUID, month: str | None, fmt: Formatter) -> dict[str, Any]:
    """The month asked (this month by default) and the eleven before it: the kpis' `months`
    (figures.twelve_months) as a table and two bar charts (上行/下行, parcels in/out)."""
    async with figures.reading(county_id):
        facts = await county_facts(county_id)
    last = page_month(month, facts.today)
    months = await figures.twelve_months(county_id, last)
    return {
        "facts": facts,
        "month": last,
        "months_shown": recent_months(facts.today),
        "columns": TREND_COLUMNS,
        "rows": months,
        "charts": _trend_charts(months, fmt),
    }


def _trend_charts(months: list[dict[str, Any]], fmt: Formatter) -> list[Chart]:
    labels = [row["month"][2:] for row in months]  # YY-MM under each bar

    def series(key: str, label: str, scale: float = 1) -> tuple[str, list[float]]:
        return fmt.t(label), [row["figures"][key] / scale for row in months]

    return [
        bar_chart(
            fmt.t("county_page.trends12.chart_sales"),
            fmt.t("county_page.unit.yuan_short"),
            labels,
            [
                series("upward_sales_fen", "county_page.upward", 100),
                series("downward_sales_fen", "county_page.downward", 100),
            ],
            tick_format=lambda value: f"{value:,.0f}",
        ),
        bar_chart(
            fmt.t("county_page.trends12.chart_parcels"),
            fmt.t("county_page.unit.parcels_short"),
            labels,
            [
                series("parcels_in", "county_page.kind.parcel_received"),
                series("parcels_out", "county_page.kind.parcel_dispatched"),
            ],
        ),
    ]
