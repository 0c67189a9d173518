"""What the county staff pages show: figures read from the ledger's projections, shaped for the
templates (no HTTP here). Money stays integer fen until `Formatter` writes it as 元.

Every read of one page runs inside one read transaction: on SQLite that is one connection for the
page instead of one per query.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
import time
import uuid
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgspec
from markupsafe import Markup

from backend import clock, db
from backend.accounts import schemas as accounts_schemas
from backend.accounts import service as accounts
from backend.county import service as county_service
from backend.errors import DomainError, problem_document
from backend.i18n import translate
from backend.ledger import service as ledger_service
from backend.ledger.service import week_start
from backend.privacy import mask_phone
from backend.registry import schemas as registry_schemas
from backend.registry import service as registry

# The same thresholds as county-data's stations_overview (and its API): parcels past the return
# deadline, and days without an entry, that make a station need attention.
MANY_OVERDUE = county_service.MANY_OVERDUE
IDLE_DAYS = county_service.INACTIVE_DAYS
TREND_WEEKS = 8
MONTHS_SHOWN = 12

# What a kind of the ledger's cashbook is called on the pages, and its unit.
ACTIVITY_KINDS: list[tuple[str, str]] = [
    ("parcel_received", "parcels"),
    ("parcel_picked_up", "parcels"),
    ("parcel_returned", "parcels"),
    ("parcel_dispatched", "parcels"),
    ("purchase_ordered", "entries"),
    ("purchase_delivered", "entries"),
    ("sale_recorded", "entries"),
    ("service", "entries"),
    ("checkin_recorded", "checkins"),
]


def activity_kind(cashbook_kind: str) -> str:
    """The cashbook keeps one kind per service (service_phone_topup…); pages sum them."""
    return "service" if cashbook_kind.startswith("service_") else cashbook_kind


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def previous_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def parse_month(value: str | None, today: datetime.date) -> datetime.date:
    """`YYYY-MM` → its first day; anything else is this month (a page never fails on it)."""
    if value:
        try:
            year, month = value.split("-")
            chosen = datetime.date(int(year), int(month), 1)
            if 2000 <= chosen.year <= today.year + 1:
                return chosen
        except ValueError:
            pass
    return month_start(today)


def same_day_last_year(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# The county -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyFacts:
    id: uuid.UUID
    name: str
    timezone: zoneinfo.ZoneInfo
    today: datetime.date
    parcel_return_days: int
    target_township_pct: int
    target_village_pct: int
    target_poor_village_pct: int

    @property
    def week_start(self) -> datetime.date:
        return week_start(self.today)


async def county_facts(county_id: uuid.UUID) -> CountyFacts:
    rows = await db.fetch(
        "SELECT id, name, timezone, parcel_return_days, target_township_pct, "
        "target_village_pct, target_poor_village_pct FROM registry_county WHERE id = $1",
        county_id,
    )
    if not rows:
        raise DomainError("not_found", status=404)
    row = rows[0]
    zone = zoneinfo.ZoneInfo(row["timezone"])
    return CountyFacts(
        id=db.as_uuid(row["id"]),
        name=row["name"],
        timezone=zone,
        today=clock.utcnow().astimezone(zone).date(),
        parcel_return_days=row["parcel_return_days"],
        target_township_pct=row["target_township_pct"],
        target_village_pct=row["target_village_pct"],
        target_poor_village_pct=row["target_poor_village_pct"],
    )


async def first_county_id() -> uuid.UUID | None:
    """For an administrator without a county of their own: the first county by name."""
    async with db.read_transaction():
        rows = await db.fetch("SELECT id FROM registry_county ORDER BY name LIMIT 1")
    return db.as_uuid(rows[0]["id"]) if rows else None


@dataclass
class StationRow:
    id: uuid.UUID
    code: str
    name: str
    township_id: uuid.UUID
    township: str
    village: str
    poor_village: bool
    closed: bool
    figures: dict[str, int] = field(default_factory=dict)
    last_checkin: datetime.date | None = None
    checked_in_this_week: bool = False
    last_active: datetime.date | None = None
    on_shelf: int = 0
    overdue: int = 0


async def stations(county_id: uuid.UUID, include_closed: bool = False) -> list[StationRow]:
    sql = (
        "SELECT s.id, s.code, s.name, s.township, t.name AS township_name, v.name AS village_name, "
        "v.poor, s.closed_at FROM registry_station s "
        "JOIN registry_township t ON t.id = s.township JOIN registry_village v ON v.id = s.village "
        "WHERE s.county = $1"
    )
    if not include_closed:
        sql += " AND s.closed_at IS NULL"
    rows = await db.fetch(sql + " ORDER BY s.code", county_id)
    return [
        StationRow(
            id=db.as_uuid(row["id"]),
            code=row["code"],
            name=row["name"],
            township_id=db.as_uuid(row["township"]),
            township=row["township_name"],
            village=row["village_name"],
            poor_village=bool(row["poor"]),
            closed=row["closed_at"] is not None,
        )
        for row in rows
    ]


# County figures per day and kind: the rollups kept by county-data (county_rollup_total, one row
# per county, day and kind: fast) for the days they are complete, the ledger's cashbook (per
# station, day and kind; reversals already subtracted; always current) for the days since their
# last refresh. Before any refresh everything comes from the cashbook.


async def rollup_boundary(facts: CountyFacts) -> datetime.date | None:
    """Days before this one are read from the rollups; None: no rollup yet, read everything live."""
    rows = await db.fetch(
        "SELECT refreshed_at FROM county_rollup_state WHERE county = $1", facts.id
    )
    if not rows or rows[0]["refreshed_at"] is None:
        return None
    return db.as_moment(rows[0]["refreshed_at"]).astimezone(facts.timezone).date()


def _split(
    first: datetime.date, last: datetime.date, boundary: datetime.date | None
) -> tuple[tuple[datetime.date, datetime.date] | None, tuple[datetime.date, datetime.date] | None]:
    """[first, last] as (the rolled-up part, the live part); either may be None."""
    if boundary is None or boundary <= first:
        return None, (first, last)
    if boundary > last:
        return (first, last), None
    return (first, boundary - datetime.timedelta(days=1)), (boundary, last)


async def _day_kind_rows(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    boundary: datetime.date | None,
) -> list[dict[str, Any]]:
    rolled, live = _split(first, last, boundary)
    rows: list[dict[str, Any]] = []
    if rolled:
        rows += await db.fetch(
            "SELECT day, kind, count AS n, amount_fen AS amount, fee_fen AS fee "
            "FROM county_rollup_total WHERE county = $1 AND day >= $2 AND day <= $3",
            county_id,
            *rolled,
        )
    if live:
        rows += await db.fetch(
            "SELECT c.day, c.kind, SUM(c.count) AS n, SUM(c.amount_fen) AS amount, "
            "SUM(c.fee_fen) AS fee FROM ledger_cashbook c JOIN registry_station s "
            "ON s.id = c.station WHERE s.county = $1 AND c.day >= $2 AND c.day <= $3 "
            "GROUP BY c.day, c.kind",
            county_id,
            *live,
        )
    return rows


async def kind_totals(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    boundary: datetime.date | None = None,
) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "amount": 0, "fee": 0})
    for row in await _day_kind_rows(county_id, first, last, boundary):
        line = totals[activity_kind(row["kind"])]
        line["count"] += int(row["n"] or 0)
        line["amount"] += int(row["amount"] or 0)
        line["fee"] += int(row["fee"] or 0)
    return totals


async def daily_kinds(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    boundary: datetime.date | None = None,
) -> list[dict[str, Any]]:
    return await _day_kind_rows(county_id, first, last, boundary)


async def checkin_days(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[tuple[str, datetime.date]]:
    """(station, day) pairs with a check-in that still stands (a reversal brings count to 0)."""
    rows = await db.fetch(
        "SELECT c.station, c.day FROM ledger_cashbook c JOIN registry_station s "
        "ON s.id = c.station WHERE s.county = $1 AND c.kind = 'checkin_recorded' "
        "AND c.count > 0 AND c.day >= $2 AND c.day <= $3",
        county_id,
        first,
        last,
    )
    return [(str(db.as_uuid(row["station"])), db.as_date(row["day"])) for row in rows]


# Past weeks' check-ins change rarely (a late sync, a reversal) but cost the most to read: they are
# kept per process for as long as the rollup job's period; the current week is always read live.
PAST_CHECKINS_TTL_S = 300.0
_past_checkins: dict[tuple, tuple[float, list[tuple[str, datetime.date]]]] = {}


async def checkin_weeks(
    county_id: uuid.UUID, first: datetime.date, today: datetime.date
) -> list[tuple[str, datetime.date]]:
    this_week = week_start(today)
    key = (county_id, first, this_week)
    cached = _past_checkins.get(key)
    if cached and cached[0] > time.monotonic():
        past = cached[1]
    else:
        past = []
        if first < this_week:
            past = await checkin_days(county_id, first, this_week - datetime.timedelta(days=1))
        for stale in [k for k, (until, _) in _past_checkins.items() if until <= time.monotonic()]:
            _past_checkins.pop(stale, None)
        _past_checkins[key] = (time.monotonic() + PAST_CHECKINS_TTL_S, past)
    return past + await checkin_days(county_id, this_week, today)


LAST_CHECKIN_LOOKBACK_DAYS = 120


async def last_checkins(county_id: uuid.UUID, today: datetime.date) -> dict[str, datetime.date]:
    """Each station's last check-in within the lookback (older ones show as none)."""
    rows = await db.fetch(
        "SELECT c.station, MAX(c.day) AS day FROM ledger_cashbook c JOIN registry_station s "
        "ON s.id = c.station WHERE s.county = $1 AND c.kind = 'checkin_recorded' "
        "AND c.count > 0 AND c.day >= $2 GROUP BY c.station",
        county_id,
        today - datetime.timedelta(days=LAST_CHECKIN_LOOKBACK_DAYS),
    )
    return {str(db.as_uuid(row["station"])): db.as_date(row["day"]) for row in rows}


