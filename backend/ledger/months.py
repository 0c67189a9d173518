"""Month close (县级审核): the keeper submits a finished month, the county closes it, and a closed
month's figures never change.

A month's state lives beside the station's chain: closing takes the station's chain head, the
row every sync batch of the station locks first, so a sync and a close of the same station are
ordered. A batch reads the station's closed months after taking that lock, once; an entry dated
in a closed month is still accepted and logged with its own `occurred_at`, but its `business_date`
(what every figure counts by) is the first day of the station's next open month (today, if that
day is still to come) and `adjusts_month` names the month it was dated in. The chain covers the
`business_date`, decided once at acceptance: verify and rebuild give the same answer forever.
Reopening a month lets later entries of it count in it again; adjustments already counted in a
later month stay there (the log is never rewritten).

The county freezes a station-month's figures when it closes and counts them again when it reopens
(county/frozen.py), inside the same transaction; the county sits above the ledger, so it hands
its two steps in at start-up (`on_close_and_reopen`, from app.create_app).
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Awaitable, Callable

import msgspec

from backend import clock, db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.errors import DomainError
from backend.ledger.projector import cashbook_amounts, cashbook_kind
from backend.ledger.service import local_today, station_facts
from backend.ledger.store import events as event_store
from backend.ledger.store import months as month_store
from backend.ledger.store import stations as station_store
from backend.ledger.store.months import MonthRow
from backend.ledger.text_rules import TextRuleViolation, check_text

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_REASON = 200


class MonthState(msgspec.Struct, omit_defaults=True):
    station_id: uuid.UUID
    month: str
    state: str
    submitted_at: datetime.datetime | None = None
    closed_at: datetime.datetime | None = None
    closed_by: uuid.UUID | None = None
    reopened_at: datetime.datetime | None = None
    reason: str | None = None


class CountyMonth(msgspec.Struct):
    stations: list[MonthState]


class ReopenRequest(msgspec.Struct):
    reason: str = ""  # required: an empty or missing one is refused as `reason_required`


# (station, county, month) → the county's step of a close or a reopen, in its transaction.
MonthStep = Callable[[uuid.UUID, uuid.UUID, str], Awaitable[None]]
_steps: dict[str, MonthStep] = {}


def on_close_and_reopen(closed: MonthStep, reopened: MonthStep) -> None:
    _steps["closed"], _steps["reopened"] = closed, reopened


async def _step(name: str, station_id: uuid.UUID, county_id: uuid.UUID, month: str) -> None:
    step = _steps.get(name)
    if step is None:  # a close that froze nothing would let the month's figures change
        raise RuntimeError("the county's month close steps are not registered (app.create_app)")
    await step(station_id, county_id, month)


def month_key(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_day(month: str) -> datetime.date:
    return datetime.date(int(month[:4]), int(month[5:7]), 1)


def next_month(month: str) -> str:
    day = first_day(month)
    return month_key((day + datetime.timedelta(days=32)).replace(day=1))


def parse_month(text: str) -> str:
    if not MONTH.match(text):
        raise DomainError("invalid_month", status=422, field="month")
    return text


def counting_day(
    day: datetime.date, closed: set[str], today: datetime.date
) -> tuple[datetime.date, str | None]:
    """Where an entry of `day` counts: its own day, or — dated in a closed month — the first day of
    the next open month (today if that is still to come), with the closed month it adjusts."""
    month = month_key(day)
    if month not in closed:
        return day, None
    later = next_month(month)
    while later in closed:
        later = next_month(later)
    return min(first_day(later), max(today, day)), month


def _out(station_id: uuid.UUID, month: str, row: MonthRow | None) -> MonthState:
    if row is None:
        return MonthState(station_id=station_id, month=month, state="open")
    return MonthState(
        station_id=station_id,
        month=month,
        state=row.state,
        submitted_at=row.submitted_at,
        closed_at=row.closed_at if row.state == "closed" else None,
        closed_by=row.closed_by if row.state == "closed" else None,
        reopened_at=row.reopened_at,
        reason=row.reason or None,
    )


async def _finished(station_id: uuid.UUID, month: str) -> uuid.UUID:
    """The month must be over in the county's time (only finished months are submitted or
    closed); the station's county."""
    facts = await station_facts(station_id)
    if first_day(next_month(parse_month(month))) > local_today(facts):
        raise DomainError("month_not_finished", status=409, field="month", month=month)
    return facts.county_id


