"""The county's figures: one read model for the pages, the API, the workbook, the CSV and the
province report, with one definition of each figure.

Every figure is read from the rollups (per station, county-local day and kind; and their sums per
county and day). `reading(county_id)` first brings the county's rollups up to date — the
station-days whose events arrived since the last refresh, and the days that came due — and then
reads in one transaction: what a page, the API and the workbook show agree at every moment, also
right after a sync. With nothing new that is a handful of reads and no write. (Reading the
not-yet-rolled tail beside the rollups instead would mean recomputing the same station-days on
every read; catching up computes them once, for every reader after.)

Money is integer fen; days are county-local `datetime.date`; ids are `uuid.UUID`. Each figure is
defined once, in definitions.py; a closed station-month's stay frozen (frozen.py).
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypedDict

from backend import db
from backend.county import (
    actuals,
    baseline,
    frozen,
    milestones,
    rollups,
    service,
    standards,
    targets,
)
from backend.county import coverage as definitions_coverage
from backend.county.definitions import (
    CHECKIN_KIND,
    FIGURE_KEYS,
    NOT_IN_CASHBOOK,
    add_to_figures,
    empty_figures,
    figures_of,
    growth_pct,
    growth_reason,
    kinds_of,
    ledger_begins,
    measured_growth,
    partly_measured,
    share_pct,
)
from backend.county.store import places, programme_rows, rollup_households, rollup_rows
from backend.county.store.rollup_rows import (
    OVERDUE_KIND,
    REVERSED_KIND,
    DayLine,
    KindLine,
    MonthKindLine,
    StationDayLine,
    StationSumLine,
)
from backend.errors import DomainError
from backend.ledger import months
from backend.ledger.service import week_start
from backend.params import parse_month
from backend.trace import points as trace_points
from backend.trace import service as trace
from backend.training import figures as training

# Reading ---------------------------------------------------------------------------------------


class CountyFigures:
    """The rollups of one county, up to date, read inside one transaction (see `reading`)."""

    def __init__(self, county_id: uuid.UUID):
        self.county_id = county_id

    async def days(self, first: datetime.date, last: datetime.date) -> list[DayLine]:
        """The county's lines per day and kind."""
        return await rollup_rows.county_days(self.county_id, first, last)

    async def ledger_begins(self, programme_start: datetime.date) -> datetime.date:
        """The first day the county's ledger counts (definitions.ledger_begins): the ledger knows
        nothing of the days before it."""
        return ledger_begins(programme_start, await rollup_rows.first_day(self.county_id))

    async def kind_sums(self, first: datetime.date, last: datetime.date) -> list[KindLine]:
        """The county's lines summed per kind: what `figures_of` and `kinds_of` make of `days`."""
        return await rollup_rows.county_kind_sums(self.county_id, first, last)

    async def month_sums(self, first: datetime.date, last: datetime.date) -> list[MonthKindLine]:
        """The county's lines summed per month and kind."""
        return await rollup_rows.county_month_sums(self.county_id, first, last)

    async def station_days(
        self, first: datetime.date, last: datetime.date, station_id: uuid.UUID | None = None
    ) -> list[StationDayLine]:
        """Per station (or of one station of this county), day and kind."""
        if station_id is None:
            return await rollup_rows.station_days(self.county_id, first, last)
        if await places.station_county(station_id) != self.county_id:
            return []
        return await rollup_rows.one_station_days(station_id, first, last)

    async def station_sums(
        self, first: datetime.date, last: datetime.date, stations: set[uuid.UUID] | None = None
    ) -> list[StationSumLine]:
        """Per station (of `stations` only, when given) and kind."""
        return await rollup_rows.station_sums(self.county_id, first, last, stations)

    async def checkin_days(
        self, first: datetime.date, last: datetime.date
    ) -> list[tuple[uuid.UUID, datetime.date]]:
        """(station, day) pairs with a check-in that still stands."""
        return await rollup_rows.days_of_kind(self.county_id, CHECKIN_KIND, first, last)

    async def last_checkins(self, since: datetime.date) -> dict[uuid.UUID, datetime.date]:
        return await rollup_rows.last_days(self.county_id, since, kinds=(CHECKIN_KIND,))

    async def last_entries(self, since: datetime.date) -> dict[uuid.UUID, datetime.date]:
        """Each station's last day with an entry of its cashbook, check-ins aside."""
        return await rollup_rows.last_days(
            self.county_id, since, except_kinds=(CHECKIN_KIND, *NOT_IN_CASHBOOK)
        )


