"""Training records' logic: a session checked and written with its trainees, and the follow-up
noted on a trainee. What is read back is figures.py's.

人次 (trainee visits): one per trainee row, so a person trained twice counts twice. A trainee given
a household code takes the household's poor flag (脱贫户/建档立卡): the registry decides, whatever
`poor` says; without a code, `poor` is what staff marked. A trainee may name a station by its
code: its keeper was trained (站长培训).
"""

from __future__ import annotations

import datetime
import decimal
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from backend import db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.errors import DomainError
from backend.numbers import Unreadable, read_decimal
from backend.params import EARLIEST_DAY
from backend.registry import service as registry_service
from backend.registry import store as registry
from backend.training import store
from backend.training.figures import (
    KINDS,
    LEADER,
    county_today,
    held_between,
    household_of,
    person_of,
)
from backend.training.store import NewTrainee

# A trainee's follow-up (培训转化): found work, opened an online shop, started a business, sells
# through the station, became the village's e-commerce leader (电商带头人).
OUTCOMES = ("employed", "online_shop", "business", "sells_at_station", LEADER)
TITLE_MAX = 80
TRAINER_MAX = 40
NAME_MAX = 40
TRAINEES_MAX = 500
HOURS_MAX = decimal.Decimal(24)
FUTURE_DAYS = 366  # a session may be entered ahead of the day it is held, not years ahead
# Control characters (PostgreSQL refuses NUL; none belong in a name) and direction overrides.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_HOUSEHOLD_CODE = re.compile(r"^[A-Z0-9-]{2,24}$")


@dataclass(frozen=True)
class TraineeInput:
    name: str
    household_code: str | None = None
    poor: bool = False
    station_code: str | None = None  # the station whose keeper this trainee is


@dataclass(frozen=True)
class SessionInput:
    title: str
    held_on: str
    kind: str
    township_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    trainer: str | None = None
    hours: Any = None  # a number or its text ("2.5"): decimal hours
    trainees: list[TraineeInput] = field(default_factory=list)


def _clean_text(value: str | None, name: str, maximum: int, required: bool) -> str:
    text = (value or "").strip()
    if (required and not text) or len(text) > maximum or _FORBIDDEN.search(text):
        raise DomainError(f"training_{name}_invalid", field=name, max=maximum)
    return text


def _day(value: str | None) -> datetime.date | None:
    """A YYYY-MM-DD day, or None for anything else (a form's text, an API's string)."""
    text = (value or "").strip()
    if len(text) != 10 or not text.isascii():
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def _held_on(value: str, today: datetime.date) -> datetime.date:
    latest = today + datetime.timedelta(days=FUTURE_DAYS)
    day = _day(value)
    if day is None or not EARLIEST_DAY <= day <= latest:
        raise DomainError(
            "training_held_on_invalid",
            field="held_on",
            earliest=EARLIEST_DAY.isoformat(),
            latest=latest.isoformat(),
        )
    return day


def _hours_centi(value: Any) -> int | None:
    """Decimal hours (2.5, "2,5" as typed) as hundredths (250); at most two decimals, above 0
    and up to 24."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    refused = DomainError("training_hours_invalid", field="hours", max=int(HOURS_MAX))
    if isinstance(value, bool):
        raise refused
    try:
        # Read to three places so "2.555" is told the hours' rule, not taken for 2,555.
        typed = isinstance(value, str)
        hours = read_decimal(value, 3) if typed else decimal.Decimal(str(value))
    except Unreadable as refusal:
        raise refusal.problem("hours", value, refused.code, **refused.params) from None
    except decimal.InvalidOperation:
        raise refused from None
    centi = hours * 100
    if not (hours.is_finite() and 0 < hours <= HOURS_MAX and centi == centi.to_integral_value()):
        raise refused
    return int(centi)


async def _township(county_id: uuid.UUID, township_id: uuid.UUID | None) -> uuid.UUID | None:
    if township_id is None:
        return None
    township = await registry.township(township_id)
    if township is None or township.county_id != county_id:
        raise DomainError("training_township_unknown", field="township_id")
    return township_id


async def _village(
    county_id: uuid.UUID, township_id: uuid.UUID | None, village_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(township, village) of a session: the village must be the county's and, when a township is
    given too, in it; a village without a township takes the village's township."""
    if village_id is None:
        return township_id, None
    village = await registry.village(village_id)
    if village is None or village.county_id != county_id:
        raise DomainError("training_village_unknown", field="village_id")
    if township_id is not None and village.township_id != township_id:
        raise DomainError("training_village_not_in_township", field="village_id")
    return village.township_id, village_id


async def _trainees(county_id: uuid.UUID, trainees: list[TraineeInput]) -> list[NewTrainee]:
    """Each trainee checked (numbered from 1 in a refusal); the first problem refuses them all."""
    if not 1 <= len(trainees) <= TRAINEES_MAX:
        raise DomainError("training_trainees_count", field="trainees", max=TRAINEES_MAX)
    checked = []
    for result in await check_trainees(county_id, list(enumerate(trainees, start=1))):
        if isinstance(result, DomainError):
            raise result
        checked.append(result)
    return checked