async def close(user: CurrentUser, station_id: uuid.UUID, month: str) -> MonthState:
    async with db.write_transaction():
        county_id = await _finished(station_id, month)
        await event_store.lock_chain(station_id)  # ordered with the station's sync batches
        row = await month_store.get(station_id, month)
        if row is not None and row.state == "closed":
            return _out(station_id, month, row)
        base = row or MonthRow(station=station_id, month=month, state="open")
        row = msgspec.structs.replace(
            base, state="closed", closed_at=clock.utcnow(), closed_by=user.id
        )
        await month_store.save(row)
        await _step("closed", station_id, county_id, month)
        await audit(user, "month.closed", "station", station_id, county_id, month=month)
    return _out(station_id, month, row)


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DomainError("reason_required", status=422, field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError("reason_too_long", status=422, field="reason", limit=MAX_REASON)
    try:
        check_text("reason", reason)
    except TextRuleViolation as bad:
        raise DomainError(
            "invalid_text", status=422, field="reason", character=bad.character
        ) from None
    return reason


async def reopen(user: CurrentUser, station_id: uuid.UUID, month: str, reason: str) -> MonthState:
    reason = check_reason(reason)
    parse_month(month)
    async with db.write_transaction():
        facts = await station_facts(station_id)
        await event_store.lock_chain(station_id)
        row = await month_store.get(station_id, month)
        if row is None or row.state != "closed":
            return _out(station_id, month, row)  # open already: nothing to do
        row = msgspec.structs.replace(
            row, state="open", reopened_at=clock.utcnow(), reopened_by=user.id, reason=reason
        )
        await month_store.save(row)
        await _step("reopened", station_id, facts.county_id, month)
        await audit(
            user, "month.reopened", "station", station_id, facts.county_id, month=month,
            reason=reason,
        )  # fmt: skip
    return _out(station_id, month, row)


async def submit(user: CurrentUser, station_id: uuid.UUID, month: str) -> MonthState:
    if user.station_id != station_id:
        raise DomainError("keepers_only", status=403)
    async with db.write_transaction():
        await _finished(station_id, month)
        row = await month_store.get(station_id, month)
        if row is not None and row.state == "closed":
            return _out(station_id, month, row)  # a closed month stays closed
        base = row or MonthRow(station=station_id, month=month, state="open")
        row = msgspec.structs.replace(
            base, state="submitted", submitted_at=clock.utcnow(), submitted_by=user.id
        )
        await month_store.save(row)
    return _out(station_id, month, row)


async def station_month(station_id: uuid.UUID, month: str) -> MonthState:
    parse_month(month)
    async with db.read_transaction():
        await station_facts(station_id)
        row = await month_store.get(station_id, month)
    return _out(station_id, month, row)


async def recent_months(station_id: uuid.UUID, count: int) -> list[MonthState]:
    """The station's last `count` finished months (county time), newest first: what the keeper's
    app lists with each month's state."""
    async with db.read_transaction():
        facts = await station_facts(station_id)
        month = month_key(local_today(facts).replace(day=1) - datetime.timedelta(days=1))
        wanted = []
        for _ in range(count):
            wanted.append(month)
            month = month_key(first_day(month) - datetime.timedelta(days=1))
        rows = await month_store.of_station(station_id, wanted)
    return [_out(station_id, month, rows.get(month)) for month in wanted]


async def close_county(user: CurrentUser, county_id: uuid.UUID, month: str) -> CountyMonth:
    """Close the month of every station of the county (each one as `close` does: a closed one
    stays as it was)."""
    parse_month(month)
    async with db.read_transaction():
        stations = await station_store.ids_in_county(county_id)
    for station_id in stations:
        await close(user, station_id, month)
    return await county_month(county_id, month)


async def closed_in_county(county_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """(station, month) of every closed month of the county, oldest first."""
    async with db.read_transaction():
        return await month_store.closed_in_county(county_id)


async def still_closed(station_id: uuid.UUID, month: str) -> bool:
    """Inside the caller's write: is the month closed, with the station's chain locked (ordered
    with its closes, reopens and sync batches until the caller commits)?"""
    await event_store.lock_chain(station_id)
    row = await month_store.get(station_id, month)
    return row is not None and row.state == "closed"


async def county_month(county_id: uuid.UUID, month: str) -> CountyMonth:
    return (await county_months(county_id, [month]))[month]


async def county_months(county_id: uuid.UUID, months: list[str]) -> dict[str, CountyMonth]:
    """`county_month` of several months, read at once (the scorecard judges a year's)."""
    for month in months:
        parse_month(month)
    async with db.read_transaction():
        stations = await station_store.ids_in_county(county_id)
        rows = await month_store.of_stations(stations, months)
    return {
        month: CountyMonth(stations=[_out(s, month, rows.get((s, month))) for s in stations])
        for month in months
    }


class AdjustmentOut(msgspec.Struct, frozen=True):
    """An entry dated in a closed month, counted on `counted_on` in a later open one."""

    id: uuid.UUID
    station_id: uuid.UUID
    type: str
    kind: str  # the cashbook's kind, as the figures count it
    own_date: datetime.date  # the day it was dated, county-local
    month: str  # the closed month it was dated in
    counted_on: datetime.date
    amount_fen: int
    fee_fen: int


async def adjustments(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date, zone: datetime.tzinfo
) -> list[AdjustmentOut]:
    """The county's adjustments counted in [first, last], by day counted and station."""
    async with db.read_transaction():
        rows = await month_store.adjustments(county_id, first, last)
    out = []
    for row in rows:
        data = json.loads(row.data)
        amount, fee = cashbook_amounts(data)
        out.append(
            AdjustmentOut(
                id=row.id,
                station_id=row.station,
                type=row.type,
                kind=cashbook_kind(row.type, data),
                own_date=row.occurred_at.astimezone(zone).date(),
                month=row.month,
                counted_on=row.counted_on,
                amount_fen=amount,
                fee_fen=fee,
            )
        )
    return out
