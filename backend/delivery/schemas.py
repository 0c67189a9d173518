"""What the delivery API takes and returns."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

import msgspec

# A scanner gun's read, before normalisation: the normaliser drops spaces and dashes, so a read
# may be a little longer than the 30 characters a number can have.
ScannedNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
MAX_NUMBERS = 500


class HubDispatch(msgspec.Struct, forbid_unknown_fields=True):
    station_id: uuid.UUID
    tracking_nos: Annotated[list[ScannedNumber], msgspec.Meta(min_length=1, max_length=MAX_NUMBERS)]


class DispatchedParcel(msgspec.Struct):
    tracking_no: str  # normalised
    package: str | None  # "n/m" for a JD package
    carrier: str | None  # guessed from the number
    leg_id: uuid.UUID
    dispatched_at: datetime.datetime
    new: bool  # false: the parcel was already on this route (its leg still open)


class DispatchOut(msgspec.Struct):
    station_id: uuid.UUID
    dispatched_at: datetime.datetime
    created: int
    already_open: int
    parcels: list[DispatchedParcel]


class LegFigures(msgspec.Struct):
    legs: int
    within_48h: int
    rate: float | None  # within_48h / legs, null without legs
    late: int  # closed after 48 h, or open past 48 h
    late_open: int  # still open past 48 h
    pending: int  # still open, within 48 h so far
    median_hours: float | None  # of the closed legs


class StationDelivery(msgspec.Struct):
    station_id: uuid.UUID
    station_name: str
    station_code: str
    legs: int
    within_48h: int
    rate: float | None
    late: int
    late_open: int
    pending: int
    median_hours: float | None


class LateLeg(msgspec.Struct):
    station_id: uuid.UUID
    tracking_no: str
    package: str | None
    dispatched_at: datetime.datetime
    hours_open: float


class CarrierDelivery(LegFigures, kw_only=True):
    carrier: str  # guessed from the number as the hub's scan is (SF, ZTO, JD, …; OTHER)


class CountyDelivery(msgspec.Struct):
    county_id: uuid.UUID
    month: str
    stations: list[StationDelivery]
    totals: LegFigures
    late_open_legs: list[LateLeg]  # the oldest 200, for follow-up
    carriers: list[CarrierDelivery] = []  # most legs first


class CarrierReach(msgspec.Struct):
    carrier: str  # the ledger's carrier code (SF, ZTO, JD, …; OTHER)
    parcels: int  # received at the county's stations in the month
    stations: int  # stations that received at least one
    townships: int  # townships with such a station
    stations_pct: float | None  # of the stations open at the month's end; null without any
    townships_pct: float | None  # of all the county's townships


class CarrierParcels(msgspec.Struct):
    carrier: str
    parcels: int  # received at the station in the month


class StationCarriers(msgspec.Struct):
    """The carriers one station received parcels of in the month (most parcels first)."""

    station_id: uuid.UUID
    station_code: str
    station_name: str
    township: str
    carriers: list[CarrierParcels]


class CourierReach(msgspec.Struct):
    county_id: uuid.UUID
    month: str
    stations: int  # open at the month's end
    townships: int
    carriers: list[CarrierReach]  # the widest reach first
    # By any courier: the open stations that received a parcel of one carrier or another, and
    # the townships with such a station; the shares as the carriers' (null without any).
    stations_reached: int = 0
    townships_reached: int = 0
    stations_pct: float | None = None
    townships_pct: float | None = None
    # Each station open at the month's end (and any other that received a parcel), by code,
    # with the carriers it saw: an open station without any has an empty list.
    station_carriers: list[StationCarriers] = []


TrackStatus = Literal["on_route", "on_shelf", "picked_up", "returned", "unknown"]


class TrackOut(msgspec.Struct, omit_defaults=True):
    status: TrackStatus
    station: str | None = None  # the station's name, only when the phone tail matches
    pickup_code: str | None = None  # only when on the shelf and the phone tail matches
    opening_hours: str | None = None
