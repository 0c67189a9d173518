"""What the county centre reads: figures from the rollups, coverage from the registry.

Public read functions (the pages and the API call these; nothing here knows HTTP). Money is
integer fen; days are county-local `datetime.date`; ids are `uuid.UUID`; personal data never leaves
unmasked.

    county_today(county_id) -> date
    station_days(county_id, start, end, station_id=None) -> list[dict]
        rollup rows {station_id, day, kind, count, amount_fen, fee_fen, farm_count,
        poverty_count, poverty_amount_fen}, ordered by day, station, kind
    daily_totals(county_id, start, end) -> list[dict]
        per day: {day, figures: {<FIGURE_KEYS>}} for trend charts (every day, zeros included)
    county_kpis(county_id, start, end) -> dict
        {start, end, figures: {<FIGURE_KEYS>}, last_year: {…same keys…},
         growth_pct: {key: float | None}, kinds: {kind: {count, amount_fen, fee_fen, …}}}
    month_kpis(county_id, month "YYYY-MM") -> the same for a calendar month vs the month a year ago
    checkin_weeks(county_id, weeks, today=None) -> dict
        {weeks: [monday dates, oldest first], stations: [{station_id, name, code, township,
         closed, checked: [bool per week]}], compliance_pct: [per week]}
    coverage(county_id) -> dict
        {townships|villages|poor_villages: {total, covered, pct, target_pct, met}}
    stations_overview(county_id, today=None, township_id=None) -> list[dict]
        per station: {station_id, name, code, township_id, township, village, poor_village,
        closed, last_activity (date|None), checked_in_this_week, count_7d, amount_7d_fen,
        fee_7d_fen, count_30d, amount_30d_fen, fee_30d_fen, parcels_on_shelf, parcels_overdue,
        needs_attention: [reasons: "no_checkin" | "inactive_14_days" | "many_overdue"]}
    station_totals(county_id, start, end) -> list[dict]
        per station and kind over the range: {station_id, kind, count, amount_fen, …}
    station_ledger(station_id, start, end) -> list[dict]
        per day with activity: {day, kinds: {kind: {count, amount_fen, fee_fen, …}}}
    subsidy_claims(county_id, month) -> dict          (backend/county/subsidies.py)
    province_deliveries(county_id, limit=100) -> list[dict]   (backend/county/reporting.py)

FIGURE_KEYS: retail_fen (网络零售额: 代购 + 代销), farm_retail_fen (农产品网络零售额: 代销),
parcels_in (代收), parcels_out (代发), farm_parcels_out, parcels_picked_up, parcels_returned,
parcels_overdue, purchases, sales, services, services_fen, income_fen (fees and commissions),
poverty_entries, poverty_amount_fen, checkins, reversals.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from typing import Any

from backend import clock, db
from backend.county.rollups import OVERDUE_KIND, REVERSED_KIND
from backend.errors import DomainError
from backend.ledger.service import week_start

MAX_RANGE_DAYS = 366
INACTIVE_DAYS = 14
MANY_OVERDUE = 5
NOT_ACTIVITY = (OVERDUE_KIND, REVERSED_KIND, "checkin_recorded")

FIGURE_KEYS = (
    "retail_fen",
    "farm_retail_fen",
    "parcels_in",
    "parcels_out",
    "farm_parcels_out",
    "parcels_picked_up",
    "parcels_returned",
    "parcels_overdue",
    "purchases",
    "sales",
    "services",
    "services_fen",
    "income_fen",
    "poverty_entries",
    "poverty_amount_fen",
    "checkins",
    "reversals",
)
ROLLUP_FIGURES = (
    "count",
    "amount_fen",
    "fee_fen",
    "farm_count",
    "poverty_count",
    "poverty_amount_fen",
)


# Days and months ------------------------------------------------------------------------------


async def county_row(county_id: uuid.UUID) -> dict[str, Any]:
    async with db.read_transaction():
        rows = await db.fetch("SELECT * FROM registry_county WHERE id = $1", county_id)
    if not rows:
        raise DomainError("not_found", status=404)
    return rows[0]


async def county_today(county_id: uuid.UUID) -> datetime.date:
    import zoneinfo

    row = await county_row(county_id)
    return clock.utcnow().astimezone(zoneinfo.ZoneInfo(row["timezone"])).date()


def check_range(start: datetime.date, end: datetime.date) -> None:
    if end < start:
        raise DomainError("county_range_reversed", status=400, field="to")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise DomainError("county_range_too_long", status=400, field="to", max=MAX_RANGE_DAYS)


EARLIEST_MONTH = datetime.date(2015, 1, 1)


def parse_month(month: str | None) -> tuple[datetime.date, datetime.date]:
    """`YYYY-MM` → its first and last day; anything else is a localized problem."""
    try:
        if not month or len(month) != 7 or month[4] != "-" or not month.isascii():
            raise ValueError
        first = datetime.date(int(month[:4]), int(month[5:]), 1)
    except ValueError:
        raise DomainError("county_invalid_month", status=400, field="month") from None
    # The programme's stations did not exist before 2015; a year ahead is the furthest plan.
    today = clock.utcnow().date()
    latest = datetime.date(today.year + 1, today.month, 1)
    if first < EARLIEST_MONTH or first > latest:
        raise DomainError(
            "county_month_out_of_range",
            status=400,
            field="month",
            earliest=EARLIEST_MONTH.strftime("%Y-%m"),
            latest=latest.strftime("%Y-%m"),
        )
    return first, month_end(first)


def month_end(first: datetime.date) -> datetime.date:
    following = datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - datetime.timedelta(days=1)


def year_before(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# Figures --------------------------------------------------------------------------------------


def empty_figures() -> dict[str, int]:
    return dict.fromkeys(FIGURE_KEYS, 0)


def add_to_figures(figures: dict[str, int], kind: str, line: dict[str, int]) -> None:
    """What one rollup line adds to the county's headline figures."""
    count, amount, fee = line["count"], line["amount_fen"], line["fee_fen"]
    figures["income_fen"] += fee
    figures["poverty_entries"] += line["poverty_count"]
    figures["poverty_amount_fen"] += line["poverty_amount_fen"]
    if kind == "purchase_ordered":
        figures["purchases"] += count
        figures["retail_fen"] += amount
    elif kind == "sale_recorded":
        figures["sales"] += count
        figures["retail_fen"] += amount
        figures["farm_retail_fen"] += amount
    elif kind == "parcel_received":
        figures["parcels_in"] += count
    elif kind == "parcel_dispatched":
        figures["parcels_out"] += count
        figures["farm_parcels_out"] += line["farm_count"]
    elif kind == "parcel_picked_up":
        figures["parcels_picked_up"] += count
    elif kind == "parcel_returned":
        figures["parcels_returned"] += count
    elif kind == OVERDUE_KIND:
        figures["parcels_overdue"] += count
    elif kind.startswith("service_"):
        figures["services"] += count
        figures["services_fen"] += amount
    elif kind == "checkin_recorded":
        figures["checkins"] += count
    elif kind == REVERSED_KIND:
        figures["reversals"] += count


