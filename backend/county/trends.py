"""The dashboard's trend charts: parcels in and out, online retail, and check-in compliance, week
by week."""

from __future__ import annotations

import datetime
import uuid

from backend.county.definitions import add_to_figures, empty_figures
from backend.county.store.rollup_rows import DayLine
from backend.ledger.service import week_start
from backend.web.charts import Chart, bar_chart, line_chart
from backend.web.format import Formatter


def trends(
    fmt: Formatter,
    first_week: datetime.date,
    week_count: int,
    daily: list[DayLine],
    checkins: list[tuple[uuid.UUID, datetime.date]],
    station_count: int,
) -> list[Chart]:
    weeks = [first_week + datetime.timedelta(weeks=n) for n in range(week_count)]
    index = {week: n for n, week in enumerate(weeks)}
    parcels_in, parcels_out = [0.0] * week_count, [0.0] * week_count
    retail, farm = [0.0] * week_count, [0.0] * week_count
    for line in daily:
        slot = index.get(week_start(line.day))
        if slot is None:
            continue
        if line.kind == "parcel_received":
            parcels_in[slot] += line.count
        elif line.kind == "parcel_dispatched":
            parcels_out[slot] += line.count
        # The retail figures as they are defined for every page, a line at a time.
        figures = empty_figures()
        add_to_figures(figures, line)
        if figures["retail_fen"]:
            retail[slot] += figures["retail_fen"] / 100
        if figures["farm_retail_fen"]:
            farm[slot] += figures["farm_retail_fen"] / 100
    checked: list[set[uuid.UUID]] = [set() for _ in weeks]
    for station, day in checkins:
        slot = index.get(week_start(day))
        if slot is not None:
            checked[slot].add(station)
    compliance = [
        round(len(stations) * 100.0 / station_count, 1) if station_count else 0.0
        for stations in checked
    ]
    labels = [week.strftime("%m-%d") for week in weeks]
    yuan = fmt.t("county_page.unit.yuan_short")
    return [
        bar_chart(
            fmt.t("county_page.chart.parcels"),
            fmt.t("county_page.unit.parcels_short"),
            labels,
            [
                (fmt.t("county_page.kind.parcel_received"), parcels_in),
                (fmt.t("county_page.kind.parcel_dispatched"), parcels_out),
            ],
        ),
        bar_chart(
            fmt.t("county_page.chart.retail"),
            yuan,
            labels,
            [(fmt.t("county_page.retail"), retail), (fmt.t("county_page.farm_retail"), farm)],
            tick_format=lambda value: f"{value:,.0f}",
        ),
        line_chart(
            fmt.t("county_page.chart.checkins"),
            "%",
            labels,
            fmt.t("county_page.checkin_rate"),
            compliance,
            top=100,
        ),
    ]
