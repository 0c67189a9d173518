"""The per-parcel logistics subsidy (物流补贴): each station's monthly claim, from the ledger.

The county's rule (registry County): `subsidy_fen_per_parcel` per qualifying dispatched parcel
(farm produce only when `subsidy_farm_only`), at most `subsidy_monthly_cap_fen` per station and
month. A parcel belongs to the month of its business day, like every other figure of the county
(API.md "The programme's figures"): the day the dispatch happened (`occurred_at`) in the county's
time zone, the ledger's `business_date`; a phone clock running ahead of the server is clamped to
the server's day (RELIABILITY P4). A dispatch dated in November that syncs in December is claimed
in November while November is open; once the county has closed November it is claimed in the
station's next open month as 补报 (`late_for`: the closed month it was dated in), and the closed
month's claim never changes: closing a station's month freezes its claim as it stood, under the
rule of that day (frozen.py), and the claims read it back until the month is reopened.
A tracking number is paid once in the county: the first live dispatch of it (by server time)
is paid, any other dispatch of the same number, at any station and in any month, is flagged as
a duplicate and not paid. A household whose produce failed inspection again and again loses its
claim (backend/trace/inspections.py): its parcels of those days are listed as `withdrawn`, not
claimed and not paid.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend import db
from backend.county.service import county_row
from backend.county.store import frozen_rows, ledger_reads, places
from backend.county.store.frozen_rows import FrozenMonth
from backend.county.store.places import CountyRow
from backend.params import parse_month
from backend.privacy import mask_phones_in_text
from backend.trace.inspections import SubsidyWithdrawals, subsidy_withdrawals


def _claim_order(dispatch: ledger_reads.Dispatch) -> tuple:
    """Which of two dispatches of one tracking number is paid: the first the server received (a
    back-dated entry cannot take a claim away from one recorded before it)."""
    return (dispatch.received_at, str(dispatch.id))


def _day_order(dispatch: ledger_reads.Dispatch) -> tuple:
    return (dispatch.business_date, dispatch.received_at, str(dispatch.id))


def _rule(fen_per_parcel: int, farm_only: bool, monthly_cap_fen: int) -> dict[str, Any]:
    return {
        "fen_per_parcel": fen_per_parcel,
        "farm_only": farm_only,
        "monthly_cap_fen": monthly_cap_fen,
    }


def _county_rule(county: CountyRow) -> dict[str, Any]:
    return _rule(
        county.subsidy_fen_per_parcel, county.subsidy_farm_only, county.subsidy_monthly_cap_fen
    )


def _month_rule(
    county: CountyRow, frozen: dict[uuid.UUID, FrozenMonth], stations: list[places.StationRow]
) -> dict[str, Any]:
    """The rule the month is claimed under: the one frozen with it when the county has closed
    every station's month under one rule, else the county's rule now."""
    rules = {(f.fen_per_parcel, f.farm_only, f.monthly_cap_fen) for f in frozen.values()}
    if len(rules) == 1 and {station.id for station in stations} <= set(frozen):
        return _rule(*rules.pop())
    return _county_rule(county)


async def monthly_claims(county_id: uuid.UUID, month: str) -> dict[str, Any]:
    """Each station's claim of the month: as frozen at close for a closed station-month
    (frozen.py), else counted now under the county's rule."""
    first, last = parse_month(month)
    county = await county_row(county_id)
    async with db.read_transaction():
        stations = await places.stations(county_id, by_township=True)
        frozen = {row.station: row for row in await frozen_rows.of_county(county_id, [month])}
    live = await _live_claims(
        county, first, last, {station.id for station in stations} - set(frozen)
    )
    claims = []
    totals = dict.fromkeys(TOTALS, 0)
    for station in stations:
        claim = _thawed(frozen[station.id].claim) if station.id in frozen else live.get(station.id)
        if claim is None:
            continue
        claims.append(
            {"station_id": station.id, "name": station.name, "code": station.code,
             "township": station.township, **claim}
        )  # fmt: skip
        for key in TOTALS:
            totals[key] += claim[key]
    return {
        "month": month,
        "rule": _month_rule(county, frozen, stations),
        "stations": claims,
        "totals": totals,
    }


TOTALS = ("qualifying", "duplicates", "withdrawn", "over_cap", "claimed_fen", "payable_fen")


