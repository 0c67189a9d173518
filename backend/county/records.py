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


async def cash_counts(county_id: uuid.UUID, month: str | None) -> dict[str, Any]:
    """日结: each station's end-of-day counts in a month against what its entries expected, and
    the days with cash taken but no count. The same figures as the keeper's cashbook."""
    facts = await facts_of(county_id)
    first = page_month(month, facts.today)
    last = next_month(first) - datetime.timedelta(days=1)
    async with db.read_transaction():
        stations = await places.stations(county_id)
        lines = await ledger_reads.cashbook_lines(county_id, first, last)
        counted = await ledger_service.latest_cash_counts([s.id for s in stations], first, last)
    names = {station.id: (station.code, station.name) for station in stations}
    rows: list[CashDay] = []
    for station_id, day in sorted(set(lines) | set(counted), key=lambda k: (names[k[0]], k[1])):
        cash = ledger_service.cash_count(
            ledger_service.expected_cash(lines.get((station_id, day), [])),
            counted.get((station_id, day)),
        )
        if cash.counted_fen is None and cash.expected_fen == 0:
            continue
        code, name = names[station_id]
        rows.append(
            {"station_id": station_id, "code": code, "name": name, "day": day, "cash": cash}
        )
    off = [r for r in rows if r["cash"].difference_fen]
    return {
        "facts": facts,
        "month": first,
        "months": recent_months(facts.today),
        "rows": rows,
        "counted_days": sum(1 for r in rows if r["cash"].counted_fen is not None),
        "uncounted_days": sum(1 for r in rows if r["cash"].counted_fen is None),
        "off_days": len(off),
        "off_total_fen": sum(r["cash"].difference_fen for r in off),
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
