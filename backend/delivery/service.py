"""The hub's hand-overs, the county's 48-hour figures, and a villager's lookup of a parcel.

Legs close at read time, from the ledger's receipts (`ledger.reads.parcel_sightings`): nothing
is written when a parcel arrives, so the hub's scan and the station's sync may come in either
order, or at once, and a month's figures are always those of the ledger as it stands.
"""

from __future__ import annotations

import datetime
import re
import uuid
import zoneinfo

import msgspec

from backend import clock, db
from backend.accounts import service as accounts
from backend.accounts.schemas import CurrentUser
from backend.db import is_integrity_error
from backend.delivery import store
from backend.delivery.legs import LATE_AFTER, Receipts, Tally, hours
from backend.delivery.schemas import (
    CarrierDelivery,
    CountyDelivery,
    DispatchedParcel,
    DispatchOut,
    HubDispatch,
    LateLeg,
    LegFigures,
    StationDelivery,
    TrackOut,
)
from backend.delivery.throttle import TrackThrottle
from backend.errors import DomainError
from backend.ledger.carriers import (
    Scanned,
    guess_carrier,
    is_possible_tracking_no,
    parse_tracking_no,
)
from backend.ledger.reads import parcel_sightings
from backend.params import parse_month
from backend.registry import service as registry

# Control characters, direction overrides, lone surrogates, noncharacters: nothing a waybill holds.
_NOT_ON_A_WAYBILL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
LATE_LIST_LIMIT = 200


def scanned_number(raw: str, position: int | None = None) -> Scanned:
    """A scan or typed number normalised as the ledger does (JD `-n-m-` packages kept apart);
    a localized 422 naming its position when it cannot be a tracking number."""
    text = raw.strip()
    scanned = parse_tracking_no(text)
    if (
        not text
        or _NOT_ON_A_WAYBILL.search(text)
        or not is_possible_tracking_no(scanned.tracking_no)
    ):
        if position is None:
            raise DomainError("delivery_invalid_tracking_no", field="tracking_no")
        raise DomainError(
            "delivery_invalid_tracking_no_at", field="tracking_nos", position=position
        )
    return scanned


# The hub ---------------------------------------------------------------------------------------


async def dispatch(
    user: CurrentUser,
    county_id: uuid.UUID,
    data: HubDispatch,
    at: datetime.datetime | None = None,
) -> DispatchOut:
    """The hub hands these parcels to the station's route now (`at`: when it did, for the demo's
    history). A parcel whose leg to this station is still open is not handed over twice (its leg
    is answered again, `new: false`)."""
    try:
        station = await registry.get_station(data.station_id)
    except DomainError:
        station = None
    if station is None or station.county_id != county_id:
        raise DomainError("delivery_unknown_station", field="station_id")
    if station.closed_at is not None:
        raise DomainError("delivery_station_closed", field="station_id")
    parcels: dict[tuple[str, str], Scanned] = {}
    for position, raw in enumerate(data.tracking_nos, start=1):
        scanned = scanned_number(raw, position)
        parcels.setdefault((scanned.tracking_no, scanned.package or ""), scanned)
    try:
        return await _hand_over(user, county_id, station.id, parcels, at)
    except Exception as exc:
        # Another scan of one of these parcels to this station won the race for its leg: read
        # again, and its leg is open.
        if not is_integrity_error(exc):
            raise
        return await _hand_over(user, county_id, station.id, parcels, at)


