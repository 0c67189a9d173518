"""The station's reads: the pull, the parcels on the shelf, a recipient's number, purchases,
the day's cashbook and the home screen's summary."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from backend import db
from backend.errors import DomainError
from backend.ledger.carriers import parse_tracking_no, phone_form
from backend.ledger.schemas import (
    ACCOUNT_FIELDS,
    PHONE_FIELDS,
    Cashbook,
    CashbookLine,
    ParcelOut,
    ParcelRule,
    PulledEvent,
    PullResponse,
    PurchaseOut,
    RecipientSuggestion,
    StationSummary,
)
from backend.ledger.service import (
    cash_count,
    expected_cash,
    latest_cash_counts,
    local_today,
    parcel_charges,
    station_facts,
    week_start,
)
from backend.ledger.store import events as event_store
from backend.ledger.store import projections as projection_store
from backend.ledger.store import stations as station_store
from backend.notify import villagers
from backend.privacy import mask_account, mask_phone

PULL_PAGE = 500
PARCEL_STATES = ("on_shelf", "picked_up", "returned", "all")
PURCHASE_STATES = ("ordered", "delivered", "reversed")


# Pull -----------------------------------------------------------------------------------------


def mask_data(data: dict[str, Any]) -> dict[str, Any]:
    masked = dict(data)
    for key in PHONE_FIELDS:
        if key in masked:
            masked[key] = mask_phone(masked[key])
    for key in ACCOUNT_FIELDS:
        if key in masked:
            masked[key] = mask_account(masked[key])
    return masked


def parse_cursor(since: str | None) -> int:
    if since in (None, ""):
        return 0
    # str.isdigit() also says yes to "²" and "١٢", which int() then refuses or misreads.
    if not (since.isascii() and since.isdigit()) or len(since) > 12:
        raise DomainError("invalid_cursor", status=400, field="since")
    return int(since)


async def pull(station_id: uuid.UUID, since: int, limit: int = PULL_PAGE) -> PullResponse:
    """The station's events after the cursor, in order, each once; personal data masked."""
    async with db.read_transaction():
        rows = await event_store.after(station_id, since, limit + 1)
    more = len(rows) > limit
    events = [
        PulledEvent(
            id=row.id,
            seq=row.seq,
            type=row.type,
            occurred_at=row.occurred_at,
            received_at=row.received_at,
            business_date=row.business_date,
            device_id=row.device_id,
            keeper_id=row.keeper,
            data=mask_data(row.data),
            server=row.server_data,
            reversed_by=row.reversed_by,
        )
        for row in rows[:limit]
    ]
    cursor = events[-1].seq if events else since
    return PullResponse(events=events, cursor=str(cursor), more=more)


# Parcels and purchases ------------------------------------------------------------------------


async def list_parcels(
    station_id: uuid.UUID,
    state: str,
    unmasked: bool,
    code: str | None = None,
    phone_last4: str | None = None,
    tracking_no: str | None = None,
    limit: int = 500,
) -> list[ParcelOut]:
    if state not in PARCEL_STATES:
        raise DomainError("invalid_choice", status=400, field="state")
    package = None
    if tracking_no:
        scanned = parse_tracking_no(tracking_no)
        tracking_no, package = scanned.tracking_no, scanned.package
    if phone_last4 and not (
        phone_last4.isascii() and phone_last4.isdigit() and len(phone_last4) == 4
    ):
        raise DomainError("invalid_phone_last4", status=400, field="phone_last4")
    async with db.read_transaction():
        facts = await station_facts(station_id)
        found = await projection_store.find_parcels(
            station_id, state, code, tracking_no, package, phone_last4, limit
        )
        notices = await villagers.notice_states([parcel.id for parcel in found])
    today = local_today(facts)
    parcels = []
    for parcel in found:
        notice, notices_sent = notices.get(parcel.id, ("none", 0))
        days, fee, overdue = parcel_charges(facts, parcel.received_date, today)
        on_shelf = parcel.state == "on_shelf"
        parcels.append(
            ParcelOut(
                id=parcel.id,
                tracking_no=parcel.tracking_no,
                package=parcel.package or None,
                carrier=parcel.carrier,
                recipient_phone=parcel.recipient_phone
                if unmasked
                else mask_phone(parcel.recipient_phone),
                recipient_phone_form=phone_form(parcel.recipient_phone) or "full",
                recipient_name=parcel.recipient_name,
                pickup_code=parcel.pickup_code,
                state=parcel.state,
                received_at=parcel.received_at,
                days_on_shelf=days if on_shelf else 0,
                fee_due_fen=fee if on_shelf else 0,
                overdue=overdue and on_shelf,
                closed_at=parcel.closed_at,
                return_reason=parcel.return_reason,
                notice=notice,
                notices_sent=notices_sent,
            )
        )
    return parcels