async def check_trainees(
    county_id: uuid.UUID, trainees: list[tuple[int, TraineeInput]]
) -> list[NewTrainee | DomainError]:
    """Each (line, trainee) checked on its own, as it would be recorded or why it would not (the
    sign-in sheet's row-by-row report): one with a household code takes that household's poor
    flag, one with a station code is that station's keeper."""
    households: dict[str, tuple[uuid.UUID, bool] | None] = {}
    stations = {s.code.upper(): s.id for s in await registry_service.list_stations(county_id)}
    results: list[NewTrainee | DomainError] = []
    first_lines: dict[tuple[str, str], int] = {}
    for line, trainee in trainees:
        try:
            checked = await _trainee(county_id, households, stations, line, trainee)
            # 人次 counts a person once per session: a second row of the same person (name and
            # household code, as 人数 tells persons apart) is a sheet signed twice.
            first = first_lines.setdefault(person_of(checked.name, checked.household_code), line)
            if first != line:
                raise DomainError(
                    "training_trainee_repeated", field="name", line=line, first=first,
                    name=checked.name,
                )  # fmt: skip
            results.append(checked)
        except DomainError as exc:
            results.append(exc)
    return results


async def _trainee(
    county_id: uuid.UUID,
    households: dict[str, tuple[uuid.UUID, bool] | None],
    stations: dict[str, uuid.UUID],
    line: int,
    trainee: TraineeInput,
) -> NewTrainee:
    name = (trainee.name or "").strip()
    if not name or len(name) > NAME_MAX or _FORBIDDEN.search(name):
        raise DomainError("training_name_invalid", field="name", line=line, max=NAME_MAX)
    station_id = _station(stations, trainee.station_code, line)
    code = (trainee.household_code or "").strip().upper()
    if not code:
        return NewTrainee(name, "", None, bool(trainee.poor), station_id)
    if code not in households:
        households[code] = await _household(county_id, code)
    found = households[code]
    if found is None:
        shown = code if _HOUSEHOLD_CODE.match(code) else "…"
        raise DomainError(
            "training_household_unknown", field="household_code", line=line, household=shown
        )
    return NewTrainee(name, code, found[0], found[1], station_id)


def _station(stations: dict[str, uuid.UUID], code: str | None, line: int) -> uuid.UUID | None:
    """The county's station of that code (a closed one too: its keeper was trained), or None."""
    text = (code or "").strip().upper()
    if not text:
        return None
    if text not in stations:
        shown = text if _HOUSEHOLD_CODE.match(text) else "…"
        raise DomainError(
            "training_station_unknown", field="station_code", line=line, station=shown
        )
    return stations[text]


async def _household(county_id: uuid.UUID, code: str) -> tuple[uuid.UUID, bool] | None:
    return await household_of(county_id, code) if _HOUSEHOLD_CODE.match(code) else None


async def record_session(
    county_id: uuid.UUID, author: CurrentUser | None, data: SessionInput
) -> uuid.UUID:
    """Check the session and write it with its trainees in one transaction; a refusal writes
    nothing."""
    title = _clean_text(data.title, "title", TITLE_MAX, required=True)
    held_on = _held_on(data.held_on, await county_today(county_id))
    if data.kind not in KINDS:
        raise DomainError("training_kind_invalid", field="kind")
    trainer = _clean_text(data.trainer, "trainer", TRAINER_MAX, required=False)
    hours_centi = _hours_centi(data.hours)
    session_id = uuid.uuid4()
    async with db.write_transaction():
        township_id = await _township(county_id, data.township_id)
        township_id, village_id = await _village(county_id, township_id, data.village_id)
        trainees = await _trainees(county_id, data.trainees)
        await store.insert_session(
            session_id,
            county_id,
            township_id=township_id,
            village_id=village_id,
            title=title,
            held_on=held_on,
            kind=data.kind,
            trainer=trainer,
            hours_centi=hours_centi,
            author_id=author.id if author else None,
            trainees=trainees,
        )
        await audit(
            author,
            "training.recorded",
            "training_session",
            session_id,
            county_id=county_id,
            trainees=len(trainees),
        )
    return session_id


def _noted_on(value: str | None, today: datetime.date) -> datetime.date:
    """The day staff learnt of the outcome: today when not given, never ahead of today."""
    if not (value or "").strip():
        return today
    day = _day(value)
    if day is None or not EARLIEST_DAY <= day <= today:
        raise DomainError(
            "training_outcome_day_invalid",
            field="noted_on",
            earliest=EARLIEST_DAY.isoformat(),
            latest=today.isoformat(),
        )
    return day


# Follow-up (培训转化) ------------------------------------------------------------------------


async def set_outcome(
    county_id: uuid.UUID,
    author: CurrentUser | None,
    trainee_id: uuid.UUID,
    outcome: str | None,
    noted_on: str | None,
) -> None:
    """Note (or clear, with None) what a trainee did with the training; audited. A trainee a
    keeper signed in at a village session is followed up the same way (kept beside the ledger
    entry, which never changes)."""
    if outcome is not None and outcome not in OUTCOMES:
        raise DomainError("training_outcome_invalid", field="outcome")
    today = await county_today(county_id)
    day = None if outcome is None else _noted_on(noted_on, today)
    async with db.write_transaction():
        if not await store.set_outcome(county_id, trainee_id, outcome or "", day):
            if trainee_id not in await _village_session_trainees(county_id, today):
                raise DomainError("training_trainee_unknown", status=404, field="trainee_id")
            await store.set_attended_outcome(county_id, trainee_id, outcome or "", day)
        await audit(
            author,
            "training.outcome",
            "training_trainee",
            trainee_id,
            county_id=county_id,
            outcome=outcome or "",
        )


async def _village_session_trainees(county_id: uuid.UUID, today: datetime.date) -> set[uuid.UUID]:
    """The ids of every trainee the county's keepers signed in (the staff's own are rows)."""
    _, trainees = await held_between(county_id, EARLIEST_DAY, today)
    return {trainee.id for trainee in trainees}