async def last_active_days(county_id: uuid.UUID, since: datetime.date) -> dict[str, datetime.date]:
    """Each station's last day with an entry (check-ins aside), looking back to `since`."""
    rows = await db.fetch(
        "SELECT c.station, MAX(c.day) AS day FROM ledger_cashbook c JOIN registry_station s "
        "ON s.id = c.station WHERE s.county = $1 AND c.kind <> 'checkin_recorded' "
        "AND c.count > 0 AND c.day >= $2 GROUP BY c.station",
        county_id,
        since,
    )
    return {str(db.as_uuid(row["station"])): db.as_date(row["day"]) for row in rows}


async def shelf_counts(facts: CountyFacts) -> tuple[dict[str, int], dict[str, int]]:
    """Parcels waiting per station, and how many of them are past the county's return limit."""
    deadline = facts.today - datetime.timedelta(days=facts.parcel_return_days)
    rows = await db.fetch(
        "SELECT station, COUNT(*) AS n, "
        "SUM(CASE WHEN received_date <= $2 THEN 1 ELSE 0 END) AS overdue "
        "FROM ledger_parcel WHERE county = $1 AND state = 'on_shelf' GROUP BY station",
        facts.id,
        deadline,
    )
    waiting = {str(db.as_uuid(row["station"])): int(row["n"]) for row in rows}
    overdue = {str(db.as_uuid(row["station"])): int(row["overdue"] or 0) for row in rows}
    return waiting, overdue


