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
claim (backend/trace/inspections.py, the county's `subsidy_withdraw_after_failures`): its parcels
of those days are listed as `withdrawn`, not claimed and not paid.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from backend import db
from backend.county.service import county_row
from backend.county.store import dispatch_reads, frozen_rows, places
from backend.county.store.dispatch_reads import Dispatch
from backend.county.store.frozen_rows import FrozenMonth
from backend.county.store.places import CountyRow
from backend.params import parse_month
from backend.privacy import mask_phones_in_text
from backend.trace.inspections import SubsidyWithdrawals, subsidy_withdrawals


def _claim_order(dispatch: Dispatch) -> tuple:
    """Which of two dispatches of one tracking number is paid: the first the server received (a
    back-dated entry cannot take a claim away from one recorded before it). Ids last, as
    UUIDs: ordered as their text is, without writing tens of thousands of them out as text."""
    return (dispatch.received_at, dispatch.id)


def _day_order(dispatch: Dispatch) -> tuple:
    return (dispatch.business_date, dispatch.received_at, dispatch.id)


def _rule(fen_per_parcel: int, farm_only: bool, monthly_cap_fen: int) -> dict[str, Any]:
    return {
        "fen_per_parcel": fen_per_parcel,
        "farm_only": farm_only,
        "monthly_cap_fen": monthly_cap_fen,
    }


def _county_rule(county: CountyRow) -> dict[str, Any]:
    """The rule a live claim is counted under now, with the county's inspection rule
    (`withdraw_after_failures`: failed inspections in a row that withdraw a household's claim,
    0 = none): a closed claim is frozen with both."""
    return {
        **_rule(
            county.subsidy_fen_per_parcel,
            county.subsidy_farm_only,
            county.subsidy_monthly_cap_fen,
        ),
        "withdraw_after_failures": county.subsidy_withdraw_after_failures,
    }


def _month_rule(
    county: CountyRow,
    frozen: dict[uuid.UUID, FrozenMonth],
    stations: list[places.StationRow],
    frozen_claims: list[dict[str, Any]],
) -> dict[str, Any]:
    """The rule the month is claimed under: the one frozen with it when the county has closed
    every station's month under one rule (the inspection rule too, as its frozen claims were
    judged: `frozen_claims`), else the county's rule now. A claim frozen before the inspection
    rule was kept with it, or a month without any claim, shows the county's inspection rule
    now."""
    rules = {(f.fen_per_parcel, f.farm_only, f.monthly_cap_fen) for f in frozen.values()}
    now = _county_rule(county)
    if len(rules) != 1 or not {station.id for station in stations} <= set(frozen):
        return now
    kept = {
        claim["rule"]["withdraw_after_failures"]
        for claim in frozen_claims
        if "withdraw_after_failures" in claim["rule"]
    }
    withdraw = kept.pop() if len(kept) == 1 else now["withdraw_after_failures"]
    return {**_rule(*rules.pop()), "withdraw_after_failures": withdraw}


async def monthly_claims(county_id: uuid.UUID, month: str) -> dict[str, Any]:
    """Each station's claim of the month: as frozen at close for a closed station-month
    (frozen.py), else counted now under the county's rule."""
    return await _month_claims(county_id, month, sheet=False)


async def sheet_claims(county_id: uuid.UUID, month: str) -> dict[str, Any]:
    """`monthly_claims` as the workbook's 补贴明细 lists it: each station's parcels as
    `SheetParcel` tuples, not dicts (a month is tens of thousands of parcels), and without the
    destination the sheet never shows (so not masked either). The same read and the same
    judgement of each parcel as the API's: the two never disagree."""
    return await _month_claims(county_id, month, sheet=True)


# A parcel as the sheet lists it: a plain tuple of these fields (a NamedTuple's constructor cost
# more than the rest of judging the parcel).
SHEET_FIELDS = ("day", "carrier", "tracking_no", "weight_g", "farm_product", "household_code",
                "status", "duplicate_of_station", "late_for")  # fmt: skip
SheetParcel = tuple[
    datetime.date, str, str, int | None, bool, str | None, str, str | None, str | None
]


async def _month_claims(county_id: uuid.UUID, month: str, sheet: bool) -> dict[str, Any]:
    first, last = parse_month(month)
    county = await county_row(county_id)
    async with db.read_transaction():
        stations = await places.stations(county_id, by_township=True)
        frozen = {row.station: row for row in await frozen_rows.of_county(county_id, [month])}
    live = await _live_claims(
        county, first, last, {station.id for station in stations} - set(frozen), sheet
    )
    claims, frozen_claims = [], []
    totals = dict.fromkeys(TOTALS, 0)
    for station in stations:
        claim = _thawed(frozen[station.id].claim) if station.id in frozen else live.get(station.id)
        if claim is None:
            continue
        if station.id in frozen:
            frozen_claims.append(claim)
        if sheet and station.id in frozen:
            claim["parcels"] = [_frozen_line(parcel) for parcel in claim["parcels"]]
        claims.append(
            {"station_id": station.id, "name": station.name, "code": station.code,
             "township": station.township, **claim}
        )  # fmt: skip
        for key in TOTALS:
            totals[key] += claim[key]
    return {
        "month": month,
        "rule": _month_rule(county, frozen, stations, frozen_claims),
        "stations": claims,
        "totals": totals,
    }


FEW_STATIONS = 20
TOTALS = ("qualifying", "duplicates", "withdrawn", "over_cap", "claimed_fen", "payable_fen")


async def monthly_summary(
    county_id: uuid.UUID, month: str, chosen_code: str | None
) -> dict[str, Any]:
    """What the claims page shows: `monthly_claims`' figures of every station without their
    parcels (a county dispatches tens of thousands a month: live stations are counted in SQL),
    the parcels of one chosen station, and every parcel claimed twice."""
    first, last = parse_month(month)
    county = await county_row(county_id)
    async with db.read_transaction():
        stations = await places.stations(county_id, by_township=True)
        frozen = {row.station: row for row in await frozen_rows.of_county(county_id, [month])}
    live = {station.id for station in stations} - set(frozen)
    counted, live_duplicates = await _live_counts(county, first, last, live)
    claims, duplicates, chosen, frozen_claims = [], [], None, []
    totals = dict.fromkeys(TOTALS, 0)
    for station in stations:
        if station.id in frozen:
            claim = _thawed(frozen[station.id].claim)
            own = [p for p in claim["parcels"] if p["status"] == "duplicate"] if claim else []
            frozen_claims += [claim] if claim else []
        else:
            claim, own = counted.get(station.id), live_duplicates.get(station.id, [])
        if claim is None:
            continue
        place = {"station_id": station.id, "name": station.name, "code": station.code}
        claims.append({**place, "township": station.township, **claim})
        duplicates += [
            {**p, "station_code": station.code, "station_name": station.name} for p in own
        ]
        for key in TOTALS:
            totals[key] += claim[key]
        if station.code == chosen_code:
            chosen = claims[-1]
            if "parcels" not in chosen:  # counted, not listed: its parcels read alone
                live_claim = await _live_claims(county, first, last, {station.id})
                chosen["parcels"] = live_claim[station.id]["parcels"]
    return {
        "rule": _month_rule(county, frozen, stations, frozen_claims),
        "stations": claims,
        "totals": totals,
        "chosen": chosen,
        "duplicate_parcels": duplicates,
    }


async def _live_counts(
    county: CountyRow, first: datetime.date, last: datetime.date, wanted: set[uuid.UUID]
) -> tuple[dict[uuid.UUID, dict[str, Any]], dict[uuid.UUID, list[dict[str, Any]]]]:
    """`_live_claims`' figures of these stations without listing their parcels, and each
    station's duplicate parcels. Only a contested number can be a duplicate and only a named
    household withdrawn; the cap depends on how many parcels are left, not on which."""
    rule = _county_rule(county)
    farm_only, per_parcel = rule["farm_only"], rule["fen_per_parcel"]
    if not wanted:
        return {}, {}
    async with db.read_transaction():
        counts = await dispatch_reads.counts_by_station(county.id, first, last, farm_only)
        first_claims, contested = await _contested(county.id, first, last, farm_only)
        duplicate_ids = [
            row.id
            for row in contested
            if row.station in wanted and first_claims[row.tracking_no].id != row.id
        ]
        duplicate_rows = await dispatch_reads.details(duplicate_ids)
        codes = {station.id: station.code for station in await places.stations(county.id)}
    withdrawn = await _withdrawn_counts(county, first, last, farm_only, set(duplicate_ids))
    duplicates: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in sorted(duplicate_rows, key=_day_order):
        duplicate_of = codes.get(first_claims[row.tracking_no].station, "")
        duplicates.setdefault(row.station, []).append(_parcel(row, "duplicate", duplicate_of))
    claims = {}
    for station_id, qualifying in counts.items():
        if station_id not in wanted:
            continue
        left = qualifying - len(duplicates.get(station_id, ())) - withdrawn.get(station_id, 0)
        payable, over_cap = _within_cap(left, per_parcel, rule["monthly_cap_fen"])
        claims[station_id] = {
            "rule": rule,
            "qualifying": qualifying,
            "duplicates": len(duplicates.get(station_id, ())),
            "withdrawn": withdrawn.get(station_id, 0),
            "over_cap": over_cap,
            "claimed_fen": left * per_parcel,
            "payable_fen": payable,
            "capped": over_cap > 0,
        }
    return claims, duplicates


async def _withdrawn_counts(
    county: CountyRow, first, last, farm_only: bool, duplicates: set[str]
) -> dict[uuid.UUID, int]:
    """Per station, its parcels withdrawn (a duplicate is a duplicate, not withdrawn)."""
    withdrawals = await subsidy_withdrawals(county.id, county.timezone)
    if not withdrawals.codes:
        return {}
    async with db.read_transaction():
        named = await dispatch_reads.of_households(
            county.id, first, last, farm_only, sorted(withdrawals.codes)
        )
    counts: dict[uuid.UUID, int] = {}
    for row in named:
        if row.id not in duplicates and withdrawals.withdrawn(
            row.household_code, row.business_date
        ):
            counts[row.station] = counts.get(row.station, 0) + 1
    return counts


def _within_cap(parcels: int, per_parcel: int, cap: int) -> tuple[int, int]:
    """What `_claim` pays for this many parcels one after the other under the cap, and how many
    are over it."""
    payable = over_cap = 0
    for _ in range(parcels):
        if payable + per_parcel > cap:
            over_cap += 1
        else:
            payable += per_parcel
    return payable, over_cap


async def station_claim_json(county_id: uuid.UUID, month: str, station_id: uuid.UUID) -> str:
    """What a close freezes: the station's claim of the month as it stands now, as JSON ("" when
    it has none)."""
    first, last = parse_month(month)
    county = await county_row(county_id)
    claim = (await _live_claims(county, first, last, {station_id})).get(station_id)
    return msgspec.json.encode(claim).decode() if claim is not None else ""


def _thawed(text: str) -> dict[str, Any] | None:
    """A frozen claim read back with the types a live one has (its ids text, as read)."""
    if not text:
        return None
    claim = msgspec.json.decode(text)
    for parcel in claim["parcels"]:
        parcel["day"] = datetime.date.fromisoformat(parcel["day"])
        parcel["received_at"] = datetime.datetime.fromisoformat(parcel["received_at"])
    return claim


async def _live_claims(
    county: CountyRow,
    first: datetime.date,
    last: datetime.date,
    wanted: set[uuid.UUID],
    sheet: bool = False,
) -> dict[uuid.UUID, dict[str, Any]]:
    """The claims of these stations over [first, last], counted now under the county's rule
    (their parcels as `SheetParcel`s when `sheet`)."""
    rule = _county_rule(county)
    if not wanted:
        return {}
    # A few stations (a close, the page's chosen one) are read alone, many as the county.
    only = sorted(wanted, key=str) if len(wanted) <= FEW_STATIONS else None
    async with db.read_transaction():
        dispatches = await dispatch_reads.live_dispatches(
            county.id, first, last, rule["farm_only"], only, sheet
        )
        first_claims, _ = await _contested(county.id, first, last, rule["farm_only"], only)
        codes = {station.id: station.code for station in await places.stations(county.id)}
    withdrawals = await subsidy_withdrawals(county.id, county.timezone)
    by_station: dict[uuid.UUID, list[Dispatch]] = {}
    # Read in the order they happened (the cap pays the month's first ones; `_day_order`).
    for row in dispatches:
        by_station.setdefault(row.station, []).append(row)
    parcel = _sheet_parcel if sheet else _parcel
    return {
        station_id: _claim(rows, rule, first_claims, codes, withdrawals, parcel)
        for station_id, rows in by_station.items()
        if station_id in wanted
    }


async def _contested(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    farm_only: bool,
    only: list[uuid.UUID] | None = None,
) -> tuple[dict[str, Dispatch], list[Dispatch]]:
    """For each tracking number dispatched in [first, last] and elsewhere too, the county's first
    qualifying dispatch of it (any other number's only dispatch is its own first claim), and the
    month's dispatches of those numbers (of these stations, when given): the only ones that can
    be duplicates."""
    numbers = await dispatch_reads.contested_numbers(county_id, first, last, farm_only, only)
    first_claims: dict[str, Dispatch] = {}
    in_month = []
    for dispatch in await dispatch_reads.dispatches_of(county_id, numbers, farm_only):
        known = first_claims.get(dispatch.tracking_no)
        if known is None or _claim_order(dispatch) < _claim_order(known):
            first_claims[dispatch.tracking_no] = dispatch
        day = dispatch.business_date
        if day is not None and first <= day <= last and (only is None or dispatch.station in only):
            in_month.append(dispatch)
    return first_claims, in_month


def _claim(
    rows: list[Dispatch],
    rule: dict[str, Any],
    first_claims: dict[str, Dispatch],
    codes: dict[uuid.UUID, str],
    withdrawals: SubsidyWithdrawals,
    parcel: Callable[[Dispatch, str, str | None], Any],
) -> dict[str, Any]:
    """One station's claim: its parcels (each `parcel(row, status, duplicate_of)`), each paid, a
    duplicate, withdrawn or over the cap."""
    per_parcel, cap = rule["fen_per_parcel"], rule["monthly_cap_fen"]
    parcels, payable, duplicates, withdrawn, over_cap = [], 0, 0, 0, 0
    for row in rows:
        first_claim = first_claims.get(row.tracking_no, row)
        status, duplicate_of = "paid", None
        if first_claim is not row and first_claim.id != row.id:
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
        parcels.append(parcel(row, status, duplicate_of))
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


def _parcel(row: Dispatch, status: str, duplicate_of: str | None) -> dict[str, Any]:
    return {
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


def _sheet_parcel(row: Dispatch, status: str, duplicate_of: str | None) -> SheetParcel:
    return (
        row.business_date, row.carrier, row.tracking_no, row.weight_g, row.farm_product,  # type: ignore[return-value]
        row.household_code, status, duplicate_of, row.late_for,
    )  # fmt: skip


def _frozen_line(parcel: dict[str, Any]) -> SheetParcel:
    """A frozen claim's parcel (a dict, `_thawed`) as the sheet lists it."""
    return tuple(parcel[field] for field in SHEET_FIELDS)  # type: ignore[return-value]