async def station_claim_json(county_id: uuid.UUID, month: str, station_id: uuid.UUID) -> str:
    """What a close freezes: the station's claim of the month as it stands now, as JSON ("" when
    it has none)."""
    first, last = parse_month(month)
    county = await county_row(county_id)
    claim = (await _live_claims(county, first, last, {station_id})).get(station_id)
    return msgspec.json.encode(claim).decode() if claim is not None else ""


def _thawed(text: str) -> dict[str, Any] | None:
    """A frozen claim read back with the types a live one has."""
    if not text:
        return None
    claim = msgspec.json.decode(text)
    for parcel in claim["parcels"]:
        parcel["dispatch_id"] = uuid.UUID(parcel["dispatch_id"])
        parcel["day"] = datetime.date.fromisoformat(parcel["day"])
        parcel["received_at"] = datetime.datetime.fromisoformat(parcel["received_at"])
    return claim


async def _live_claims(
    county: CountyRow, first: datetime.date, last: datetime.date, wanted: set[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The claims of these stations over [first, last], counted now under the county's rule."""
    rule = _county_rule(county)
    if not wanted:
        return {}
    async with db.read_transaction():
        dispatches = await ledger_reads.live_dispatches(county.id, first, last, rule["farm_only"])
        dispatches = [row for row in dispatches if row.station in wanted]
        numbers = sorted({row.tracking_no for row in dispatches})
        first_claims = _first_claims(
            await ledger_reads.dispatches_of(county.id, numbers, rule["farm_only"])
        )
        codes = {station.id: station.code for station in await places.stations(county.id)}
    withdrawals = await subsidy_withdrawals(county.id, county.timezone)
    by_station: dict[uuid.UUID, list[ledger_reads.Dispatch]] = {}
    # A station's parcels in the order they happened (the cap pays the month's first ones).
    for row in sorted(dispatches, key=_day_order):
        by_station.setdefault(row.station, []).append(row)
    return {
        station_id: _claim(rows, rule, first_claims, codes, withdrawals)
        for station_id, rows in by_station.items()
    }


def _claim(
    rows: list[ledger_reads.Dispatch],
    rule: dict[str, Any],
    first_claims: dict[str, ledger_reads.Dispatch],
    codes: dict[uuid.UUID, str],
    withdrawals: SubsidyWithdrawals,
) -> dict[str, Any]:
    """One station's claim: its parcels, each paid, a duplicate, withdrawn or over the cap."""
    per_parcel, cap = rule["fen_per_parcel"], rule["monthly_cap_fen"]
    parcels, payable, duplicates, withdrawn, over_cap = [], 0, 0, 0, 0
    for row in rows:
        first_claim = first_claims[row.tracking_no]
        status, duplicate_of = "paid", None
        if first_claim.id != row.id:
            status = "duplicate"
            duplicate_of = codes.get(first_claim.station, "")
            duplicates += 1
        elif withdrawals.withdrawn(row.household_code, row.business_date):
            status = "withdrawn"  # the household's produce failed inspection repeatedly
            withdrawn += 1
        elif payable + per_parcel > cap:
            status = "over_cap"
            over_cap += 1
        else:
            payable += per_parcel
        parcels.append(
            {
                "dispatch_id": row.id,
                "day": row.business_date,
                "received_at": row.received_at,
                "tracking_no": row.tracking_no,
                "carrier": row.carrier,
                "weight_g": row.weight_g,
                "fee_fen": row.fee_fen,
                # Free text a villager's phone may be typed into: masked, the field alone.
                "destination": mask_phones_in_text(row.destination),
                "farm_product": row.farm_product,
                "household_code": row.household_code,
                "status": status,
                "duplicate_of_station": duplicate_of,
                "late_for": row.late_for,
            }
        )
    return {
        "rule": rule,
        "qualifying": len(rows),
        "duplicates": duplicates,
        "withdrawn": withdrawn,
        "over_cap": over_cap,
        "claimed_fen": (len(rows) - duplicates - withdrawn) * per_parcel,
        "payable_fen": payable,
        "capped": over_cap > 0,
        "parcels": parcels,
    }


def _first_claims(dispatches: list[ledger_reads.Dispatch]) -> dict[str, ledger_reads.Dispatch]:
    """For each tracking number, the county's first qualifying live dispatch of it, ever."""
    first: dict[str, ledger_reads.Dispatch] = {}
    for dispatch in dispatches:
        known = first.get(dispatch.tracking_no)
        if known is None or _claim_order(dispatch) < _claim_order(known):
            first[dispatch.tracking_no] = dispatch
    return first