async def station_kind_totals(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> dict[str, dict[str, int]]:
    """Per station: the count of each kind, the sums of purchases, sales, services, and income."""
    rows = await db.fetch(
        "SELECT c.station, c.kind, SUM(c.count) AS n, SUM(c.amount_fen) AS amount, "
        "SUM(c.fee_fen) AS fee FROM ledger_cashbook c JOIN registry_station s "
        "ON s.id = c.station WHERE s.county = $1 AND c.day >= $2 AND c.day <= $3 "
        "GROUP BY c.station, c.kind",
        county_id,
        first,
        last,
    )
    per_station: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        figures = per_station[str(db.as_uuid(row["station"]))]
        kind = activity_kind(row["kind"])
        figures[kind] += int(row["n"] or 0)
        figures[f"{kind}_amount"] += int(row["amount"] or 0)
        figures["income"] += int(row["fee"] or 0)
    return per_station


# Online retail (网络零售额): what villagers bought (代购) and sold (代销) through the station;
# 农产品网络零售额 is the sales alone (every 代销 is farm produce, DESIGN.md).
RETAIL_KINDS = ("purchase_ordered", "sale_recorded")


def retail_of(totals: dict[str, dict[str, int]]) -> tuple[int, int]:
    retail = sum(totals[kind]["amount"] for kind in RETAIL_KINDS if kind in totals)
    farm = totals["sale_recorded"]["amount"] if "sale_recorded" in totals else 0
    return retail, farm


def growth_pct(now: int, before: int) -> float | None:
    if before <= 0:
        return None
    return round((now - before) * 100.0 / before, 1)


# Charts (inline SVG, geometry computed here, drawn by templates/county/chart.html) ------------


@dataclass
class Chart:
    title: str
    unit: str
    width: int
    height: int
    bars: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    legend: list[dict[str, str]]
    line: str = ""  # an SVG polyline's points, for a series drawn as a line
    dots: list[dict[str, Any]] = field(default_factory=list)


CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 56, 12, 14, 30
SERIES_CLASSES = ("series-a", "series-b")


def nice_ceiling(value: float) -> float:
    """A round top for the axis (1, 2, 5 × 10ⁿ) so that tick labels read well."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    title: str,
    unit: str,
    categories: list[str],
    series: list[tuple[str, list[float]]],
    tick_format=lambda value: f"{value:g}",
    top: float | None = None,
    width: int = 460,
    height: int = 200,
) -> Chart:
    """Grouped bars: one group per category, one bar per series; y axis from 0 with 5 ticks."""
    highest = max((value for _, values in series for value in values), default=0)
    ceiling = top if top is not None else nice_ceiling(highest)
    plot_w = width - CHART_LEFT - CHART_RIGHT
    plot_h = height - CHART_TOP - CHART_BOTTOM
    group_w = plot_w / max(1, len(categories))
    bar_w = group_w * 0.7 / max(1, len(series))
    bars, labels = [], []
    for index, category in enumerate(categories):
        group_x = CHART_LEFT + index * group_w + group_w * 0.15
        for number, (name, values) in enumerate(series):
            value = values[index]
            bar_h = plot_h * min(value, ceiling) / ceiling if ceiling else 0
            bars.append(
                {
                    "x": round(group_x + number * bar_w, 1),
                    "y": round(CHART_TOP + plot_h - bar_h, 1),
                    "w": round(bar_w - 1, 1),
                    "h": round(bar_h, 1),
                    "css": SERIES_CLASSES[number % 2],
                    "tip": f"{category} {name}: {tick_format(value)} {unit}",
                }
            )
        labels.append({"x": round(CHART_LEFT + index * group_w + group_w / 2, 1), "text": category})
    ticks = [
        {
            "y": round(CHART_TOP + plot_h - plot_h * step / 4, 1),
            "text": tick_format(ceiling * step / 4),
        }
        for step in range(5)
    ]
    legend = [{"name": name, "css": SERIES_CLASSES[n % 2]} for n, (name, _) in enumerate(series)]
    return Chart(title, unit, width, height, bars, labels, ticks, legend)


def line_chart(
    title: str, unit: str, categories: list[str], name: str, values: list[float], top: float
) -> Chart:
    """One series as a line with dots (check-in compliance in %, axis 0–top)."""
    chart = bar_chart(title, unit, categories, [(name, [0.0] * len(values))], top=top)
    chart.bars = []
    plot_w = chart.width - CHART_LEFT - CHART_RIGHT
    plot_h = chart.height - CHART_TOP - CHART_BOTTOM
    group_w = plot_w / max(1, len(values))
    points = []
    for index, value in enumerate(values):
        x = round(CHART_LEFT + index * group_w + group_w / 2, 1)
        y = round(CHART_TOP + plot_h - plot_h * min(value, top) / top, 1)
        points.append(f"{x},{y}")
        chart.dots.append({"x": x, "y": y, "tip": f"{categories[index]}: {value:g}{unit}"})
    chart.line = " ".join(points)
    return chart


# Formatting for the templates ------------------------------------------------------------------


class Formatter:
    """Numbers with units (件, 元, %) and county-local dates, in the page's language."""

    def __init__(self, language: str, timezone: zoneinfo.ZoneInfo | None = None):
        self.language = language
        self.timezone = timezone or zoneinfo.ZoneInfo("Asia/Shanghai")

    def t(self, key: str, **params: Any) -> str:
        return translate(key, self.language, **params)

    def yuan(self, fen: int | None) -> str:
        fen = int(fen or 0)
        sign = "-" if fen < 0 else ""
        whole, cents = divmod(abs(fen), 100)
        return self.t("county_page.unit.yuan", n=f"{sign}{whole:,}.{cents:02d}")

    def yuan_number(self, fen: int | None) -> str:
        fen = int(fen or 0)
        sign = "-" if fen < 0 else ""
        whole, cents = divmod(abs(fen), 100)
        return f"{sign}{whole:,}.{cents:02d}"

    def count(self, n: int | None, unit: str = "entries") -> str:
        return self.t(f"county_page.unit.{unit}", n=f"{int(n or 0):,}")

    def pct(self, value: float | None) -> str:
        if value is None:
            return "—"
        return f"{value:g}%"

    def date(self, day: datetime.date | None) -> Markup:
        # Isolated left-to-right, as `moment`: inside Uyghur text a date must not be reordered.
        return Markup('<bdi dir="ltr">{}</bdi>').format(day.isoformat()) if day else Markup("—")

    def moment(self, value: datetime.datetime | None) -> Markup:
        """A UTC moment in the county's local time, to the minute."""
        if value is None:
            return Markup("—")
        text = db.as_moment(value).astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")
        # Isolated left-to-right: in a Uyghur page the date and the time would swap places.
        return Markup('<bdi dir="ltr">{}</bdi>').format(text)

    def phone(self, number: str | None) -> str:
        return mask_phone(number)

    def month(self, day: datetime.date) -> str:
        return day.strftime("%Y-%m")


# Dashboard -------------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> float | None:
    return round(part * 100.0 / whole, 1) if whole else None


async def dashboard(county_id: uuid.UUID, fmt: Formatter) -> dict[str, Any]:
    async with db.read_transaction():
        facts = await county_facts(county_id)
        open_stations = await stations(county_id)
        today, this_week = facts.today, facts.week_start
        trend_start = this_week - datetime.timedelta(weeks=TREND_WEEKS - 1)
        boundary = await rollup_boundary(facts)
        checkins = await checkin_weeks(county_id, trend_start, today)
        week = await kind_totals(county_id, this_week, today, boundary)
        month = await kind_totals(county_id, month_start(today), today, boundary)
        daily = await daily_kinds(county_id, trend_start, today, boundary)
        idle_since = today - datetime.timedelta(days=IDLE_DAYS - 1)
        active = await last_active_days(county_id, idle_since)
        waiting, overdue = await shelf_counts(facts)
    fmt.timezone = facts.timezone
    checked_this_week = {station for station, day in checkins if day >= this_week}
    for station in open_stations:
        key = str(station.id)
        station.checked_in_this_week = key in checked_this_week
        station.last_active = active.get(key)
        station.on_shelf = waiting.get(key, 0)
        station.overdue = overdue.get(key, 0)
    missing = [station for station in open_stations if not station.checked_in_this_week]
    attention = [
        {"station": station, "reasons": reasons}
        for station in open_stations
        if (reasons := _attention_reasons(station, fmt))
    ]
    return {
        "facts": facts,
        "week_start": this_week,
        "stations_total": len(open_stations),
        "checked_in": len(open_stations) - len(missing),
        "checked_in_pct": _percent(len(open_stations) - len(missing), len(open_stations)),
        "missing": missing,
        "activity": _activity_rows(week, month),
        "week_retail": retail_of(week),
        "month_retail": retail_of(month),
        "attention": attention,
        "charts": _trend_charts(
            fmt, trend_start, today, daily, checkins, len(open_stations), this_week
        ),
    }


def _attention_reasons(station: StationRow, fmt: Formatter) -> list[str]:
    reasons = []
    if not station.checked_in_this_week:
        reasons.append(fmt.t("county_page.attention.no_checkin"))
    if station.last_active is None:
        reasons.append(fmt.t("county_page.attention.idle", days=IDLE_DAYS))
    if station.overdue >= MANY_OVERDUE:
        reasons.append(fmt.t("county_page.attention.overdue", n=station.overdue))
    return reasons


def _activity_rows(week: dict, month: dict) -> list[dict[str, Any]]:
    empty = {"count": 0, "amount": 0, "fee": 0}
    return [
        {
            "kind": kind,
            "unit": unit,
            "week": week.get(kind, empty),
            "month": month.get(kind, empty),
        }
        for kind, unit in ACTIVITY_KINDS
    ]


def _trend_charts(
    fmt: Formatter,
    first_week: datetime.date,
    today: datetime.date,
    daily: list[dict[str, Any]],
    checkins: list[tuple[str, datetime.date]],
    station_count: int,
    this_week: datetime.date,
) -> list[Chart]:
    weeks = [first_week + datetime.timedelta(weeks=n) for n in range(TREND_WEEKS)]
    index = {week: n for n, week in enumerate(weeks)}
    parcels_in, parcels_out = [0.0] * TREND_WEEKS, [0.0] * TREND_WEEKS
    retail, farm = [0.0] * TREND_WEEKS, [0.0] * TREND_WEEKS
    for row in daily:
        slot = index.get(week_start(db.as_date(row["day"])))
        if slot is None:
            continue
        kind, count, amount = row["kind"], int(row["n"] or 0), int(row["amount"] or 0)
        if kind == "parcel_received":
            parcels_in[slot] += count
        elif kind == "parcel_dispatched":
            parcels_out[slot] += count
        if kind in RETAIL_KINDS:
            retail[slot] += amount / 100
        if kind == "sale_recorded":
            farm[slot] += amount / 100
    checked: list[set[str]] = [set() for _ in weeks]
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
            [
                (fmt.t("county_page.retail"), retail),
                (fmt.t("county_page.farm_retail"), farm),
            ],
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


# Station list ----------------------------------------------------------------------------------

STATION_SORTS = (
    "code",
    "name",
    "township",
    "parcel_received",
    "parcel_picked_up",
    "parcel_returned",
    "parcel_dispatched",
    "purchase_ordered_amount",
    "sale_recorded_amount",
    "service_amount",
    "income",
    "checkin_recorded",
    "on_shelf",
    "overdue",
    "last_checkin",
)


def _sort_key(name: str):
    def key(station: StationRow):
        if name in ("code", "name", "township"):
            return getattr(station, name)
        if name in ("on_shelf", "overdue"):
            return getattr(station, name)
        if name == "last_checkin":
            return station.last_checkin or datetime.date.min
        return station.figures.get(name, 0)

    return key


async def station_list(
    county_id: uuid.UUID,
    township: str | None,
    month: str | None,
    sort: str | None,
    order: str | None,
) -> dict[str, Any]:
    async with db.read_transaction():
        facts = await county_facts(county_id)
        first = parse_month(month, facts.today)
        last = min(next_month(first) - datetime.timedelta(days=1), facts.today)
        rows = await stations(county_id, include_closed=True)
        figures = await station_kind_totals(county_id, first, last)
        checkins = await last_checkins(county_id, facts.today)
        waiting, overdue = await shelf_counts(facts)
        townships = await db.fetch(
            "SELECT id, name FROM registry_township WHERE county = $1 ORDER BY name", county_id
        )
    if township:
        rows = [row for row in rows if str(row.township_id) == township]
    for row in rows:
        key = str(row.id)
        row.figures = dict(figures.get(key, {}))
        row.last_checkin = checkins.get(key)
        row.checked_in_this_week = bool(row.last_checkin and row.last_checkin >= facts.week_start)
        row.on_shelf = waiting.get(key, 0)
        row.overdue = overdue.get(key, 0)
    sort = sort if sort in STATION_SORTS else "code"
    descending = order == "desc"
    rows.sort(key=_sort_key(sort), reverse=descending)
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        for name, value in row.figures.items():
            totals[name] += value
    return {
        "facts": facts,
        "stations": rows,
        "totals": totals,
        "month": first,
        "period_end": last,
        "months": _month_choices(facts.today),
        "townships": [{"id": str(db.as_uuid(t["id"])), "name": t["name"]} for t in townships],
        "township": township or "",
        "sort": sort,
        "order": "desc" if descending else "asc",
        "many_overdue": MANY_OVERDUE,
    }


def _month_choices(today: datetime.date) -> list[datetime.date]:
    months, month = [], month_start(today)
    for _ in range(MONTHS_SHOWN):
        months.append(month)
        month = previous_month(month)
    return months


# Station page ----------------------------------------------------------------------------------


async def station_page(station_id: uuid.UUID, month: str | None) -> dict[str, Any]:
    async with db.read_transaction():
        station_rows = await db.fetch(
            "SELECT s.id, s.county, s.code, s.name, s.address, s.opened_on, s.closed_at, "
            "s.closed_reason, t.name AS township, v.name AS village, v.poor "
            "FROM registry_station s JOIN registry_township t ON t.id = s.township "
            "JOIN registry_village v ON v.id = s.village WHERE s.id = $1",
            station_id,
        )
        if not station_rows:
            raise DomainError("not_found", status=404)
        station = station_rows[0]
        facts = await county_facts(db.as_uuid(station["county"]))
        first = parse_month(month, facts.today)
        last = next_month(first) - datetime.timedelta(days=1)
        year_start = _month_choices(facts.today)[-1]
        book = await db.fetch(
            "SELECT day, kind, count, amount_fen, fee_fen FROM ledger_cashbook "
            "WHERE station = $1 AND day >= $2 ORDER BY day",
            station_id,
            min(year_start, first),
        )
        checkins = await db.fetch(
            "SELECT e.occurred_at, e.received_at, e.business_date, e.data FROM ledger_event e "
            "LEFT JOIN ledger_reversal r ON r.target = e.id WHERE e.station = $1 "
            "AND e.type = 'checkin.recorded' AND r.target IS NULL "
            "ORDER BY e.seq DESC LIMIT 12",
            station_id,
        )
        deadline = facts.today - datetime.timedelta(days=facts.parcel_return_days)
        shelf = await db.fetch(
            "SELECT tracking_no, carrier, recipient_phone, pickup_code, received_at, "
            "received_date FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf' "
            "ORDER BY received_at LIMIT 200",
            station_id,
        )
        keepers = await db.fetch(
            "SELECT id, name, phone, active FROM accounts_user WHERE station = $1 ORDER BY name",
            station_id,
        )
    days: dict[datetime.date, dict[str, dict[str, int]]] = defaultdict(dict)
    months: dict[datetime.date, dict[str, dict[str, int]]] = defaultdict(dict)
    for row in book:
        day, kind = db.as_date(row["day"]), activity_kind(row["kind"])
        for bucket in ([days[day]] if first <= day <= last else []) + [months[month_start(day)]]:
            line = bucket.setdefault(kind, {"count": 0, "amount": 0, "fee": 0})
            line["count"] += int(row["count"])
            line["amount"] += int(row["amount_fen"])
            line["fee"] += int(row["fee_fen"])
    return {
        "facts": facts,
        "station": station,
        "month": first,
        "months": _month_choices(facts.today),
        "days": [{"day": day, "kinds": days[day]} for day in sorted(days) if _any(days[day])],
        "month_rows": [
            {"month": month, "kinds": months.get(month, {})}
            for month in _active_months(facts.today, months)
        ],
        "month_total": _sum_kinds(list(days.values())),
        "kinds": ACTIVITY_KINDS,
        "checkins": [
            {
                "occurred_at": db.as_moment(row["occurred_at"]),
                "received_at": db.as_moment(row["received_at"]),
                "day": db.as_date(row["business_date"]),
                "note": json.loads(row["data"] or "{}").get("note", ""),
            }
            for row in checkins
        ],
        "checked_in_this_week": bool(
            checkins and db.as_date(checkins[0]["business_date"]) >= facts.week_start
        ),
        "shelf": [
            {
                "tracking_no": row["tracking_no"],
                "carrier": row["carrier"],
                "phone": mask_phone(row["recipient_phone"]),
                "pickup_code": row["pickup_code"],
                "received_at": db.as_moment(row["received_at"]),
                "overdue": db.as_date(row["received_date"]) <= deadline,
            }
            for row in shelf
        ],
        "keepers": [
            {
                "id": db.as_uuid(row["id"]),
                "name": row["name"],
                "phone": mask_phone(row["phone"]),
                "active": row["active"],
            }
            for row in keepers
        ],
    }


def _active_months(today: datetime.date, months: dict) -> list[datetime.date]:
    """The last twelve months, newest first, without the empty ones before the first entry."""
    shown = _month_choices(today)
    while len(shown) > 1 and not _any(months.get(shown[-1], {})):
        shown.pop()
    return shown


def _any(kinds: dict[str, dict[str, int]]) -> bool:
    return any(line["count"] or line["amount"] or line["fee"] for line in kinds.values())


def _sum_kinds(buckets: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for bucket in buckets:
        for kind, line in bucket.items():
            into = total.setdefault(kind, {"count": 0, "amount": 0, "fee": 0})
            for name in ("count", "amount", "fee"):
                into[name] += line[name]
    return total


# Coverage --------------------------------------------------------------------------------------


async def coverage(county_id: uuid.UUID, month: str | None) -> dict[str, Any]:
    async with db.read_transaction():
        facts = await county_facts(county_id)
        townships = await db.fetch(
            "SELECT t.id, t.name, (SELECT COUNT(*) FROM registry_station s WHERE s.township = t.id "
            "AND s.closed_at IS NULL) AS stations FROM registry_township t WHERE t.county = $1 "
            "ORDER BY t.name",
            county_id,
        )
        villages = await db.fetch(
            "SELECT v.township, v.poor, (SELECT COUNT(*) FROM registry_station s "
            "WHERE s.village = v.id AND s.closed_at IS NULL) AS stations "
            "FROM registry_village v WHERE v.county = $1",
            county_id,
        )
        first = parse_month(month, facts.today)
        last = next_month(first) - datetime.timedelta(days=1)
        if first == month_start(facts.today):
            last = facts.today  # this month so far, against the same days last year
        boundary = await rollup_boundary(facts)
        now_totals = await kind_totals(county_id, first, last, boundary)
        before_totals = await kind_totals(
            county_id, same_day_last_year(first), same_day_last_year(last), boundary
        )
    per_township: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for village in villages:
        line = per_township[str(db.as_uuid(village["township"]))]
        covered = int(village["stations"]) > 0
        line["villages"] += 1
        line["villages_covered"] += covered
        line["poor"] += bool(village["poor"])
        line["poor_covered"] += bool(village["poor"]) and covered
    township_rows = [
        {
            "name": row["name"],
            "stations": int(row["stations"]),
            **per_township[str(db.as_uuid(row["id"]))],
        }
        for row in townships
    ]
    covered_townships = sum(1 for row in township_rows if row["stations"] > 0)
    village_total = len(villages)
    village_covered = sum(1 for v in villages if int(v["stations"]) > 0)
    poor_total = sum(1 for v in villages if v["poor"])
    poor_covered = sum(1 for v in villages if v["poor"] and int(v["stations"]) > 0)
    retail_now, farm_now = retail_of(now_totals)
    retail_before, farm_before = retail_of(before_totals)
    return {
        "facts": facts,
        "targets": [
            _target("townships", covered_townships, len(townships), facts.target_township_pct),
            _target("villages", village_covered, village_total, facts.target_village_pct),
            _target("poor_villages", poor_covered, poor_total, facts.target_poor_village_pct),
        ],
        "townships": township_rows,
        "month": first,
        "period_end": last,
        "months": _month_choices(facts.today),
        "figures": [
            _growth("retail", retail_now, retail_before),
            _growth("farm_retail", farm_now, farm_before),
        ],
        "parcels": [
            _count_growth(kind, now_totals, before_totals)
            for kind in ("parcel_received", "parcel_dispatched")
        ],
        "last_year_first": same_day_last_year(first),
        "last_year_last": same_day_last_year(last),
    }


def _target(name: str, covered: int, total: int, target: int) -> dict[str, Any]:
    share = _percent(covered, total)
    return {
        "name": name,
        "covered": covered,
        "total": total,
        "pct": share,
        "target": target,
        "met": share is not None and share >= target,
    }


def _growth(name: str, now: int, before: int) -> dict[str, Any]:
    return {"name": name, "now": now, "before": before, "growth": growth_pct(now, before)}


def _count_growth(kind: str, now: dict, before: dict) -> dict[str, Any]:
    now_count = now[kind]["count"] if kind in now else 0
    before_count = before[kind]["count"] if kind in before else 0
    return {
        "name": kind,
        "now": now_count,
        "before": before_count,
        "growth": growth_pct(now_count, before_count),
    }


# Registry screens: forms described once, validated by the registry's and accounts' own schemas
# and services (their DomainErrors become messages next to the fields). ------------------------


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str = "text"  # text | tel | password | number | date | checkbox | select
    options: str = ""  # which choice list a select offers: townships | villages | stations | ...
    required: bool = False


@dataclass
class FormState:
    """What a form shows: the values typed (kept on error), and an error per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""  # an error that belongs to no field

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message)


def form_values(form: Any, fields: list[FormField]) -> dict[str, Any]:
    """A submitted form as the schema's input: checkboxes as booleans, empty optionals left out."""
    values: dict[str, Any] = {}
    for spec in fields:
        raw = form.get(spec.name)
        if spec.kind == "checkbox":
            values[spec.name] = raw in ("on", "1", "true")
            continue
        text = str(raw).strip() if raw is not None else ""
        if text == "" and not spec.required:
            continue
        values[spec.name] = text
    return values


YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def struct_input(values: dict[str, Any], fields: list[FormField]) -> dict[str, Any]:
    """The typed values as the schema takes them: amounts typed in 元 become integer fen (a value
    that is not an amount is passed on as typed, and the schema refuses it for its field)."""
    converted = dict(values)
    for spec in fields:
        value = values.get(spec.name)
        if spec.kind == "yuan" and isinstance(value, str) and YUAN.match(value):
            converted[spec.name] = int(decimal.Decimal(value) * 100)
    return converted


def fen_as_yuan(fen: int) -> str:
    whole, cents = divmod(int(fen), 100)
    return f"{whole}.{cents:02d}"


_MSGSPEC_FIELD = (re.compile(r"\$\.(\w+)"), re.compile(r"field `(\w+)`"))


def validation_field(message: str) -> str:
    for pattern in _MSGSPEC_FIELD:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return ""


def error_state(exc: Exception, values: dict[str, Any], language: str) -> FormState:
    """A refusal as a form to show again: the message under the field it concerns."""
    state = FormState(values=_shown_values(values))
    if isinstance(exc, msgspec.ValidationError):
        name = validation_field(str(exc))
        document = problem_document("invalid_input", 422, language, field=name or None)
    elif isinstance(exc, DomainError):
        name = exc.field or ""
        document = exc.problem(language)
    else:
        raise exc
    if name:
        state.errors[name] = document["detail"]
    else:
        state.message = document["detail"]
    return state


def _shown_values(values: dict[str, Any]) -> dict[str, Any]:
    """Typed input is kept, except passwords."""
    return {name: value for name, value in values.items() if "password" not in name}


def to_struct(values: dict[str, Any], schema: type) -> Any:
    return msgspec.convert(values, schema, strict=False)


async def choices(county_id: uuid.UUID) -> dict[str, list[dict[str, str]]]:
    """The choice lists of the registry forms (townships, villages, open stations)."""
    async with db.read_transaction():
        townships = await db.fetch(
            "SELECT id, name FROM registry_township WHERE county = $1 ORDER BY name", county_id
        )
        villages = await db.fetch(
            "SELECT v.id, v.name, t.name AS township FROM registry_village v "
            "JOIN registry_township t ON t.id = v.township WHERE v.county = $1 "
            "ORDER BY t.name, v.name",
            county_id,
        )
        open_stations = await db.fetch(
            "SELECT id, code, name FROM registry_station WHERE county = $1 AND closed_at IS NULL "
            "ORDER BY code",
            county_id,
        )
    return {
        "townships": [{"value": str(db.as_uuid(r["id"])), "text": r["name"]} for r in townships],
        "villages": [
            {"value": str(db.as_uuid(r["id"])), "text": f"{r['township']} · {r['name']}"}
            for r in villages
        ],
        "stations": [
            {"value": str(db.as_uuid(r["id"])), "text": f"{r['code']} {r['name']}"}
            for r in open_stations
        ],
        "languages": [{"value": code, "text": name} for code, name in LANGUAGE_NAMES.items()],
    }


LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English", "ug": "ئۇيغۇرچە"}


@dataclass(frozen=True)
class RegistryScreen:
    """One registry screen: its list, its create form and its edit form."""

    name: str  # townships | villages | stations | households | keepers
    columns: list[str]  # catalog keys of the list's headers
    create_fields: list[FormField]
    edit_fields: list[FormField]
    create_schema: type
    update_schema: type
    rows: Any  # async (county_id, fmt, choices) -> [{"id", "cells"}]
    create: Any  # async (actor, county_id, struct)
    update: Any  # async (actor, row_id, struct)
    current: Any  # async (row_id) -> the edit form's values
    create_defaults: dict[str, Any] = field(default_factory=dict)


def ltr(text: str) -> str:
    """A left-to-right isolate (138****5678 would read 5678****138 in a Uyghur page)."""
    return f"\u2066{text}\u2069" if text else text


def _names(options: list[dict[str, str]]) -> dict[str, str]:
    return {option["value"]: option["text"] for option in options}


def _yes(fmt: Formatter, value: bool) -> str:
    return fmt.t("county_page.yes") if value else ""


async def _township_rows(county_id, fmt, lists):
    rows = await registry.list_townships(county_id)
    return [{"id": row.id, "cells": [row.name, row.code]} for row in rows]


async def _village_rows(county_id, fmt, lists):
    townships = _names(lists["townships"])
    rows = await registry.list_villages(county_id)
    return [
        {
            "id": row.id,
            "cells": [townships.get(str(row.township_id), ""), row.name, _yes(fmt, row.poor)],
        }
        for row in sorted(rows, key=lambda r: (townships.get(str(r.township_id), ""), r.name))
    ]


async def _station_rows(county_id, fmt, lists):
    villages = _names(lists["villages"])
    rows = await registry.list_stations(county_id)
    return [
        {
            "id": row.id,
            "cells": [
                row.code,
                row.name,
                villages.get(str(row.village_id), ""),
                fmt.date(row.opened_on),
                fmt.t("county_page.closed") if row.closed_at else fmt.t("county_page.open"),
            ],
        }
        for row in rows
    ]


async def _household_rows(county_id, fmt, lists):
    villages = _names(lists["villages"])
    rows = await registry.list_households(county_id)
    return [
        {
            "id": row.id,
            "cells": [
                row.code,
                row.head_name,
                ltr(row.phone),  # masked by the registry service
                villages.get(str(row.village_id), ""),
                _yes(fmt, row.poverty),
            ],
        }
        for row in rows
    ]


async def _keeper_rows(county_id, fmt, lists):
    stations_by_id = _names(lists["stations"])
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT u.id, u.name, u.phone, u.station, u.active, s.code, s.name AS station_name "
            "FROM accounts_user u LEFT JOIN registry_station s ON s.id = u.station "
            "WHERE u.county = $1 AND u.role = 'keeper' ORDER BY s.code, u.name",
            county_id,
        )
    return [
        {
            "id": db.as_uuid(row["id"]),
            "cells": [
                row["name"],
                ltr(mask_phone(row["phone"])),
                stations_by_id.get(str(db.as_uuid(row["station"])), "")
                or f"{row['code'] or ''} {row['station_name'] or ''}".strip(),
                fmt.t("county_page.open") if row["active"] else fmt.t("county_page.inactive"),
            ],
        }
        for row in rows
    ]


async def _row_values(table: str, columns: list[str], row_id: uuid.UUID) -> dict[str, Any]:
    async with db.read_transaction():
        rows = await db.fetch(
            # Table and column names are constants of this module, never input.
            f"SELECT {', '.join(columns)} FROM {table} WHERE id = $1",
            row_id,
        )
    if not rows:
        raise DomainError("not_found", status=404)
    return {
        name: (str(db.as_uuid(value)) if name.endswith("_id") or name == "station" else value)
        for name, value in rows[0].items()
        if value is not None
    }


async def _township_current(row_id):
    return await _row_values("registry_township", ["name", "code"], row_id)


async def _village_current(row_id):
    return await _row_values("registry_village", ["name", "poor"], row_id)


async def _station_current(row_id):
    values = await _row_values(
        "registry_station",
        ["code", "name", "address", "shelves", "layers", "closed_at", "closed_reason"],
        row_id,
    )
    values["closed"] = values.pop("closed_at", None) is not None
    return values


async def _household_current(row_id):
    values = await _row_values(
        "registry_household",
        ["code", "head_name", "phone", "poverty", "sms_opt_out", "village", "county"],
        row_id,
    )
    values["village_id"] = str(db.as_uuid(values.pop("village")))
    # The household card (一户一码): its QR, printable from the edit page.
    county_id = db.as_uuid(values.pop("county"))
    values["card_url"] = f"/api/v1/counties/{county_id}/households/{row_id}/card.svg"
    # The number is not put back into the form (it would be shown in full): empty keeps it.
    values["phone_masked"] = mask_phone(values.pop("phone", ""))
    return values


async def _keeper_current(row_id):
    values = await _row_values(
        "accounts_user", ["name", "phone", "station", "language", "active", "role"], row_id
    )
    if "station" in values:
        values["station_id"] = values.pop("station")
    values["phone_masked"] = mask_phone(values.pop("phone", ""))
    return values


async def _create_keeper(actor, county_id, data):
    return await accounts.create_user(actor, county_id, data)


async def _update_keeper(actor, row_id, data):
    return await accounts.update_user(actor, row_id, data)


async def _update_household(actor, row_id, data):
    return await registry.update_household(actor, row_id, data)


class Nothing(msgspec.Struct, forbid_unknown_fields=True):
    """A form with no fields (reopening a station)."""


class KeeperCreate(msgspec.Struct, forbid_unknown_fields=True):
    """The keeper form: the accounts schema with the role fixed to keeper."""

    phone: str
    name: str
    password: str
    station_id: uuid.UUID | None = None
    language: str = "zh-CN"


async def _create_keeper_checked(actor, county_id, data: KeeperCreate):
    user = msgspec.convert(
        {**msgspec.structs.asdict(data), "role": "keeper"}, accounts_schemas.UserCreate
    )
    return await _create_keeper(actor, county_id, user)


REGISTRY_SCREENS: dict[str, RegistryScreen] = {
    "townships": RegistryScreen(
        name="townships",
        columns=["field.name", "field.code"],
        create_fields=[FormField("name", required=True), FormField("code")],
        edit_fields=[FormField("name", required=True), FormField("code")],
        create_schema=registry_schemas.TownshipCreate,
        update_schema=registry_schemas.TownshipUpdate,
        rows=_township_rows,
        create=registry.create_township,
        update=registry.update_township,
        current=_township_current,
    ),
    "villages": RegistryScreen(
        name="villages",
        columns=["field.township_id", "field.name", "county_page.poor_village"],
        create_fields=[
            FormField("township_id", "select", "townships", required=True),
            FormField("name", required=True),
            FormField("poor", "checkbox"),
        ],
        edit_fields=[FormField("name", required=True), FormField("poor", "checkbox")],
        create_schema=registry_schemas.VillageCreate,
        update_schema=registry_schemas.VillageUpdate,
        rows=_village_rows,
        create=registry.create_village,
        update=registry.update_village,
        current=_village_current,
    ),
    "stations": RegistryScreen(
        name="stations",
        columns=[
            "field.code",
            "field.name",
            "field.village_id",
            "field.opened_on",
            "county_page.col.state",
        ],
        create_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("name", required=True),
            FormField("code", required=True),
            FormField("address"),
            FormField("opened_on", "date"),
            FormField("shelves", "number"),
            FormField("layers", "number"),
        ],
        edit_fields=[
            FormField("name", required=True),
            FormField("address"),
            FormField("shelves", "number", required=True),
            FormField("layers", "number", required=True),
        ],
        create_schema=registry_schemas.StationCreate,
        update_schema=registry_schemas.StationUpdate,
        rows=_station_rows,
        create=registry.create_station,
        update=registry.update_station,
        current=_station_current,
        create_defaults={"shelves": 6, "layers": 4},
    ),
    "households": RegistryScreen(
        name="households",
        columns=[
            "field.code",
            "field.head_name",
            "field.phone",
            "field.village_id",
            "field.poverty",
        ],
        create_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("code", required=True),
            FormField("head_name"),
            FormField("phone", "tel"),
            FormField("poverty", "checkbox"),
            FormField("sms_opt_out", "checkbox"),
        ],
        edit_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("head_name"),
            FormField("phone", "tel"),
            FormField("poverty", "checkbox"),
            FormField("sms_opt_out", "checkbox"),
        ],
        create_schema=registry_schemas.HouseholdCreate,
        update_schema=registry_schemas.HouseholdUpdate,
        rows=_household_rows,
        create=registry.create_household,
        update=_update_household,
        current=_household_current,
        create_defaults={"poverty": True},
    ),
    "keepers": RegistryScreen(
        name="keepers",
        columns=["field.name", "field.phone", "field.station_id", "county_page.col.state"],
        create_fields=[
            FormField("station_id", "select", "stations", required=True),
            FormField("name", required=True),
            FormField("phone", "tel", required=True),
            FormField("password", "password", required=True),
            FormField("language", "select", "languages"),
        ],
        edit_fields=[
            FormField("name", required=True),
            FormField("station_id", "select", "stations", required=True),
            FormField("language", "select", "languages"),
            FormField("active", "checkbox"),
        ],
        create_schema=KeeperCreate,
        update_schema=accounts_schemas.UserUpdate,
        rows=_keeper_rows,
        create=_create_keeper_checked,
        update=_update_keeper,
        current=_keeper_current,
    ),
}


