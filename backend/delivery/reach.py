"""Courier reach (快递进村): which carriers deliver to which stations and townships.

A carrier reaches a station over a range of business days when the station received at least one
of its parcels on one of them (reversed receipts do not count); it reaches a township when it
reaches one of the township's stations. Any courier reaches a station (or township) that one
carrier or another reaches. The shares are of the county's stations open on the range's last day
and of all its townships (鲁甸 counts couriers reaching ≥ 80 % of townships and every built
station). A month's reach is the API's and the logistics page's; the county's scorecard judges
its reach targets on the year to date (`county_reach`). Each station's own carriers (which
couriers it saw, with their parcels) come with it, from the same receipts.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from typing import Any

from backend.delivery.schemas import (
    CarrierParcels,
    CarrierReach,
    CourierReach,
    StationCarriers,
)
from backend.ledger.reads import carriers_at_stations, stations_receiving
from backend.params import parse_month
from backend.registry import opening
from backend.registry import service as registry
from backend.registry.schemas import StationOut, TownshipOut


def _pct(part: int, whole: int) -> float | None:
    return round(part * 100.0 / whole, 1) if whole else None


async def county_reach(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> CourierReach:
    """Reach over the business days from `first` to `last`, per carrier and by any courier
    (`month` names `first`'s month)."""
    stations = await registry.list_stations(county_id)
    townships = await registry.list_townships(county_id)
    township_of = {station.id: station.township_id for station in stations}
    open_stations = [s for s in stations if opening.built_on(s.opened_on, s.closed_on, last)]
    parcels: dict[str, int] = defaultdict(int)
    reached: dict[str, set[uuid.UUID]] = defaultdict(set)
    seen: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in await carriers_at_stations(county_id, first, last):
        parcels[line.carrier] += line.parcels
        reached[line.carrier].add(line.station_id)
        seen[line.station_id][line.carrier] += line.parcels
    carriers = []
    for carrier in sorted(parcels, key=lambda name: (-len(reached[name]), -parcels[name], name)):
        reached_townships = {township_of[s] for s in reached[carrier] if s in township_of}
        carriers.append(
            CarrierReach(
                carrier=carrier,
                parcels=parcels[carrier],
                stations=len(reached[carrier]),
                townships=len(reached_townships),
                stations_pct=_pct(len(reached[carrier]), len(open_stations)),
                townships_pct=_pct(len(reached_townships), len(townships)),
            )
        )
    any_courier = _any_courier(stations, townships, last, set().union(*reached.values()))
    return CourierReach(
        county_id=county_id,
        month=first.strftime("%Y-%m"),
        stations=len(open_stations),
        townships=len(townships),
        carriers=carriers,
        **any_courier,
        station_carriers=_station_carriers(stations, open_stations, townships, seen),
    )


def _any_courier(
    stations: list[StationOut],
    townships: list[TownshipOut],
    last: datetime.date,
    reached: set[uuid.UUID],
) -> dict[str, Any]:
    """Reach by any courier: a station counts in the share when it is open on the last day; a
    township when one of those stations is in it."""
    township_of = {station.id: station.township_id for station in stations}
    open_ids = {s.id for s in stations if opening.built_on(s.opened_on, s.closed_on, last)}
    any_station = reached & open_ids
    any_township = {township_of[s] for s in any_station}
    return {
        "stations_reached": len(any_station),
        "townships_reached": len(any_township),
        "stations_pct": _pct(len(any_station), len(open_ids)),
        "townships_pct": _pct(len(any_township), len(townships)),
    }


async def county_reach_any(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> dict[str, Any]:
    """`county_reach`'s figures by any courier alone (stations_reached, townships_reached,
    stations_pct, townships_pct), from one probe per station instead of every parcel of the
    range by carrier: the scorecard judges them on the year to date."""
    stations = await registry.list_stations(county_id)
    townships = await registry.list_townships(county_id)
    reached = await stations_receiving(county_id, first, last)
    return _any_courier(stations, townships, last, reached)


def _station_carriers(
    stations: list[StationOut],
    open_stations: list[StationOut],
    townships: list[TownshipOut],
    seen: dict[uuid.UUID, dict[str, int]],
) -> list[StationCarriers]:
    """The open stations and any other that received a parcel, by code, each with its carriers
    (most parcels first)."""
    township_names = {township.id: township.name for township in townships}
    shown = {station.id for station in open_stations} | set(seen)
    return [
        StationCarriers(
            station_id=station.id,
            station_code=station.code,
            station_name=station.name,
            township=township_names.get(station.township_id, ""),
            carriers=[
                CarrierParcels(carrier=carrier, parcels=count)
                for carrier, count in sorted(
                    seen.get(station.id, {}).items(), key=lambda kv: (-kv[1], kv[0])
                )
            ],
        )
        for station in sorted(stations, key=lambda station: station.code)
        if station.id in shown
    ]


async def courier_reach(county_id: uuid.UUID, month: str) -> CourierReach:
    """The month's reach (the API's and the logistics page's)."""
    first, last = parse_month(month)
    return await county_reach(county_id, first, last)