def growth_pct(now: int, before: int) -> float | None:
    """Year-on-year growth in percent, one decimal; None when there is nothing to compare with."""
    if not before:
        return None
    return round((now - before) * 100.0 / before, 1)


async def _total_lines(county_id, start, end) -> list[dict[str, Any]]:
    async with db.read_transaction():
        return await db.fetch(
            "SELECT day, kind, count, amount_fen, fee_fen, farm_count, poverty_count, "
            "poverty_amount_fen FROM county_rollup_total "
            "WHERE county = $1 AND day BETWEEN $2 AND $3",
            county_id,
            start,
            end,
        )


async def _period(county_id, start, end) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    figures = empty_figures()
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ROLLUP_FIGURES, 0))
    for line in await _total_lines(county_id, start, end):
        add_to_figures(figures, line["kind"], line)
        for key in ROLLUP_FIGURES:
            kinds[line["kind"]][key] += line[key]
    return figures, dict(kinds)


async def county_kpis(
    county_id: uuid.UUID, start: datetime.date, end: datetime.date
) -> dict[str, Any]:
    """The county's headline figures over [start, end] and the same days a year before."""
    check_range(start, end)
    figures, kinds = await _period(county_id, start, end)
    last_year, _ = await _period(county_id, year_before(start), year_before(end))
    return {
        "start": start,
        "end": end,
        "figures": figures,
        "last_year": last_year,
        "growth_pct": {key: growth_pct(figures[key], last_year[key]) for key in FIGURE_KEYS},
        "kinds": kinds,
    }