# Subsidies and upward reports (computed by backend/county/service.py) ------------------------


async def subsidies(county_id: uuid.UUID, month: str | None, station: str | None) -> dict[str, Any]:
    """Every station's claim; the parcels of one chosen station (a county has tens of thousands
    in a month), and every parcel claimed twice, whichever station it is at."""
    async with db.read_transaction():
        facts = await county_facts(county_id)
    first = parse_month(month, facts.today)
    claims = await county_service.subsidy_claims(county_id, first.strftime("%Y-%m"))
    chosen = next((c for c in claims["stations"] if c["code"] == station), None)
    duplicates = [
        {**parcel, "station_code": claim["code"], "station_name": claim["name"]}
        for claim in claims["stations"]
        for parcel in claim["parcels"]
        if parcel["status"] == "duplicate"
    ]
    return {
        "facts": facts,
        "month": first,
        "months": _month_choices(facts.today),
        "rule": claims["rule"],
        "stations": claims["stations"],
        "totals": claims["totals"],
        "chosen": chosen,
        "duplicate_parcels": duplicates,
    }


async def cash_counts(county_id: uuid.UUID, month: str | None) -> dict[str, Any]:
    """日结: each station's end-of-day counts in a month against what its entries expected, and
    the days with cash taken but no count. The same figures as the keeper's cashbook."""
    async with db.read_transaction():
        facts = await county_facts(county_id)
        first = parse_month(month, facts.today)
        last = next_month(first) - datetime.timedelta(days=1)
        stations = await db.fetch(
            "SELECT id, code, name FROM registry_station WHERE county = $1 ORDER BY code",
            county_id,
        )
        ids = [db.as_uuid(row["id"]) for row in stations]
        counted = await ledger_service.latest_cash_counts(ids, first, last)
        book = await db.fetch(
            "SELECT b.station, b.day, b.kind, b.amount_fen, b.fee_fen FROM ledger_cashbook b "
            "JOIN registry_station s ON s.id = b.station "
            "WHERE s.county = $1 AND b.day >= $2 AND b.day <= $3",
            county_id,
            first,
            last,
        )
    lines: dict[tuple[uuid.UUID, datetime.date], list] = defaultdict(list)
    for row in book:
        key = (db.as_uuid(row["station"]), db.as_date(row["day"]))
        lines[key].append((row["kind"], int(row["amount_fen"]), int(row["fee_fen"])))
    names = {db.as_uuid(row["id"]): (row["code"], row["name"]) for row in stations}
    rows = []
    for station_id, day in sorted(set(lines) | set(counted), key=lambda k: (names[k[0]], k[1])):
        cash = ledger_service.cash_count(
            ledger_service.expected_cash(lines.get((station_id, day), [])),
            counted.get((station_id, day)),
        )
        if cash.counted_fen is None and cash.expected_fen == 0:
            continue
        code, name = names[station_id]
        rows.append({"station_id": station_id, "code": code, "name": name, "day": day})
        rows[-1]["cash"] = cash
    off = [r for r in rows if r["cash"].difference_fen]
    return {
        "facts": facts,
        "month": first,
        "months": _month_choices(facts.today),
        "rows": rows,
        "counted_days": sum(1 for r in rows if r["cash"].counted_fen is not None),
        "uncounted_days": sum(1 for r in rows if r["cash"].counted_fen is None),
        "off_days": len(off),
        "off_total_fen": sum(r["cash"].difference_fen for r in off),
    }


