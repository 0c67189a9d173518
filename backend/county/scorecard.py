"""The programme scorecard (考核指标): every target the seeds set for a county, one row each,
grouped as the province inspects them (验收, 绩效评价), for the printed page `/county/scorecard`
and the workbook's sheet 考核指标.

Nothing is counted here: the rows are the kpis' own answer (`figures.month_kpis` with every
target's actual), its `targets` where the county has set one, its `actuals` where it has not.

    rows(kpis) -> [{"name", "group", "unit", "target", "actual", "met", "reason"}]
        unit: yuan | pct | stations | households | parcels | visits | people | scans
        met: True | False, or None when no target is set ("未设目标")
        reason: "no_base" when a growth has nothing a year before to grow from, "partial_base"
        when the ledger holds only part of those days (actual None, shown "—"), else None
    The county's milestones follow the since-start training row, one row each named
    `milestone_<figure>` with `due` (YYYY-MM), `status` (due | met | not_met; met None while
    due) and `progress_pct` (county/milestones.py judges them).

Below the rows, the month's county-to-village delivery (县到村 48 h) as the logistics page and
`GET …/delivery` answer it (`delivery.service.county_delivery`, the one read model): legs,
within 48 h, rate and median hours in total, per carrier and per route, and the legs still open
past 48 h.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.county import figures, milestones, targets
from backend.county.definitions import growth_reason
from backend.county.review import facts_of
from backend.county.service import page_month, recent_months
from backend.delivery import service as delivery

# (group, the names in it) in the order the province reads them; a target name not listed here
# (a later one) still shows, in the last group.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "coverage",
        (
            *targets.COVERAGE_TARGETS,
            "stations_township",
            "stations_village",
            "stations_equipped_pct",
            "stations_signage_pct",
        ),
    ),
    (
        "sales",
        (
            "online_retail_fen",
            "online_retail_growth_pct",
            "upward_sales_fen",
            "upward_sales_growth_pct",
            "downward_sales_fen",
            "downward_sales_growth_pct",
            "farm_parcels_out",
        ),
    ),
    (
        "poverty",
        (
            "poor_households_served",
            "poverty_payout_fen",
            "poverty_payout_growth_pct",
            "poor_village_retail_fen",
            "poor_village_sales_growth_pct",
            "poor_village_upward_sales_fen",
            "poor_village_upward_growth_pct",
            "poor_village_poverty_amount_fen",
            "poor_village_poverty_growth_pct",
        ),
    ),
    (
        "training",
        (
            "training_visits",
            "training_visits_since_start",
            "poor_training_visits",
            "poor_training_share_pct",
            "training_people",
            "training_conversion_pct",
            "training_visits_ecommerce_basics",
            "training_visits_entrepreneurship",
            "poor_village_leaders_pct",
        ),
    ),
    ("trace", ("trace_scans", "trace_points")),
    ("logistics", ("delivery_48h_pct", "courier_station_reach_pct", "courier_township_reach_pct")),
    ("reporting", ("months_submitted_on_time_pct", "months_closed_on_time_pct")),
)


def target_unit(name: str) -> str:
    """How a target's value is written: 元, percent, stations, households, parcels, 人次, 人,
    scans or trace points (the coverage targets are percent)."""
    unit = targets.TARGET_NAMES.get(name, "pct")
    if unit == "count":
        if name.startswith("stations_"):
            return "stations"
        if name == "training_people":
            return "people"
        if "training_visits" in name:
            return "visits"
        if name == "trace_scans":
            return "scans"
        if name == "trace_points":
            return "points"
        return "households" if name.endswith("_households_served") else "parcels"
    return "yuan" if unit == "fen" else unit


def _ordered_names() -> list[tuple[str, str]]:
    listed = [(group, name) for group, names in GROUPS for name in names]
    seen = {name for _, name in listed}
    last_group = GROUPS[-1][0]
    return listed + [(last_group, name) for name in targets.TARGET_NAMES if name not in seen]


def rows(kpis: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target name from the kpis (asked with `every_target`): judged where a target
    is set, the actual alone (met None) where none is."""
    judged = {target["name"]: target for target in kpis["targets"]}
    actuals = kpis["actuals"]
    result = []
    for group, name in _ordered_names():
        row: dict[str, Any] = {"name": name, "group": group, "unit": target_unit(name)}
        if name in judged:
            target = judged[name]
            row.update(target=target["target"], actual=target["actual"], met=target["met"])
        else:
            row.update(target=None, actual=actuals.get(name), met=None)
        row["reason"] = growth_reason(name, row["actual"], kpis["year_to_date"]["base_partial"])
        result.append(row)
        if name == "training_visits_since_start":
            result += [_milestone_row(milestone) for milestone in kpis.get("milestones", [])]
    return result


def _milestone_row(milestone: dict[str, Any]) -> dict[str, Any]:
    """A milestone as a scorecard row of the training group: judged from its due month on."""
    status = milestone["status"]
    return {
        "name": f"milestone_{milestone['figure']}",
        "group": "training",
        "unit": milestones.FIGURES[milestone["figure"]],
        "target": milestone["target"],
        "actual": milestone["actual"],
        "met": None if status == "due" else status == "met",
        "reason": None,
        "due": milestone["due"],
        "status": status,
        "progress_pct": milestone["progress_pct"],
    }


def grouped(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        groups.setdefault(line["group"], []).append(line)
    return [{"name": name, "rows": members} for name, members in groups.items()]


async def scorecard_page(county_id: uuid.UUID, month: str | None) -> dict[str, Any]:
    """The page: the month's year to date judged, grouped; the county, the period, today."""
    facts = await facts_of(county_id)
    first = page_month(month, facts.today)
    kpis = await figures.month_kpis(county_id, f"{first:%Y-%m}", every_target=True)
    lines = rows(kpis)
    month_delivery = await delivery.county_delivery(county_id, f"{first:%Y-%m}")
    return {
        "facts": facts,
        "month": first,
        "months": recent_months(facts.today),
        "period_start": kpis["year_to_date"]["start"],
        "period_end": kpis["year_to_date"]["end"],
        "printed_on": facts.today,
        "groups": grouped(lines),
        "delivery": month_delivery,
        "delivery_routes": [row for row in month_delivery.stations if row.legs],
        # The growth rows compare with the county's baseline where the ledger has no year before.
        "baseline_year": (
            kpis["year_to_date"]["start"].year - 1
            if "baseline" in kpis["year_to_date"]["last_year_source"].values()
            else None
        ),
        "ledger_begins": kpis["year_to_date"]["ledger_begins"],
        "counts": {
            "met": sum(1 for line in lines if line["met"] is True),
            "not_met": sum(1 for line in lines if line["met"] is False),
            "no_target": sum(1 for line in lines if line["met"] is None and "due" not in line),
            "due": sum(1 for line in lines if line.get("status") == "due"),
        },
    }