async def month_kpis(county_id: uuid.UUID, month: str) -> dict[str, Any]:
    start, end = parse_month(month)
    result = await county_kpis(county_id, start, end)
    result["month"] = month
    return result


async def daily_totals(
    county_id: uuid.UUID, start: datetime.date, end: datetime.date
) -> list[dict[str, Any]]:
    """Every day of the range with the county's figures (zeros on quiet days), for charts."""
    check_range(start, end)
    per_day: dict[datetime.date, dict[str, int]] = {}
    for line in await _total_lines(county_id, start, end):
        day = db.as_date(line["day"])
        add_to_figures(per_day.setdefault(day, empty_figures()), line["kind"], line)
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
) -> list[dict[str, Any]]:
    """Rollup rows per station, day and kind (stations of this county only)."""
    check_range(start, end)
    args: list[Any] = [county_id, start, end]
    condition = "county = $1 AND day BETWEEN $2 AND $3"
    if station_id is not None:
        args.append(station_id)
        condition += " AND station = $4"
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT station, day, kind, count, amount_fen, fee_fen, farm_count, poverty_count, "
            f"poverty_amount_fen FROM county_rollup WHERE {condition} "
            "ORDER BY day, station, kind",
            *args,
        )
    return [
        {
            "station_id": db.as_uuid(row["station"]),
            "day": db.as_date(row["day"]),
            "kind": row["kind"],
            **{key: row[key] for key in ROLLUP_FIGURES},
        }
        for row in rows
    ]


async def station_totals(
    county_id: uuid.UUID, start: datetime.date, end: datetime.date
) -> list[dict[str, Any]]:
    """Per station and kind, the sums over [start, end] (summed by the database)."""
    check_range(start, end)
    sums = ", ".join(f"SUM({key}) AS {key}" for key in ROLLUP_FIGURES)
    async with db.read_transaction():
        rows = await db.fetch(
            f"SELECT station, kind, {sums} FROM county_rollup "
            "WHERE county = $1 AND day BETWEEN $2 AND $3 GROUP BY station, kind",
            county_id,
            start,
            end,
        )
    return [
        {
            "station_id": db.as_uuid(row["station"]),
            "kind": row["kind"],
            **{key: int(row[key] or 0) for key in ROLLUP_FIGURES},
        }
        for row in rows
    ]


async def station_ledger(
    station_id: uuid.UUID, start: datetime.date, end: datetime.date
) -> list[dict[str, Any]]:
    """One station's days with activity, newest first, each with its kinds' figures."""
    async with db.read_transaction():
        rows = await db.fetch("SELECT county FROM registry_station WHERE id = $1", station_id)
    if not rows:
        raise DomainError("not_found", status=404)
    lines = await station_days(db.as_uuid(rows[0]["county"]), start, end, station_id)
    days: dict[datetime.date, dict[str, Any]] = {}
    for line in lines:
        entry = days.setdefault(line["day"], {"day": line["day"], "kinds": {}})
        entry["kinds"][line["kind"]] = {key: line[key] for key in ROLLUP_FIGURES}
    return [days[day] for day in sorted(days, reverse=True)]


# Stations -------------------------------------------------------------------------------------