async def province_reports(county_id: uuid.UUID) -> dict[str, Any]:
    async with db.read_transaction():
        facts = await county_facts(county_id)
    return {"facts": facts, "reports": await county_service.province_deliveries(county_id)}


# County settings: the programme's targets, the parcel and subsidy rules, the reminder's hour.

SETTINGS_FIELDS = [
    FormField("target_township_pct", "number", required=True),
    FormField("target_village_pct", "number", required=True),
    FormField("target_poor_village_pct", "number", required=True),
    FormField("subsidy_fen_per_parcel", "yuan", required=True),
    FormField("subsidy_monthly_cap_fen", "yuan", required=True),
    FormField("subsidy_farm_only", "checkbox"),
    FormField("parcel_free_days", "number", required=True),
    FormField("parcel_daily_fee_fen", "yuan", required=True),
    FormField("parcel_fee_cap_fen", "yuan", required=True),
    FormField("parcel_return_days", "number", required=True),
    FormField("checkin_reminder_weekday", "select", "weekdays", required=True),
    FormField("checkin_reminder_hour", "number", required=True),
]


async def county_settings_values(county_id: uuid.UUID) -> dict[str, Any]:
    county = await registry.get_county(county_id)
    values: dict[str, Any] = {}
    for spec in SETTINGS_FIELDS:
        value = getattr(county, spec.name)
        values[spec.name] = fen_as_yuan(value) if spec.kind == "yuan" else value
    return values


