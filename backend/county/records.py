"""What the county's monthly record pages show: the subsidy claims, the stations' till counts
(日结) and the province report log (no HTTP here)."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from typing import Any, TypedDict

from backend import db
from backend.county import month_close, reporting, subsidies
from backend.county.review import facts_of
from backend.county.service import next_month, page_month, recent_months
from backend.county.store import ledger_reads, places
from backend.errors import DomainError
from backend.ledger import months as ledger_months
from backend.ledger import service as ledger_service
from backend.ledger.schemas import CashCount


async def subsidy_claims(
    county_id: uuid.UUID, month: str | None, station: str | None
) -> dict[str, Any]:
    """Every station's claim; the parcels of one chosen station (a county has tens of thousands
    in a month), and every parcel claimed twice, whichever station it is at."""
    facts = await facts_of(county_id)
    first = page_month(month, facts.today)
    claims = await subsidies.monthly_summary(county_id, first.strftime("%Y-%m"), station)
    return {
        "facts": facts,
        "month": first,
        "months": recent_months(facts.today),
        "rule": claims["rule"],
        "stations": claims["stations"],
        "totals": claims["totals"],
        "chosen": claims["chosen"],
        "duplicate_parcels": claims["duplicate_parcels"],
    }


class CashDay(TypedDict):
    """A station's day with cash: what its entries expected against what the keeper counted."""

    station_id: uuid.UUID
    code: str
    name: str
    day: datetime.date
    cash: CashCount


class CashTally(TypedDict):
    """A station's month (or the county's) of `CashDay`s summed: the counted and difference sums
    are over the counted days only (None when no day was counted), as the day rows show them."""

    days: int
    counted_days: int
    uncounted_days: int
    off_days: int
    expected_fen: int
    counted_fen: int | None
    difference_fen: int | None