async def _stations(county_id: uuid.UUID) -> list[dict[str, Any]]:
    async with db.read_transaction():
        return await db.fetch(
            "SELECT s.id, s.name, s.code, s.closed_at, s.township AS township_id, "
            "t.name AS township, v.name AS village, v.poor AS poor_village "
            "FROM registry_station s JOIN registry_township t ON t.id = s.township "
            "JOIN registry_village v ON v.id = s.village WHERE s.county = $1 "
            "ORDER BY t.name, s.code",
            county_id,
        )


async def checkin_weeks(
    county_id: uuid.UUID, weeks: int, today: datetime.date | None = None
) -> dict[str, Any]:
    """Weeks × stations: did the station check in that week (Monday to Sunday, local)?"""
    weeks = max(1, min(int(weeks), 106))
    today = today or await county_today(county_id)
    mondays = [week_start(today) - datetime.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT station, day FROM county_rollup WHERE county = $1 AND kind = $2 "
            "AND day BETWEEN $3 AND $4 AND count > 0",
            county_id,
            "checkin_recorded",
            mondays[0],
            mondays[-1] + datetime.timedelta(days=6),
        )
    checked: set[tuple[uuid.UUID, datetime.date]] = {
        (db.as_uuid(row["station"]), week_start(db.as_date(row["day"]))) for row in rows
    }
    stations = []
    for station in await _stations(county_id):
        station_id = db.as_uuid(station["id"])
        stations.append(
            {
                "station_id": station_id,
                "name": station["name"],
                "code": station["code"],
                "township": station["township"],
                "closed": station["closed_at"] is not None,
                "checked": [(station_id, monday) in checked for monday in mondays],
            }
        )
    open_stations = [s for s in stations if not s["closed"]]
    compliance = [
        round(100.0 * sum(s["checked"][i] for s in open_stations) / len(open_stations), 1)
        if open_stations
        else None
        for i in range(len(mondays))
    ]
    return {"weeks": mondays, "stations": stations, "compliance_pct": compliance}


async def coverage(county_id: uuid.UUID) -> dict[str, Any]:
    """Townships, villages and poor villages with an open station, against the targets."""
    county = await county_row(county_id)
    async with db.read_transaction():
        townships = await db.fetch(
            "SELECT t.id, EXISTS (SELECT 1 FROM registry_station s WHERE s.township = t.id "
            "AND s.closed_at IS NULL) AS covered FROM registry_township t WHERE t.county = $1",
            county_id,
        )
        villages = await db.fetch(
            "SELECT v.id, v.poor, EXISTS (SELECT 1 FROM registry_station s WHERE s.village = v.id "
            "AND s.closed_at IS NULL) AS covered FROM registry_village v WHERE v.county = $1",
            county_id,
        )

    def measure(rows: list[dict[str, Any]], target: int) -> dict[str, Any]:
        total = len(rows)
        covered = sum(1 for row in rows if row["covered"])
        pct = round(100.0 * covered / total, 1) if total else 0.0
        return {
            "total": total,
            "covered": covered,
            "pct": pct,
            "target_pct": target,
            "met": total > 0 and pct >= target,
        }

    return {
        "townships": measure(townships, county["target_township_pct"]),
        "villages": measure(villages, county["target_village_pct"]),
        "poor_villages": measure(
            [v for v in villages if v["poor"]], county["target_poor_village_pct"]
        ),
    }


async def _activity(county_id, start, end) -> dict[uuid.UUID, dict[str, Any]]:
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT station, day, kind, count, amount_fen, fee_fen FROM county_rollup "
            "WHERE county = $1 AND day BETWEEN $2 AND $3",
            county_id,
            start,
            end,
        )
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(db.as_uuid(row["station"]), {"lines": [], "last": None})
        entry["lines"].append(row)
        day = db.as_date(row["day"])
        if row["kind"] not in NOT_ACTIVITY and (entry["last"] is None or day > entry["last"]):
            entry["last"] = day
    return found