def weekday_choices(fmt: Formatter) -> list[dict[str, str]]:
    return [{"value": str(n), "text": fmt.t(f"county_page.weekday.{n}")} for n in range(1, 8)]


# Check-ins week by week ------------------------------------------------------------------------


async def checkin_grid(county_id: uuid.UUID, township: str | None) -> dict[str, Any]:
    """Open stations × the last eight weeks: did the station check in that week?"""
    async with db.read_transaction():
        facts = await county_facts(county_id)
        rows = await stations(county_id)
        first = facts.week_start - datetime.timedelta(weeks=TREND_WEEKS - 1)
        pairs = await checkin_weeks(county_id, first, facts.today)
        townships = await db.fetch(
            "SELECT id, name FROM registry_township WHERE county = $1 ORDER BY name", county_id
        )
    weeks = [first + datetime.timedelta(weeks=n) for n in range(TREND_WEEKS)]
    checked: dict[str, set[datetime.date]] = defaultdict(set)
    for station, day in pairs:
        checked[station].add(week_start(day))
    if township:
        rows = [row for row in rows if str(row.township_id) == township]
    grid = [
        {"station": row, "weeks": [week in checked[str(row.id)] for week in weeks]} for row in rows
    ]
    compliance = [
        _percent(sum(1 for line in grid if line["weeks"][n]), len(grid)) for n in range(len(weeks))
    ]
    return {
        "facts": facts,
        "weeks": weeks,
        "grid": grid,
        "compliance": compliance,
        "townships": [{"id": str(db.as_uuid(t["id"])), "name": t["name"]} for t in townships],
        "township": township or "",
    }


