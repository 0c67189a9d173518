"""The per-parcel logistics subsidy (物流补贴): each station's monthly claim, from the ledger.

The county's rule (registry County): `subsidy_fen_per_parcel` per qualifying dispatched parcel
(farm produce only when `subsidy_farm_only`), at most `subsidy_monthly_cap_fen` per station and
month. A parcel belongs to the month of its business day, like every other figure of the county
(API.md "The programme's figures"): the day the dispatch happened (`occurred_at`) in the county's
time zone, the ledger's `business_date`; a phone clock running ahead of the server is clamped to
the server's day (RELIABILITY P4). A dispatch dated in November that syncs in December is claimed
in November while November is open; once the county has closed November it is claimed in the
station's next open month as 补报 (`late_for`: the closed month it was dated in), and the closed
month's claim never changes.
A tracking number is paid once in the county: the first live dispatch of it (by server time)
is paid, any other dispatch of the same number, at any station and in any month, is flagged as
a duplicate and not paid. A household whose produce failed inspection again and again loses its
claim (backend/trace/inspections.py): its parcels of those days are listed as `withdrawn`, not
claimed and not paid.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend import db
from backend.county.service import county_row
from backend.county.store import ledger_reads, places
from backend.params import parse_month
from backend.privacy import mask_phones_in_text
from backend.trace.inspections import subsidy_withdrawals


def _claim_order(dispatch: ledger_reads.Dispatch) -> tuple:
    """Which of two dispatches of one tracking number is paid: the first the server received (a
    back-dated entry cannot take a claim away from one recorded before it)."""
    return (dispatch.received_at, str(dispatch.id))


def _day_order(dispatch: ledger_reads.Dispatch) -> tuple:
    return (dispatch.business_date, dispatch.received_at, str(dispatch.id))


async def monthly_claims(county_id: uuid.UUID, month: str) -> dict[str, Any]:
    first, last = parse_month(month)
    county = await county_row(county_id)
    farm_only = county.subsidy_farm_only
    per_parcel = county.subsidy_fen_per_parcel
    cap = county.subsidy_monthly_cap_fen
    async with db.read_transaction():
        dispatches = await ledger_reads.live_dispatches(county_id, first, last, farm_only)
        numbers = sorted({row.tracking_no for row in dispatches})
        first_claims = _first_claims(
            await ledger_reads.dispatches_of(county_id, numbers, farm_only)
        )
        stations = await places.stations(county_id, by_township=True)
    withdrawals = await subsidy_withdrawals(county_id, county.timezone)
    codes = {station.id: station.code for station in stations}
    by_station: dict[uuid.UUID, list[ledger_reads.Dispatch]] = {}
    # A station's parcels in the order they happened (the cap pays the month's first ones).
    for row in sorted(dispatches, key=_day_order):
        by_station.setdefault(row.station, []).append(row)
    claims = []
    totals = {
        "qualifying": 0,
        "duplicates": 0,
        "withdrawn": 0,
        "over_cap": 0,
        "claimed_fen": 0,
        "payable_fen": 0,
    }
    for station in stations:
        station_id = station.id
        rows = by_station.get(station_id, [])
        if not rows:
            continue
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
        claimed = (len(rows) - duplicates - withdrawn) * per_parcel
        claims.append(
            {
                "station_id": station_id,
                "name": station.name,
                "code": station.code,
                "township": station.township,
                "qualifying": len(rows),
                "duplicates": duplicates,
                "withdrawn": withdrawn,
                "over_cap": over_cap,
                "claimed_fen": claimed,
                "payable_fen": payable,
                "capped": over_cap > 0,
                "parcels": parcels,
            }
        )
        totals["qualifying"] += len(rows)
        totals["duplicates"] += duplicates
        totals["withdrawn"] += withdrawn
        totals["over_cap"] += over_cap
        totals["claimed_fen"] += claimed
        totals["payable_fen"] += payable
    return {
        "month": month,
        "rule": {
            "fen_per_parcel": per_parcel,
            "farm_only": farm_only,
            "monthly_cap_fen": cap,
        },
        "stations": claims,
        "totals": totals,
    }


def _first_claims(dispatches: list[ledger_reads.Dispatch]) -> dict[str, ledger_reads.Dispatch]:
    """For each tracking number, the county's first qualifying live dispatch of it, ever."""
    first: dict[str, ledger_reads.Dispatch] = {}
    for dispatch in dispatches:
        known = first.get(dispatch.tracking_no)
        if known is None or _claim_order(dispatch) < _claim_order(known):
            first[dispatch.tracking_no] = dispatch
    return first