async def _hand_over(
    user: CurrentUser,
    county_id: uuid.UUID,
    station_id: uuid.UUID,
    parcels: dict[tuple[str, str], Scanned],
    at: datetime.datetime | None,
) -> DispatchOut:
    now = at or clock.utcnow()
    numbers = sorted({number for number, _ in parcels})
    receipts = Receipts(await parcel_sightings(numbers, [station_id]))
    answered: list[DispatchedParcel] = []
    new_legs: list[store.NewLeg] = []
    async with db.write_transaction():
        latest = await store.latest_legs(station_id, numbers)
        for key, scanned in parcels.items():
            previous = latest.get(key)
            carrier = guess_carrier(scanned.tracking_no)
            if previous is not None and receipts.closing(previous) is None:
                answered.append(
                    DispatchedParcel(
                        tracking_no=scanned.tracking_no,
                        package=scanned.package,
                        carrier=carrier,
                        leg_id=previous.id,
                        dispatched_at=previous.dispatched_at,
                        new=False,
                    )
                )
                continue
            leg = store.NewLeg(
                id=uuid.uuid4(),
                county=county_id,
                station=station_id,
                tracking_no=scanned.tracking_no,
                package=scanned.package or "",
                round=previous.round + 1 if previous else 1,
                dispatched_at=now,
                dispatched_by=user.id,
            )
            new_legs.append(leg)
            answered.append(
                DispatchedParcel(
                    tracking_no=leg.tracking_no,
                    package=scanned.package,
                    carrier=carrier,
                    leg_id=leg.id,
                    dispatched_at=now,
                    new=True,
                )
            )
        await store.insert_legs(new_legs)
        if new_legs:
            await accounts.audit(
                user,
                "hub.dispatched",
                "station",
                station_id,
                county_id,
                created=len(new_legs),
                already_open=len(answered) - len(new_legs),
            )
    return DispatchOut(
        station_id=station_id,
        dispatched_at=now,
        created=len(new_legs),
        already_open=len(answered) - len(new_legs),
        parcels=answered,
    )


# The county's figures --------------------------------------------------------------------------


def _figures(tally: Tally) -> LegFigures:
    return LegFigures(
        legs=tally.legs,
        within_48h=tally.within_48h,
        rate=tally.rate,
        late=tally.late,
        late_open=tally.late_open,
        pending=tally.pending,
        median_hours=tally.median_hours,
    )


async def _month_legs(
    county_id: uuid.UUID, month: str | None
) -> tuple[datetime.date, list[store.LegRow], Receipts]:
    """The month's first day, the legs dispatched in it (county time) and their receipts."""
    first, last = parse_month(month)
    county = await registry.get_county(county_id)
    zone = zoneinfo.ZoneInfo(county.timezone)
    start = datetime.datetime.combine(first, datetime.time(), zone).astimezone(datetime.UTC)
    following = last + datetime.timedelta(days=1)
    end = datetime.datetime.combine(following, datetime.time(), zone).astimezone(datetime.UTC)
    async with db.read_transaction():
        legs = await store.county_legs(county_id, start, end)
    receipts = Receipts(
        await parcel_sightings(
            [leg.tracking_no for leg in legs], sorted({leg.station for leg in legs})
        )
    )
    return first, legs, receipts


async def county_delivery_totals(county_id: uuid.UUID, month: str | None) -> LegFigures:
    """`county_delivery`'s totals alone: the kpis' 县到村 48 h sums a year of months, where each
    month's rows per station (the registry's stations read and built) were most of the cost."""
    _, legs, receipts = await _month_legs(county_id, month)
    now = clock.utcnow()
    total = Tally()
    for leg in legs:
        total.add(leg.dispatched_at, receipts.closing(leg), now)
    return _figures(total)