# The county's 代发 price table: carriers × weight bands, fees typed in 元 -----------------------

PRICE_BAND_COLUMNS = 6  # the bands in use, and room for one more


def _yuan_to_fen(text: str) -> int | None:
    """元 as typed ("12", "12.5", "12,5" from a Uyghur or Chinese keyboard) to fen; else None."""
    value = text.strip().replace("，", ",").replace("¥", "").replace("￥", "")
    if re.fullmatch(r"\d{1,7},\d{1,2}", value):
        value = value.replace(",", ".")
    if not YUAN.match(value):
        return None
    return int(decimal.Decimal(value) * 100)


def _kg_to_grams(text: str) -> int | None:
    value = text.strip().replace(",", ".")
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3})?", value):
        return None
    grams = int(decimal.Decimal(value) * 1000)
    return grams if 0 < grams <= 200_000 else None


def _grams_as_kg(grams: int) -> str:
    whole, rest = divmod(int(grams), 1000)
    return f"{whole}.{rest:03d}".rstrip("0") if rest else str(whole)


def price_form_values(county_prices: dict[str, list[list[int]]]) -> dict[str, str]:
    """The stored table as the form shows it: one column per weight band used by any carrier
    (the built-in bands while the county has none), a fee cell per carrier and band."""
    from backend.counter.service import DEFAULT_BANDS

    weights = sorted({grams for bands in county_prices.values() for grams, _ in bands})
    weights = (weights or [grams for grams, _ in DEFAULT_BANDS])[:PRICE_BAND_COLUMNS]
    values = {f"band_{i}": _grams_as_kg(grams) for i, grams in enumerate(weights)}
    for carrier, bands in county_prices.items():
        for grams, fee in bands:
            if grams in weights:
                values[f"fee_{carrier}_{weights.index(grams)}"] = fen_as_yuan(fee)
    return values


