"""The ledger's rules other capabilities share: a station's facts and local day, the check-in
week, the storage fee, and what the till should hold (日结)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable

from backend import clock
from backend.errors import DomainError
from backend.ledger.schemas import CashCount
from backend.ledger.store import events as event_store
from backend.ledger.store import stations as station_store
from backend.ledger.store.stations import StationFacts


async def station_facts(station_id: uuid.UUID) -> StationFacts:
    facts = await station_store.facts(station_id)
    if facts is None:
        raise DomainError("not_found", status=404)
    return facts


def local_today(facts: StationFacts, moment: datetime.datetime | None = None) -> datetime.date:
    return (moment or clock.utcnow()).astimezone(facts.timezone).date()


def week_start(day: datetime.date) -> datetime.date:
    """The county's check-in week runs Monday to Sunday, local time."""
    return day - datetime.timedelta(days=day.weekday())


def parcel_charges(
    facts: StationFacts, received_date: datetime.date, today: datetime.date
) -> tuple[int, int, bool]:
    """Days on the shelf, the storage fee due by the county's rule, and whether to return it."""
    days = max(0, (today - received_date).days)
    chargeable = max(0, days - facts.parcel_free_days)
    fee = min(chargeable * facts.parcel_daily_fee_fen, facts.parcel_fee_cap_fen)
    return days, fee, days >= facts.parcel_return_days


def expected_cash(lines: Iterable[tuple[str, int, int]]) -> int:
    """What the till should hold by a day's entries (the README's "expected"), from its cashbook
    lines `(kind, amount_fen, fee_fen)`: cash taken in for services (amount + fee), postage,
    purchases and storage fees; minus cash handed out: withdrawals (amount, less their fee) and
    the villagers' payouts for sales (amount - commission)."""
    total = 0
    for kind, amount, fee in lines:
        if kind == "service_cash_withdrawal":
            total += fee - amount
        elif kind.startswith("service_"):
            total += amount + fee
        elif kind in ("parcel_dispatched", "parcel_picked_up"):
            total += fee
        elif kind == "purchase_ordered":
            total += amount
        elif kind == "sale_recorded":
            total -= amount - fee
    return total


# `expected_cash` of one `ledger_cashbook` row (alias b) in SQL, for readers that sum a county's
# month in the database (~90,000 lines for 300 stations) instead of converting each line; the
# county's cash page checks it against the keeper's cashbook (tests/test_counter_county.py).
EXPECTED_CASH_SQL = (
    "CASE WHEN b.kind = 'service_cash_withdrawal' THEN b.fee_fen - b.amount_fen "
    "WHEN substr(b.kind, 1, 8) = 'service_' THEN b.amount_fen + b.fee_fen "
    "WHEN b.kind IN ('parcel_dispatched', 'parcel_picked_up') THEN b.fee_fen "
    "WHEN b.kind = 'purchase_ordered' THEN b.amount_fen "
    "WHEN b.kind = 'sale_recorded' THEN b.fee_fen - b.amount_fen ELSE 0 END"
)


def cash_count(expected_fen: int, counted_fen: int | None) -> CashCount:
    return CashCount(
        expected_fen=expected_fen,
        counted_fen=counted_fen,
        difference_fen=None if counted_fen is None else counted_fen - expected_fen,
    )


async def latest_cash_counts(
    station_ids: list[uuid.UUID], first: datetime.date, last: datetime.date
) -> dict[tuple[uuid.UUID, datetime.date], int]:
    """日结: each station's count per day, the latest one not reversed (a later count of the same
    day replaces the earlier one). Read inside the caller's transaction."""
    if not station_ids:
        return {}
    return await event_store.cash_counts(station_ids, first, last)


async def training_attended(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[event_store.AttendedRow]:
    """The village training sessions the county's keepers recorded (`training.attended`, not
    reversed), by business day from `first` to `last`: the training figures count them. Read
    inside the caller's transaction."""
    return await event_store.training_attended(county_id, first, last)
