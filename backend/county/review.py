"""What the county's review pages show — the dashboard, the station list, a station — shaped for
the templates from the county's figures (`figures.py`; no HTTP here). Money stays integer fen
until the formatter writes it as 元. Check-ins and coverage are `programme.py`'s.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from backend import db
from backend.county import figures, overview, trends
from backend.county.definitions import (
    NOT_IN_CASHBOOK,
    activity_kind,
    activity_of,
    figures_of,
    income_of,
)
from backend.county.distance import checkin_place
from backend.county.service import (
    month_start,
    next_month,
    page_month,
    recent_months,
)
from backend.county.store import ledger_reads, places, rollup_rows
from backend.errors import DomainError
from backend.ledger.service import week_start
from backend.privacy import mask_phone
from backend.registry import station_file
from backend.web.format import Formatter

# The same thresholds as the overview of the API: parcels past the return deadline, and days
# without an entry, that make a station need attention.
MANY_OVERDUE = overview.MANY_OVERDUE
IDLE_DAYS = overview.INACTIVE_DAYS
TREND_WEEKS = 8
LAST_CHECKIN_LOOKBACK_DAYS = 120

# What a kind of the cashbook is called on the pages, and its unit.
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


@dataclass(frozen=True)
class CountyFacts:
    """The county as a page's header and dates need it."""

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
    """Inside the caller's read transaction."""
    county = await places.county(county_id)
    return CountyFacts(
        id=county.id,
        name=county.name,
        timezone=county.zone,
        today=county.today(),
        parcel_return_days=county.parcel_return_days,
        target_township_pct=county.target_township_pct,
        target_village_pct=county.target_village_pct,
        target_poor_village_pct=county.target_poor_village_pct,
    )


async def facts_of(county_id: uuid.UUID) -> CountyFacts:
    async with db.read_transaction():
        return await county_facts(county_id)


@dataclass
class StationRow:
    """A station as a list shows it: where it is, and its figures."""

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
    village_id: uuid.UUID | None = None


async def station_rows(county_id: uuid.UUID, include_closed: bool) -> list[StationRow]:
    rows = await places.stations(county_id, include_closed=include_closed)
    return [StationRow(**msgspec.structs.asdict(row)) for row in rows]


def percent(part: int, whole: int) -> float | None:
    return round(part * 100.0 / whole, 1) if whole else None


def _between(
    lines: list[rollup_rows.DayLine], first: datetime.date, last: datetime.date
) -> list[rollup_rows.DayLine]:
    return [line for line in lines if first <= line.day <= last]


HEADLINE = ("retail_fen", "farm_retail_fen", "upward_sales_fen", "downward_sales_fen",
            "income_fen", "postage_fen")  # fmt: skip


def _headline(lines: Iterable[rollup_rows.KindLine]) -> dict[str, int]:
    """网络零售额, 农产品网络零售额, 上行, 下行, the station's income and the postage passed on, as
    the figures define them."""
    totals = figures_of(lines)
    return {key: totals[key] for key in HEADLINE}


# Dashboard -------------------------------------------------------------------------------------


async def dashboard(county_id: uuid.UUID, fmt: Formatter) -> dict[str, Any]:
    async with figures.reading(county_id) as county:
        facts = await county_facts(county_id)
        open_stations = await station_rows(county_id, include_closed=False)
        today, this_week = facts.today, facts.week_start
        trend_start = this_week - datetime.timedelta(weeks=TREND_WEEKS - 1)
        checkins = await county.checkin_days(trend_start, today)
        # The trend's eight weeks hold this week and this month.
        daily = await county.days(min(trend_start, month_start(today)), today)
        active = await county.last_entries(today - datetime.timedelta(days=IDLE_DAYS - 1))
        deadline = today - datetime.timedelta(days=facts.parcel_return_days)
        shelf = await ledger_reads.shelf_counts(county_id, deadline)
    fmt.timezone = facts.timezone
    week = _between(daily, this_week, today)
    month = _between(daily, month_start(today), today)
    checked_this_week = {station for station, day in checkins if day >= this_week}
    for station in open_stations:
        station.checked_in_this_week = station.id in checked_this_week
        station.last_active = active.get(station.id)
        station.on_shelf, station.overdue = shelf.get(station.id, (0, 0))
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
        "checked_in_pct": percent(len(open_stations) - len(missing), len(open_stations)),
        "missing": missing,
        "activity": _activity_rows(activity_of(week), activity_of(month)),
        "week_headline": _headline(week),
        "month_headline": _headline(month),
        "attention": attention,
        "charts": trends.trends(
            fmt, trend_start, TREND_WEEKS, _between(daily, trend_start, today), checkins,
            len(open_stations),
        ),
    }  # fmt: skip


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
    empty = {"count": 0, "amount": 0, "fee": 0, "income": 0}
    return [
        {"kind": kind, "unit": unit, "week": week.get(kind, empty), "month": month.get(kind, empty)}
        for kind, unit in ACTIVITY_KINDS
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
        if name in ("code", "name", "township", "on_shelf", "overdue"):
            return getattr(station, name)
        if name == "last_checkin":
            return station.last_checkin or datetime.date.min
        return station.figures.get(name, 0)

    return key


def _station_figures(
    lines: list[rollup_rows.StationSumLine],
) -> dict[uuid.UUID, dict[str, int]]:
    """Per station: the count of each kind, the sums of purchases, sales, services, and income."""
    per_station: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        if line.kind in NOT_IN_CASHBOOK:
            continue
        into = per_station[line.station]
        kind = activity_kind(line.kind)
        into[kind] += line.count
        into[f"{kind}_amount"] += line.amount_fen
        into["income"] += income_of(line.kind, line.fee_fen)
    return per_station


async def station_list(
    county_id: uuid.UUID,
    township: str | None,
    month: str | None,
    sort: str | None,
    order: str | None,
) -> dict[str, Any]:
    async with figures.reading(county_id) as county:
        facts = await county_facts(county_id)
        first = page_month(month, facts.today)
        last = min(next_month(first) - datetime.timedelta(days=1), facts.today)
        rows = await station_rows(county_id, include_closed=True)
        per_station = _station_figures(await county.station_sums(first, last))
        lookback = facts.today - datetime.timedelta(days=LAST_CHECKIN_LOOKBACK_DAYS)
        checkins = await county.last_checkins(lookback)
        deadline = facts.today - datetime.timedelta(days=facts.parcel_return_days)
        shelf = await ledger_reads.shelf_counts(county_id, deadline)
        townships = await places.townships(county_id)
    if township:
        rows = [row for row in rows if str(row.township_id) == township]
    for row in rows:
        row.figures = dict(per_station.get(row.id, {}))
        row.last_checkin = checkins.get(row.id)
        row.checked_in_this_week = bool(row.last_checkin and row.last_checkin >= facts.week_start)
        row.on_shelf, row.overdue = shelf.get(row.id, (0, 0))
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
        "months": recent_months(facts.today),
        "townships": [{"id": str(t.id), "name": t.name} for t in townships],
        "township": township or "",
        "sort": sort,
        "order": "desc" if descending else "asc",
        "many_overdue": MANY_OVERDUE,
    }