def price_form_values_typed(form: Any) -> dict[str, str]:
    """The submitted grid as typed (what the form shows again after a refusal)."""
    from backend.counter.service import CARRIERS

    values: dict[str, str] = {}
    for i in range(PRICE_BAND_COLUMNS):
        values[f"band_{i}"] = str(form.get(f"band_{i}") or "").strip()[:20]
        for carrier in CARRIERS:
            values[f"fee_{carrier}_{i}"] = str(form.get(f"fee_{carrier}_{i}") or "").strip()[:20]
    return values


def price_form_input(values: dict[str, str]) -> dict[str, list[list[int]]]:
    """The typed grid as the price table check_prices takes. A fee that is not an amount, or a
    fee in a column without a weight, is refused here, with the cell it concerns. A carrier with
    some fees typed keeps the built-in fee (the grey one) in the cells left empty, so no weight
    falls out of its table."""
    from backend.counter.service import CARRIERS

    greyed = price_placeholders(values)

    weights: list[int | None] = []
    for i in range(PRICE_BAND_COLUMNS):
        text = values[f"band_{i}"]
        grams = _kg_to_grams(text) if text else None
        if text and grams is None:
            raise DomainError("price_weight_format", field=f"band_{i}")
        weights.append(grams)
    prices: dict[str, list[list[int]]] = {}
    for carrier in CARRIERS:
        bands = []
        typed = any(values[f"fee_{carrier}_{i}"] for i in range(PRICE_BAND_COLUMNS))
        for i, grams in enumerate(weights):
            name = f"fee_{carrier}_{i}"
            text = values[name] or (greyed.get(name, "") if typed else "")
            if not text:
                continue
            fee = _yuan_to_fen(text)
            if fee is None:
                raise DomainError("price_fee_format", field=f"fee_{carrier}_{i}")
            if grams is None:
                raise DomainError("price_weight_format", field=f"band_{i}")
            bands.append([grams, fee])
        if bands:
            prices[carrier] = bands
    return prices


def price_placeholders(values: dict[str, str]) -> dict[str, str]:
    """The built-in fee of each cell whose column weight is a built-in band: shown greyed, what a
    carrier left empty is charged."""
    from backend.counter.service import CARRIERS, DEFAULT_BANDS, DEFAULT_PRICES

    shown: dict[str, str] = {}
    for i in range(PRICE_BAND_COLUMNS):
        grams = _kg_to_grams(values.get(f"band_{i}") or "")
        for carrier in CARRIERS:
            for upto, fee in DEFAULT_PRICES.get(carrier, DEFAULT_BANDS):
                if upto == grams:
                    shown[f"fee_{carrier}_{i}"] = fen_as_yuan(fee)
    return shown