@asynccontextmanager
async def reading(county_id: uuid.UUID) -> AsyncIterator[CountyFigures]:
    """The county's figures as of now: the rollups brought up to date (`rollups.catch_up`), then
    one read transaction (the catching up writes, so it runs before the transaction opens)."""
    await rollups.catch_up(county_id)
    async with db.read_transaction():
        yield CountyFigures(county_id)


# The API's and the workbook's reads -----------------------------------------------------------


async def county_kpis(
    county_id: uuid.UUID, start: datetime.date, end: datetime.date, programme_start: datetime.date
) -> dict[str, Any]:
    """The county's headline figures over [start, end] and the same days a year before."""
    service.check_range(start, end)
    before_first, before_last = service.year_before(start), service.year_before(end)
    async with reading(county_id) as county:
        lines = await county.kind_sums(start, end)
        before = await county.kind_sums(before_first, before_last)
        begins = await county.ledger_begins(programme_start)
    partial = partly_measured(before_first, before_last, begins)
    figures, last_year = figures_of(lines), figures_of(before)
    return {
        "start": start,
        "end": end,
        "figures": figures,
        "last_year": last_year,
        "growth_pct": {
            key: None if partial else growth_pct(figures[key], last_year[key])
            for key in FIGURE_KEYS
        },
        "kinds": kinds_of(lines),
    }