# Station page ----------------------------------------------------------------------------------


async def station_page(station_id: uuid.UUID, month: str | None) -> dict[str, Any]:
    async with db.read_transaction():
        county_id = await places.station_county(station_id)
    if county_id is None:
        raise DomainError("not_found", status=404)
    async with figures.reading(county_id) as county:
        station = await places.station_card(station_id)
        facts = await county_facts(county_id)
        first = page_month(month, facts.today)
        last = next_month(first) - datetime.timedelta(days=1)
        since = min(recent_months(facts.today)[-1], first)
        lines = await county.station_days(since, datetime.date.max, station_id)
        checkins = await ledger_reads.recent_checkins(station_id)
        shelf = await ledger_reads.shelf(station_id)
        keepers = await places.keepers(station_id)
    deadline = facts.today - datetime.timedelta(days=facts.parcel_return_days)
    located = await station_file.get_file(station_id)
    here = (located.lat, located.lng)
    days: dict[datetime.date, dict[str, dict[str, int]]] = defaultdict(dict)
    months: dict[datetime.date, dict[str, dict[str, int]]] = defaultdict(dict)
    for line in lines:
        if line.kind in NOT_IN_CASHBOOK:
            continue
        kind = activity_kind(line.kind)
        in_month = [days[line.day]] if first <= line.day <= last else []
        for bucket in [*in_month, months[month_start(line.day)]]:
            into = bucket.setdefault(kind, {"count": 0, "amount": 0, "fee": 0, "income": 0})
            into["count"] += line.count
            into["amount"] += line.amount_fen
            into["fee"] += line.fee_fen
            into["income"] += income_of(line.kind, line.fee_fen)
    return {
        "facts": facts,
        "station": station,
        "month": first,
        "months": recent_months(facts.today),
        "days": [{"day": day, "kinds": days[day]} for day in sorted(days) if _any(days[day])],
        "month_rows": [
            {"month": month, "kinds": months.get(month, {})}
            for month in _active_months(facts.today, months)
        ],
        "month_total": _sum_kinds(list(days.values())),
        "kinds": ACTIVITY_KINDS,
        "checkins": [
            {**msgspec.structs.asdict(c), **checkin_place((c.lat, c.lng), here)} for c in checkins
        ],
        "station_located": None not in here,
        "checked_in_this_week": bool(checkins and checkins[0].day >= facts.week_start),
        "shelf": [
            {
                "tracking_no": parcel.tracking_no,
                "carrier": parcel.carrier,
                "phone": mask_phone(parcel.recipient_phone),
                "pickup_code": parcel.pickup_code,
                "received_at": parcel.received_at,
                "overdue": parcel.received_date <= deadline,
            }
            for parcel in shelf
        ],
        "keepers": [
            {"id": k.id, "name": k.name, "phone": mask_phone(k.phone), "active": k.active}
            for k in keepers
        ],
    }


def _active_months(today: datetime.date, months: dict) -> list[datetime.date]:
    """The last twelve months, newest first, without the empty ones before the first entry."""
    shown = recent_months(today)
    while len(shown) > 1 and not _any(months.get(shown[-1], {})):
        shown.pop()
    return shown


def _any(kinds: dict[str, dict[str, int]]) -> bool:
    return any(line["count"] or line["amount"] or line["fee"] for line in kinds.values())


def _sum_kinds(buckets: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for bucket in buckets:
        for kind, line in bucket.items():
            into = total.setdefault(kind, {"count": 0, "amount": 0, "fee": 0, "income": 0})
            for name in ("count", "amount", "fee", "income"):
                into[name] += line[name]
    return total
