"""The per-parcel logistics subsidy (物流补贴): each station's monthly claim, from the ledger.

The county's rule (registry County): `subsidy_fen_per_parcel` per qualifying dispatched parcel
(farm produce only when `subsidy_farm_only`), at most `subsidy_monthly_cap_fen` per station and
month. A parcel belongs to the month in which the server received it (county-local), not the
phone's date, so a back-dated entry cannot reopen a month already claimed (RELIABILITY P4).
A tracking number is paid once in the county: the first live dispatch of it (by server time)
is paid, any other dispatch of the same number, at any station and in any month, is flagged as
a duplicate and not paid.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from typing import Any

from backend import db
from backend.county.service import county_row, parse_month
from backend.county.store import chunks
from backend.privacy import mask_phones_in_text


def _month_bounds(first: datetime.date, last: datetime.date, timezone: str):
    zone = zoneinfo.ZoneInfo(timezone)
    start = datetime.datetime.combine(first, datetime.time(), zone)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time(), zone)
    return start.astimezone(datetime.UTC), end.astimezone(datetime.UTC)


def _claim_order(row: dict[str, Any]) -> tuple:
    return (db.as_moment(row["received_at"]), str(db.as_uuid(row["id"])))


async def monthly_claims(county_id: uuid.UUID, month: str) -> dict[str, Any]:
    first, last = parse_month(month)
    county = await county_row(county_id)
    start, end = _month_bounds(first, last, county.timezone)
    farm_only = county.subsidy_farm_only
    per_parcel = county.subsidy_fen_per_parcel
    cap = county.subsidy_monthly_cap_fen
    qualifying = "d.reversed = $2" + (" AND d.farm_product = $5" if farm_only else "")
    args: list[Any] = [county_id, False, start, end] + ([True] if farm_only else [])
    async with db.read_transaction():
        dispatches = await db.fetch(
            "SELECT d.id, d.station, d.tracking_no, d.carrier, d.weight_g, d.fee_fen, "
            "d.destination, d.farm_product, d.household_code, d.business_date, d.received_at "
            f"FROM ledger_dispatch d WHERE d.county = $1 AND {qualifying} "
            "AND d.received_at >= $3 AND d.received_at < $4",
            *args,
        )
        first_claims = await _first_claims(
            county_id, sorted({row["tracking_no"] for row in dispatches}), farm_only
        )
        stations = await db.fetch(
            "SELECT s.id, s.name, s.code, t.name AS township FROM registry_station s "
            "JOIN registry_township t ON t.id = s.township WHERE s.county = $1 "
            "ORDER BY t.name, s.code",
            county_id,
        )
    codes = {db.as_uuid(s["id"]): s["code"] for s in stations}
    by_station: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in sorted(dispatches, key=_claim_order):
        by_station.setdefault(db.as_uuid(row["station"]), []).append(row)
    claims, totals = [], {"qualifying": 0, "duplicates": 0, "over_cap": 0, "payable_fen": 0}
    for station in stations:
        station_id = db.as_uuid(station["id"])
        rows = by_station.get(station_id, [])
        if not rows:
            continue
        parcels, payable, duplicates, over_cap = [], 0, 0, 0
        for row in rows:
            first_claim = first_claims[row["tracking_no"]]
            status, duplicate_of = "paid", None
            if db.as_uuid(first_claim["id"]) != db.as_uuid(row["id"]):
                status = "duplicate"
                duplicate_of = codes.get(db.as_uuid(first_claim["station"]), "")
                duplicates += 1
            elif payable + per_parcel > cap:
                status = "over_cap"
                over_cap += 1
            else:
                payable += per_parcel
            parcels.append(
                {
                    "dispatch_id": db.as_uuid(row["id"]),
                    "day": db.as_date(row["business_date"]),
                    "received_at": db.as_moment(row["received_at"]),
                    "tracking_no": row["tracking_no"],
                    "carrier": row["carrier"],
                    "weight_g": row["weight_g"],
                    "fee_fen": row["fee_fen"],
                    "destination": mask_phones_in_text(row["destination"]),
                    "farm_product": bool(row["farm_product"]),
                    "household_code": row["household_code"],
                    "status": status,
                    "duplicate_of_station": duplicate_of,
                }
            )
        claims.append(
            {
                "station_id": station_id,
                "name": station["name"],
                "code": station["code"],
                "township": station["township"],
                "qualifying": len(rows),
                "duplicates": duplicates,
                "over_cap": over_cap,
                "claimed_fen": (len(rows) - duplicates) * per_parcel,
                "payable_fen": payable,
                "capped": over_cap > 0,
                "parcels": parcels,
            }
        )
        totals["qualifying"] += len(rows)
        totals["duplicates"] += duplicates
        totals["over_cap"] += over_cap
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


async def _first_claims(
    county_id: uuid.UUID, tracking_numbers: list[str], farm_only: bool
) -> dict[str, dict[str, Any]]:
    """For each tracking number, the county's first qualifying live dispatch of it, ever."""
    first: dict[str, dict[str, Any]] = {}
    farm = " AND farm_product = $3" if farm_only else ""
    for chunk in chunks(tracking_numbers):
        offset = 4 if farm_only else 3
        rows = await db.fetch(
            "SELECT id, station, tracking_no, received_at FROM ledger_dispatch "
            f"WHERE county = $1 AND reversed = $2{farm} "
            f"AND tracking_no IN ({db.in_list(chunk, offset)})",
            county_id,
            False,
            *([True] if farm_only else []),
            *chunk,
        )
        for row in rows:
            known = first.get(row["tracking_no"])
            if known is None or _claim_order(row) < _claim_order(known):
                first[row["tracking_no"]] = row
    return first