async def suggest_recipient_phone(
    station_id: uuid.UUID, phone_last4: str, name: str, unmasked: bool
) -> RecipientSuggestion:
    """The full number for a privacy label: households of the station's village and the
    station's earlier parcels with a full number ending in `phone_last4` and the same name."""
    if not (phone_last4.isdigit() and len(phone_last4) == 4):
        raise DomainError("invalid_phone_last4", status=400, field="phone_last4")
    name = name.strip()
    if not name:
        return RecipientSuggestion(phone=None, source=None)
    async with db.read_transaction():
        households = await station_store.household_phones(station_id, name, phone_last4)
        parcels = await projection_store.recipient_phones(station_id, name, phone_last4)
    found: dict[str, str] = {}
    for source, phones in (("parcel", parcels), ("household", households)):
        for phone in phones:
            if phone_form(phone or "") == "full":
                found[phone] = source
    if len(found) != 1:
        return RecipientSuggestion(phone=None, source=None)
    phone, source = next(iter(found.items()))
    return RecipientSuggestion(phone=phone if unmasked else mask_phone(phone), source=source)


async def list_purchases(station_id: uuid.UUID, state: str | None) -> list[PurchaseOut]:
    if state and state not in PURCHASE_STATES:
        raise DomainError("invalid_choice", status=400, field="state")
    async with db.read_transaction():
        found = await projection_store.purchases(station_id, state or None)
    return [
        PurchaseOut(
            id=p.id,
            platform=p.platform,
            item=p.item,
            amount_fen=p.amount_fen,
            commission_fen=p.commission_fen,
            customer_phone=mask_phone(p.customer_phone),
            household_code=p.household_code,
            state=p.state,
            ordered_at=p.ordered_at,
            delivered_at=p.delivered_at,
        )
        for p in found
    ]


async def parcel_sightings(
    tracking_nos: list[str], station_ids: list[uuid.UUID] | None = None
) -> list[projection_store.ParcelSighting]:
    """Receipts of these (normalised) numbers, at these stations when given, oldest first, in
    chunks of 500 numbers: the county hub's legs close by them and the villagers' tracking
    reads them. Never a phone number: only its last four characters."""
    found: list[projection_store.ParcelSighting] = []
    numbers = sorted(set(tracking_nos))
    async with db.read_transaction():
        for start in range(0, len(numbers), 500):
            found += await projection_store.parcels_with_numbers(
                numbers[start : start + 500], station_ids
            )
    return sorted(found, key=lambda sighting: sighting.received_at)


async def carriers_at_stations(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[projection_store.CarrierAtStation]:
    """Per station and carrier, the parcels received on those business days (courier reach)."""
    async with db.read_transaction():
        return await projection_store.received_by_station_and_carrier(county_id, first, last)


async def stations_receiving(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> set[uuid.UUID]:
    """The stations that received any courier's parcel on those business days (courier reach by
    any courier, without counting each carrier's parcels)."""
    async with db.read_transaction():
        return await projection_store.stations_receiving(county_id, first, last)


# The day and the home screen ------------------------------------------------------------------


async def cashbook(station_id: uuid.UUID, day: datetime.date | None) -> Cashbook:
    async with db.read_transaction():
        facts = await station_facts(station_id)
        day = day or local_today(facts)
        rows = await projection_store.cashbook(station_id, day)
        counts = await latest_cash_counts([station_id], day, day)
    lines = [
        CashbookLine(kind=row.kind, count=row.count, amount_fen=row.amount_fen, fee_fen=row.fee_fen)
        for row in rows
        if row.count or row.amount_fen or row.fee_fen
    ]
    return Cashbook(
        station_id=station_id,
        date=day,
        kinds=lines,
        total_amount_fen=sum(line.amount_fen for line in lines),
        total_fee_fen=sum(line.fee_fen for line in lines),
        cash=cash_count(
            expected_cash((line.kind, line.amount_fen, line.fee_fen) for line in lines),
            counts.get((station_id, day)),
        ),
    )


async def summary(station_id: uuid.UUID) -> StationSummary:
    today_book = await cashbook(station_id, None)
    async with db.read_transaction():
        facts = await station_facts(station_id)
        today = local_today(facts)
        names = await station_store.names(station_id)
        last = await event_store.last_checkin(station_id)
        shelf = await projection_store.shelf_dates(station_id)
    overdue = sum(1 for received in shelf if parcel_charges(facts, received, today)[2])
    return StationSummary(
        station_id=station_id,
        station_name=names.name,
        station_code=names.code,
        county_name=names.county_name,
        timezone=facts.timezone.key,
        today=today,
        week_start=week_start(today),
        checked_in_this_week=bool(last and last.business_date >= week_start(today)),
        last_checkin_at=last.occurred_at if last else None,
        parcels_on_shelf=len(shelf),
        parcels_overdue=overdue,
        parcel_rule=ParcelRule(
            free_days=facts.parcel_free_days,
            daily_fee_fen=facts.parcel_daily_fee_fen,
            fee_cap_fen=facts.parcel_fee_cap_fen,
            return_days=facts.parcel_return_days,
        ),
        cashbook=today_book,
    )