async def cash_counts(
    county_id: uuid.UUID, month: str | None, station_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """日结: each station's end-of-day counts in a month against what its entries expected, and
    the days with cash taken but no count. The same figures as the keeper's cashbook. A month of
    a whole county is one row per station (its days summed); one chosen station's month is its
    day rows (a 300-station county has ~9,000 station-days a month)."""
    facts = await facts_of(county_id)
    first = page_month(month, facts.today)
    last = next_month(first) - datetime.timedelta(days=1)
    async with db.read_transaction():
        stations = await places.stations(county_id)
        chosen = _chosen_station(stations, station_id)
        ids = [chosen.id] if chosen else [s.id for s in stations]
        expected = await ledger_reads.cash_expected(ids, first, last)
        counted = await ledger_service.latest_cash_counts(ids, first, last)
    rows = _cash_days(stations, expected, counted)
    return {
        "facts": facts,
        "month": first,
        "months": recent_months(facts.today),
        "chosen": chosen,
        "rows": rows if chosen else [],
        "stations": [] if chosen else _by_station(rows),
        "total": _tally(rows),
    }


def _chosen_station(
    stations: list[places.StationRow], station_id: uuid.UUID | None
) -> places.StationRow | None:
    """The station asked for, one of the county's open stations: any other id is refused."""
    if station_id is None:
        return None
    for station in stations:
        if station.id == station_id:
            return station
    raise DomainError("unknown_station", status=404, field="station")


def _cash_days(
    stations: list[places.StationRow],
    expected: dict[tuple[uuid.UUID, datetime.date], int],
    counted: dict[tuple[uuid.UUID, datetime.date], int],
) -> list[CashDay]:
    """Each station-day with cash expected or counted, by station code and day."""
    names = {station.id: (station.code, station.name) for station in stations}
    rows: list[CashDay] = []
    for station_id, day in sorted(set(expected) | set(counted), key=lambda k: (names[k[0]], k[1])):
        cash = ledger_service.cash_count(
            expected.get((station_id, day), 0), counted.get((station_id, day))
        )
        if cash.counted_fen is None and cash.expected_fen == 0:
            continue
        code, name = names[station_id]
        rows.append(
            {"station_id": station_id, "code": code, "name": name, "day": day, "cash": cash}
        )
    return rows


def _by_station(rows: list[CashDay]) -> list[dict[str, Any]]:
    """One row per station with days of cash, in the day rows' order, its days summed."""
    days: dict[uuid.UUID, list[CashDay]] = {}
    for row in rows:
        days.setdefault(row["station_id"], []).append(row)
    return [
        {"station_id": key, "code": own[0]["code"], "name": own[0]["name"], **_tally(own)}
        for key, own in days.items()
    ]


def _tally(rows: list[CashDay]) -> CashTally:
    counted = [r["cash"] for r in rows if r["cash"].counted_fen is not None]
    return {
        "days": len(rows),
        "counted_days": len(counted),
        "uncounted_days": len(rows) - len(counted),
        "off_days": sum(1 for cash in counted if cash.difference_fen),
        "expected_fen": sum(r["cash"].expected_fen for r in rows),
        "counted_fen": sum(cash.counted_fen or 0 for cash in counted) if counted else None,
        "difference_fen": sum(cash.difference_fen or 0 for cash in counted) if counted else None,
    }


async def province_reports(county_id: uuid.UUID) -> dict[str, Any]:
    facts = await facts_of(county_id)
    return {"facts": facts, "reports": await reporting.deliveries(county_id)}


async def month_review(county_id: uuid.UUID, month: str | None) -> dict[str, Any]:
    """县级审核: each station's state of a finished month (last month unless one is chosen)."""
    facts = await facts_of(county_id)
    first = page_month(month, facts.today)
    if first >= facts.today.replace(day=1):  # only finished months are reviewed
        first = (facts.today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    chosen = f"{first:%Y-%m}"
    review = await ledger_months.county_month(county_id, chosen)
    states = {state.station_id: state for state in review.stations}
    async with db.read_transaction():
        stations = await places.stations(county_id, include_closed=True)
        county = await places.county(county_id)
    deadline = month_close.deadline(first, county.month_close_day)
    adjusted = await _month_adjustments(county, first, facts.today)
    rows = []
    counts: dict[str, int] = defaultdict(int)
    for station in stations:
        state = states[station.id]
        closed = state.state == "closed"
        on_time = {
            "submitted_on_time": month_close.by(state.submitted_at, deadline, county.zone),
            "closed_on_time": closed and month_close.by(state.closed_at, deadline, county.zone),
        }
        rows.append(
            {
                "station": station,
                "month": state,
                "adjustments": adjusted.get(station.id, []),
                **on_time,
            }
        )
        counts[state.state] += 1
        counts["submitted_on_time"] += on_time["submitted_on_time"]
        counts["closed_on_time"] += on_time["closed_on_time"]
    return {
        "facts": facts,
        "month": first,
        "month_key": chosen,
        "months": recent_months(facts.today)[1:],  # finished months only
        "rows": rows,
        "counts": dict(counts),
        "deadline": deadline,
        "adjusted_rows": [row for row in rows if row["adjustments"]],
    }


async def _month_adjustments(
    county: places.CountyRow, first: datetime.date, today: datetime.date
) -> dict[uuid.UUID, list[ledger_months.AdjustmentOut]]:
    """Each station's adjustments of the month: entries of earlier closed months counted in it,
    and its own entries that arrived after its close and count in a later month; by own date."""
    month = f"{first:%Y-%m}"
    last = next_month(first) - datetime.timedelta(days=1)
    found = await ledger_months.adjustments(county.id, first, max(today, last), county.zone)
    by_station: dict[uuid.UUID, list[ledger_months.AdjustmentOut]] = defaultdict(list)
    for entry in found:
        if entry.counted_on <= last or entry.month == month:
            by_station[entry.station_id].append(entry)
    for entries in by_station.values():
        entries.sort(key=lambda entry: (entry.own_date, entry.counted_on))
    return by_station


async def station_in_county(county_id: uuid.UUID, station_id: uuid.UUID) -> bool:
    async with db.read_transaction():
        return await places.station_county(station_id) == county_id