async def month_kpis(
    county_id: uuid.UUID,
    month: str,
    every_target: bool = False,
    covered: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The month's figures, the year to date and since the programme's start (both through the
    month's end, or through today for this month), and the county's targets judged against the
    year to date, and its milestones (county/milestones.py). `every_target` (the scorecard, the
    workbook) adds `actuals`: the actual of every target name, set or not (the costlier ones are
    otherwise counted only when set). `covered`: `coverage(county_id)` as of today, when the
    caller has it already (the coverage page)."""
    start, end = parse_month(month)
    county = await service.county_row(county_id)
    programme_start = await targets.programme_start(county)
    result = await county_kpis(county_id, start, end, programme_start)
    result["month"] = month
    until = min(end, max(county.today(), start))
    first_of_year = start.replace(month=1, day=1)
    async with reading(county_id) as figures:
        year = figures_of(await figures.kind_sums(first_of_year, until))
        # The same days a year before, of the days this year the ledger counts: in the ledger's
        # first year from its first day (it knows nothing of the days before).
        begins = await figures.ledger_begins(programme_start)
        window = max(first_of_year, begins)
        before_first, before_last = service.year_before(window), service.year_before(until)
        year_before = figures_of(await figures.kind_sums(max(before_first, begins), before_last))
        since = figures_of(await figures.kind_sums(programme_start, until))
        base = await programme_rows.baseline(county_id)
        # 惠及脱贫户 households: the month's (through `until`) and the year's, and the same
        # days a year before (this month's figures compare with all of last year's month); the
        # distinct households are read, not the (station, household) pairs.
        poor_codes = await places.poverty_codes(county_id)
        served = {
            name: len(await rollup_households.codes(county_id, *days) & poor_codes)
            for name, days in {
                "month": (start, until),
                "year": (first_of_year, until),
                "month_before": (service.year_before(start), service.year_before(end)),
                "year_before": (service.year_before(first_of_year), service.year_before(until)),
            }.items()
        }
        poor_villages = await _poor_villages(figures, first_of_year, until, begins)
        chosen = await programme_rows.targets(county_id)
        wanted = {row.name for row in chosen} if not every_target else set(targets.TARGET_NAMES)
        trained = await training.period_training(county_id, first_of_year, until)
        trained_since = await training.visits_between(county_id, programme_start, until)
        scans = await trace.scans_between(county_id, first_of_year, until)
        scans_since = await trace.scans_between(county_id, programme_start, until)
    month_partial = partly_measured(service.year_before(start), service.year_before(end), begins)
    year_partial = partly_measured(before_first, before_last, begins)
    result["poor_households"] = poor_households(
        served["month"], served["month_before"], month_partial
    )
    year_households = poor_households(served["year"], served["year_before"], year_partial)
    # The days a year before the ledger began: the county's baseline of that year stands in.
    year_before, sources = baseline.year_before(
        year_before, base, before_first, before_last, begins
    )
    result["year_to_date"] = {
        "start": first_of_year,
        "end": until,
        "figures": year,
        "last_year": year_before,
        "last_year_source": sources,
        "ledger_begins": begins,
        "base_partial": year_partial,
        "growth_pct": {
            key: growth_pct(year[key], year_before[key])
            if sources.get(key) == "baseline" or not year_partial
            else None
            for key in FIGURE_KEYS
        },
        "poor_villages": poor_villages,
        "poor_households": year_households,
    }
    result["since_start"] = {
        "start": programme_start,
        "end": until,
        "figures": since,
        "trace_scans": scans_since,
    }
    programme = {
        "poor_households_served": year_households["served"],
        "training_visits": trained.visits,
        "training_visits_since_start": trained_since,
        "poor_training_visits": trained.poor_visits,
        # 「培训人数中贫困人口占30%以上」 (seed 000): of the persons, not of the 人次
        "poor_training_share_pct": share_pct(trained.poor_people, trained.people),
        "training_people": trained.people,
        "training_conversion_pct": share_pct(trained.people_converted, trained.people),
        **trained.visits_by_kind,  # training_visits_<kind>
        "poor_village_leaders_pct": share_pct(*trained.leader_villages),
        "trace_scans": scans,
        "trace_points": (await trace_points.trace_points(county_id, until)).points,
        "delivery_48h_pct": (
            await actuals.delivery_48h_pct(county_id, first_of_year, until)
            if "delivery_48h_pct" in wanted
            else None
        ),
        **await actuals.months_on_time(county, first_of_year, until, wanted),
        **await standards.standards_pct(county_id, wanted),
        **(
            await actuals.courier_reach_pct(county_id, first_of_year, until)
            if wanted & set(actuals.COURIER_REACH)
            else dict.fromkeys(actuals.COURIER_REACH)
        ),
    }
    result["months"] = await twelve_months(county_id, start)
    covered = covered or await coverage(county_id)
    result["targets"] = judged_targets(county, chosen, result["year_to_date"], covered, programme)
    if every_target:
        result["actuals"] = target_actuals(result["year_to_date"], covered, programme)
    result["milestones"] = await milestones.judged(county, until, programme_start)
    return result


async def _poor_villages(
    figures: CountyFigures,
    first: datetime.date,
    last: datetime.date,
    ledger_begins: datetime.date,
) -> dict[str, Any]:
    """贫困村: 网络零售额, 农产品上行, 惠及脱贫户交易额 and payout of the stations whose village is
    a 贫困村 (the registry's flag today, the one frozen with a closed station-month; closed
    stations' sales still count), over [first, last] and the same days a year before, with the
    growth (None, its reason NO_BASE, when there is nothing to grow from); the distinct 脱贫户
    those stations served; and per 贫困村 with a station (today's flag), its households served
    and payout over [first, last]."""
    stations = await places.stations(figures.county_id)
    poor = {station.id for station in stations if station.poor_village}
    # Only the 贫困村's stations: the sums below are theirs (frozen.poor_village_sums reads the
    # months on its own when a closed month froze another flag).
    year_sums = await figures.station_sums(first, last, poor)
    now = await frozen.poor_village_sums(figures.county_id, first, last, poor, year_sums)
    before_first, before_last = service.year_before(first), service.year_before(last)
    before = await frozen.poor_village_sums(figures.county_id, before_first, before_last, poor)
    partial = partly_measured(before_first, before_last, ledger_begins)
    growth = {key: measured_growth(now[key], before[key], partial) for key in now}
    served, served_by = await rollup_households.poor_villages_served(figures.county_id, first, last)
    sums: dict[uuid.UUID, list[StationSumLine]] = defaultdict(list)
    for line in year_sums:
        sums[line.station].append(line)
    villages: dict[uuid.UUID, dict[str, Any]] = {}
    for station in stations:
        if not station.poor_village or station.village_id is None:
            continue
        village = villages.setdefault(
            station.village_id,
            {"id": station.village_id, "name": station.village, "township": station.township,
             "stations": 0, "poverty_payout_fen": 0, "poverty_amount_fen": 0},
        )  # fmt: skip
        village["stations"] += 1
        own = figures_of(sums.get(station.id, []))
        village["poverty_payout_fen"] += own["poverty_payout_fen"]
        village["poverty_amount_fen"] += own["poverty_amount_fen"]
    listed = []
    for village in sorted(villages.values(), key=lambda v: (v["township"], v["name"])):
        listed.append({**village, "households_served": served_by.get(village["id"], 0)})
    return {
        "stations": len(poor),
        "figures": now,
        "last_year": before,
        "growth_pct": {key: growth[key][0] for key in now},
        "growth_reason": {key: growth[key][1] for key in now},
        "households_served": served,
        "villages": listed,
    }


async def households_served(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    stations: set[uuid.UUID] | None = None,
) -> int:
    """惠及脱贫户 over [first, last], as the kpis count it: how many distinct 脱贫户 (the
    registry's flag today) these stations (a township's) or the whole county's sold for, bought
    for or sent a parcel for."""
    async with reading(county_id):
        served = await rollup_households.codes(county_id, first, last, stations)
        poor_codes = await places.poverty_codes(county_id)
    return len(served & poor_codes)


def poor_households(served: int, last_year: int, partial: bool = False) -> dict[str, Any]:
    """Households served against the same days a year before, with the growth (None, its reason
    NO_BASE when no household was served then, PARTIAL_BASE when those days were only partly in
    the ledger)."""
    growth, reason = measured_growth(served, last_year, partial)
    return {"served": served, "last_year": last_year, "growth_pct": growth, "growth_reason": reason}


def target_actuals(
    year_to_date: dict[str, Any], covered: dict[str, Any], programme: dict[str, float | None]
) -> dict[str, Any]:
    """What each target name (targets.TARGET_NAMES) is judged on: the year to date (trace scans
    too, by the county-local day of each scan; stations: the 乡级服务站 and 村级服务点 built on
    coverage's day, today); `programme` holds the other actuals counted outside the rollups."""
    figures, growth = year_to_date["figures"], year_to_date["growth_pct"]
    poor = year_to_date["poor_villages"]
    return {
        "stations_township": covered["stations"]["township"]["built"],
        "stations_village": covered["stations"]["village"]["built"],
        "online_retail_fen": figures["retail_fen"],
        "online_retail_growth_pct": growth["retail_fen"],
        "upward_sales_fen": figures["upward_sales_fen"],
        "upward_sales_growth_pct": growth["upward_sales_fen"],
        "downward_sales_fen": figures["downward_sales_fen"],
        "downward_sales_growth_pct": growth["downward_sales_fen"],
        "farm_parcels_out": figures["farm_parcels_out"],
        "poor_village_retail_fen": poor["figures"]["retail_fen"],
        "poor_village_sales_growth_pct": poor["growth_pct"]["retail_fen"],
        "poor_village_upward_sales_fen": poor["figures"]["upward_sales_fen"],
        "poor_village_upward_growth_pct": poor["growth_pct"]["upward_sales_fen"],
        "poor_village_poverty_amount_fen": poor["figures"]["poverty_amount_fen"],
        "poor_village_poverty_growth_pct": poor["growth_pct"]["poverty_amount_fen"],
        "poverty_payout_fen": figures["poverty_payout_fen"],
        "poverty_payout_growth_pct": growth["poverty_payout_fen"],
        **programme,
    }


def judged_targets(
    county: places.CountyRow,
    chosen: Sequence[programme_rows.TargetRow],
    year_to_date: dict[str, Any],
    covered: dict[str, Any],
    programme: dict[str, float | None],
) -> list[dict[str, Any]]:
    """The coverage targets (the registry's county settings) and the targets the county has set,
    each with its actual and whether it is met (a growth with no year before is not met: its
    actual is None and its `reason` "no_base", or "partial_base" when the ledger holds only part
    of the days a year before)."""
    judged: list[dict[str, Any]] = [
        {
            "name": name,
            "target": part["target_pct"],
            "actual": part["pct"],
            "met": part["met"],
            "reason": None,
        }
        for name, part in zip(
            targets.COVERAGE_TARGETS,
            (covered["townships"], covered["villages"], covered["poor_villages"]),
            strict=True,
        )
    ]
    actuals = target_actuals(year_to_date, covered, programme)
    order = list(targets.TARGET_NAMES)
    for row in sorted(chosen, key=lambda row: order.index(row.name) if row.name in order else 99):
        if row.name not in actuals:
            continue
        actual = actuals[row.name]
        target: float | int = int(row.target) if row.target.is_integer() else row.target
        judged.append(
            {
                "name": row.name,
                "target": target,
                "actual": actual,
                "met": actual is not None and actual >= target,
                "reason": growth_reason(row.name, actual, year_to_date["base_partial"]),
            }
        )
    return judged


# 12-month trends: the figures of each month, the month asked and the eleven before it.
TREND_KEYS = (
    "retail_fen",
    "upward_sales_fen",
    "downward_sales_fen",
    "income_fen",
    "parcels_in",
    "parcels_out",
    "poverty_payout_fen",
)
TREND_MONTHS = 12


async def twelve_months(county_id: uuid.UUID, last_month: datetime.date) -> list[dict[str, Any]]:
    """The month starting `last_month` and the eleven before it, oldest first, each with its
    TREND_KEYS figures (defined as everywhere, from the rollups in one read): the kpis' `months`,
    the page /county/trends and the workbook's sheet 近12个月."""
    firsts = [service.month_start(last_month)]
    for _ in range(TREND_MONTHS - 1):
        firsts.insert(0, service.previous_month(firsts[0]))
    end = service.next_month(firsts[-1]) - datetime.timedelta(days=1)
    async with reading(county_id) as county:
        lines = await county.month_sums(firsts[0], end)
    by_month: dict[str, list[MonthKindLine]] = defaultdict(list)
    for line in lines:
        by_month[line.month].append(line)
    months = []
    for first in firsts:
        key = f"{first:%Y-%m}"
        figures = figures_of(by_month.get(key, []))
        months.append({"month": key, "figures": {name: figures[name] for name in TREND_KEYS}})
    return months


async def daily_totals(
    county_id: uuid.UUID, start: datetime.date, end: datetime.date
) -> list[dict[str, Any]]:
    """Every day of the range with the county's figures (zeros on quiet days), for charts."""
    service.check_range(start, end)
    async with reading(county_id) as county:
        lines = await county.days(start, end)
    per_day: dict[datetime.date, dict[str, int]] = {}
    for line in lines:
        add_to_figures(per_day.setdefault(line.day, empty_figures()), line)
    days = []
    day = start
    while day <= end:
        days.append({"day": day, "figures": per_day.get(day, empty_figures())})
        day += datetime.timedelta(days=1)
    return days


async def station_days(
    county_id: uuid.UUID,
    start: datetime.date,
    end: datetime.date,
    station_id: uuid.UUID | None = None,
) -> list[StationDayLine]:
    """Rollup lines per station, day and kind (stations of this county only)."""
    service.check_range(start, end)
    async with reading(county_id) as county:
        return await county.station_days(start, end, station_id)


async def station_totals(
    county_id: uuid.UUID,
    start: datetime.date,
    end: datetime.date,
    stations: set[uuid.UUID] | None = None,
) -> list[StationSumLine]:
    """Per station (of `stations` only, when given) and kind, the sums over [start, end]."""
    service.check_range(start, end)
    async with reading(county_id) as county:
        return await county.station_sums(start, end, stations)


async def adjustments(
    county_id: uuid.UUID, start: datetime.date, end: datetime.date
) -> list[months.AdjustmentOut]:
    """Entries dated in a closed month and counted in [start, end] (month close): already in
    every figure of the day they count on; listed so they show as adjustments."""
    service.check_range(start, end)
    county = await service.county_row(county_id)
    return await months.adjustments(county_id, start, end, county.zone)


async def station_ledger(
    station_id: uuid.UUID, start: datetime.date, end: datetime.date
) -> list[dict[str, Any]]:
    """One station's days with activity, newest first, each with its kinds' figures."""
    async with db.read_transaction():
        county_id = await places.station_county(station_id)
    if county_id is None:
        raise DomainError("not_found", status=404)
    days: dict[datetime.date, dict[str, Any]] = {}
    for line in await station_days(county_id, start, end, station_id):
        entry = days.setdefault(line.day, {"day": line.day, "kinds": {}})
        entry["kinds"][line.kind] = line.figures()
    return [days[day] for day in sorted(days, reverse=True)]


class StationWeeks(TypedDict):
    """A station's line of the check-in grid: did it check in each of the weeks?"""

    station_id: uuid.UUID
    name: str
    code: str
    township: str
    poor_village: bool  # its village is a 贫困村 (the registry's flag today)
    closed: bool
    checked: list[bool]


async def checkin_weeks(
    county_id: uuid.UUID, weeks: int, today: datetime.date | None = None
) -> dict[str, Any]:
    """Weeks × stations: did the station check in that week (Monday to Sunday, local)?"""
    weeks = max(1, min(int(weeks), 106))
    today = today or await service.county_today(county_id)
    mondays = [week_start(today) - datetime.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    async with reading(county_id) as county:
        pairs = await county.checkin_days(mondays[0], mondays[-1] + datetime.timedelta(days=6))
        rows = await places.stations(county_id, by_township=True)
    checked = {(station, week_start(day)) for station, day in pairs}
    stations: list[StationWeeks] = [
        {
            "station_id": row.id,
            "name": row.name,
            "code": row.code,
            "township": row.township,
            "poor_village": row.poor_village,
            "closed": row.closed,
            "checked": [(row.id, monday) in checked for monday in mondays],
        }
        for row in rows
    ]
    open_stations = [s for s in stations if not s["closed"]]
    compliance = [
        round(100.0 * sum(s["checked"][i] for s in open_stations) / len(open_stations), 1)
        if open_stations
        else None
        for i in range(len(mondays))
    ]
    return {"weeks": mondays, "stations": stations, "compliance_pct": compliance}


# The overview's definition of activity (overview.py), also coverage's "active": any line but
# these (a moved parcel and a till count are activity here, unlike on the dashboard).
NOT_ACTIVITY = (OVERDUE_KIND, REVERSED_KIND, CHECKIN_KIND)


async def coverage(county_id: uuid.UUID, day: datetime.date | None = None) -> dict[str, Any]:
    """Coverage by level as of a county-local day (default: today), against the targets: which
    stations were built that day, which were active in the 30 days up to it (read from the
    rollups), and the townships, villages, poor villages and poor townships they cover
    (coverage.py defines each)."""
    county = await service.county_row(county_id)
    day = day or county.today()
    async with reading(county_id):
        built = await places.coverage_places(county_id)
        recorded = await rollup_rows.stations_with_lines(
            county_id, definitions_coverage.active_since(day), day, NOT_ACTIVITY
        )
    return definitions_coverage.coverage_on(county, built, day, recorded)