async def _last_activity_before(station_ids: list[uuid.UUID], before: datetime.date):
    if not station_ids:
        return {}
    marks = ", ".join(f"${i}" for i in range(2, 2 + len(station_ids)))
    async with db.read_transaction():
        rows = await db.fetch(
            f"SELECT station, MAX(day) AS last FROM county_rollup WHERE day < $1 "
            f"AND station IN ({marks}) AND kind NOT IN ('{OVERDUE_KIND}', '{REVERSED_KIND}', "
            "'checkin_recorded') GROUP BY station",
            before,
            *station_ids,
        )
    return {db.as_uuid(row["station"]): db.as_date(row["last"]) for row in rows if row["last"]}


async def _shelf(county_id, today, return_days) -> dict[uuid.UUID, list[int]]:
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT station, COUNT(*) AS on_shelf, SUM(CASE WHEN received_date <= $2 "
            "THEN 1 ELSE 0 END) AS overdue FROM ledger_parcel "
            "WHERE county = $1 AND state = 'on_shelf' GROUP BY station",
            county_id,
            today - datetime.timedelta(days=return_days),
        )
    return {db.as_uuid(row["station"]): [row["on_shelf"], row["overdue"] or 0] for row in rows}


async def stations_overview(
    county_id: uuid.UUID,
    today: datetime.date | None = None,
    township_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Every station of the county with what the dashboard and the station list show."""
    county = await county_row(county_id)
    today = today or await county_today(county_id)
    window = today - datetime.timedelta(days=29)
    seven = today - datetime.timedelta(days=6)
    monday = week_start(today)
    activity = await _activity(county_id, min(window, monday), today)
    shelf = await _shelf(county_id, today, county["parcel_return_days"])
    stations = await _stations(county_id)
    quiet = [
        db.as_uuid(s["id"])
        for s in stations
        if activity.get(db.as_uuid(s["id"]), {}).get("last") is None
    ]
    older = await _last_activity_before(quiet, window)
    overview = []
    for station in stations:
        station_id = db.as_uuid(station["id"])
        if township_id is not None and db.as_uuid(station["township_id"]) != township_id:
            continue
        found = activity.get(station_id, {"lines": [], "last": None})
        item = {
            "station_id": station_id,
            "name": station["name"],
            "code": station["code"],
            "township_id": db.as_uuid(station["township_id"]),
            "township": station["township"],
            "village": station["village"],
            "poor_village": bool(station["poor_village"]),
            "closed": station["closed_at"] is not None,
            "last_activity": found["last"] or older.get(station_id),
            "checked_in_this_week": False,
            **dict.fromkeys(
                ("count_7d", "amount_7d_fen", "fee_7d_fen", "count_30d", "amount_30d_fen"), 0
            ),
            "fee_30d_fen": 0,
        }
        for line in found["lines"]:
            day, kind = db.as_date(line["day"]), line["kind"]
            if kind == "checkin_recorded" and day >= monday and line["count"] > 0:
                item["checked_in_this_week"] = True
            if kind in NOT_ACTIVITY:
                continue
            for suffix, since in (("7d", seven), ("30d", window)):
                if day >= since:
                    item[f"count_{suffix}"] += line["count"]
                    item[f"amount_{suffix}_fen"] += line["amount_fen"]
                    item[f"fee_{suffix}_fen"] += line["fee_fen"]
        on_shelf, overdue = shelf.get(station_id, [0, 0])
        item["parcels_on_shelf"], item["parcels_overdue"] = on_shelf, overdue
        reasons = []
        if not item["closed"]:
            if not item["checked_in_this_week"]:
                reasons.append("no_checkin")
            last = item["last_activity"]
            if last is None or (today - last).days >= INACTIVE_DAYS:
                reasons.append("inactive_14_days")
            if overdue >= MANY_OVERDUE:
                reasons.append("many_overdue")
        item["needs_attention"] = reasons
        overview.append(item)
    return overview


# Subsidies and upward reports live in their own modules; re-exported for the pages.


async def subsidy_claims(county_id: uuid.UUID, month: str) -> dict[str, Any]:
    from backend.county.subsidies import monthly_claims

    return await monthly_claims(county_id, month)


async def province_deliveries(county_id: uuid.UUID, limit: int = 100) -> list[dict[str, Any]]:
    from backend.county.reporting import deliveries

    return await deliveries(county_id, limit)