async def county_delivery(county_id: uuid.UUID, month: str | None) -> CountyDelivery:
    """The month's legs (dispatched in it, county time) per station and in total, as they stand
    now: within 48 h, late (closed after 48 h or open past it), still pending."""
    first, legs, receipts = await _month_legs(county_id, month)
    stations = await registry.list_stations(county_id)
    now = clock.utcnow()
    total = Tally()
    by_station: dict[uuid.UUID, Tally] = {}
    by_carrier: dict[str, Tally] = {}
    late: list[LateLeg] = []
    for leg in legs:
        closed_at = receipts.closing(leg)
        total.add(leg.dispatched_at, closed_at, now)
        by_station.setdefault(leg.station, Tally()).add(leg.dispatched_at, closed_at, now)
        carrier = guess_carrier(leg.tracking_no) or "OTHER"
        by_carrier.setdefault(carrier, Tally()).add(leg.dispatched_at, closed_at, now)
        if closed_at is None and now - leg.dispatched_at > LATE_AFTER:
            late.append(
                LateLeg(
                    station_id=leg.station,
                    tracking_no=leg.tracking_no,
                    package=leg.package or None,
                    dispatched_at=leg.dispatched_at,
                    hours_open=round(hours(leg.dispatched_at, now), 1),
                )
            )
    rows = []
    for station in stations:
        tally = by_station.get(station.id)
        if tally is None and station.closed_at is not None:
            continue  # a closed station without legs this month is no route
        tally = tally or Tally()
        rows.append(
            StationDelivery(
                station_id=station.id,
                station_name=station.name,
                station_code=station.code,
                legs=tally.legs,
                within_48h=tally.within_48h,
                rate=tally.rate,
                late=tally.late,
                late_open=tally.late_open,
                pending=tally.pending,
                median_hours=tally.median_hours,
            )
        )
    return CountyDelivery(
        county_id=county_id,
        month=first.strftime("%Y-%m"),
        stations=rows,
        totals=_figures(total),
        late_open_legs=late[:LATE_LIST_LIMIT],
        carriers=[
            CarrierDelivery(carrier=carrier, **msgspec.structs.asdict(_figures(tally)))
            for carrier, tally in sorted(by_carrier.items(), key=lambda kv: (-kv[1].legs, kv[0]))
        ],
    )


# The villagers' lookup -------------------------------------------------------------------------


def _tail_matches(phone_last4: str | None, tail: str) -> bool:
    return bool(phone_last4) and len(tail) == 4 and tail.isdigit() and tail == phone_last4


def check_phone_last4(phone_last4: str | None) -> str | None:
    if phone_last4 in (None, ""):
        return None
    if not (phone_last4.isascii() and phone_last4.isdigit() and len(phone_last4) == 4):
        raise DomainError("invalid_phone_last4", status=400, field="phone_last4")
    return phone_last4


async def track(
    throttle: TrackThrottle, address: str, tracking_no: str | None, phone_last4: str | None
) -> TrackOut:
    """Where a parcel is: on the county hub's route, on a station's shelf, picked up or returned.
    The station, its hours and the pickup code only for the recipient's phone's last four; never
    a phone number. Throttled per address and per number (429)."""
    if not tracking_no or len(tracking_no) > 64:
        raise DomainError("delivery_invalid_tracking_no", status=400, field="tracking_no")
    tail = check_phone_last4(phone_last4)
    text = tracking_no.strip()
    scanned = parse_tracking_no(text)
    if _NOT_ON_A_WAYBILL.search(text):
        raise DomainError("delivery_invalid_tracking_no", status=400, field="tracking_no")
    throttle.admit(address, scanned.tracking_no)
    answer = await _where(scanned, tail) if is_possible_tracking_no(scanned.tracking_no) else None
    if answer is None or answer.station is None:
        throttle.missed(scanned.tracking_no)
    return answer or TrackOut(status="unknown")


async def _where(scanned: Scanned, phone_last4: str | None) -> TrackOut | None:
    package = scanned.package or ""

    def same_parcel(other: str) -> bool:
        return not package or other in ("", package)

    sightings = [s for s in await parcel_sightings([scanned.tracking_no]) if same_parcel(s.package)]
    async with db.read_transaction():
        legs = [
            leg
            for leg in await store.legs_of_number(scanned.tracking_no)
            if same_parcel(leg.package)
        ]
    receipts = Receipts(sightings)
    if legs and receipts.closing(legs[-1]) is None:
        return TrackOut(status="on_route")
    if not sightings:
        return None
    latest = sightings[-1]
    if latest.state not in ("on_shelf", "picked_up", "returned"):
        return None
    if not _tail_matches(phone_last4, latest.phone_tail):
        return TrackOut(status=latest.state)  # type: ignore[arg-type]
    station = await registry.get_station(latest.station_id)
    return TrackOut(
        status=latest.state,  # type: ignore[arg-type]
        station=station.name,
        pickup_code=latest.pickup_code if latest.state == "on_shelf" else None,
        opening_hours=(station.opening_hours or None) if latest.state == "on_shelf" else None,
    )
