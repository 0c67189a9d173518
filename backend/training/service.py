"""Training records' logic: a session checked and written with its trainees, and one read model of
a year's sessions and totals that the API and the staff page both show.

人次 (trainee visits): one per trainee row, so a person trained twice counts twice. A trainee given
a household code takes the household's poor flag (脱贫户/建档立卡): the registry decides, whatever
`poor` says; without a code, `poor` is what staff marked.
"""

from __future__ import annotations

import datetime
import decimal
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from backend import db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.errors import DomainError
from backend.params import EARLIEST_DAY
from backend.registry import service as registry_service
from backend.registry import store as registry
from backend.registry.staff import page_county
from backend.training import store
from backend.training.store import NewTrainee

# The kinds of session the programme documents count (电商普及, 创业, 站长, 直播带货, …).
KINDS = ("ecommerce_basics", "entrepreneurship", "station_keeper", "livestream", "other")
# A trainee's follow-up (培训转化): found work, opened an online shop, started a business.
OUTCOMES = ("employed", "online_shop", "business")
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


@dataclass(frozen=True)
class SessionInput:
    title: str
    held_on: str
    kind: str
    township_id: uuid.UUID | None = None
    trainer: str | None = None
    hours: Any = None  # a number or its text ("2.5"): decimal hours
    trainees: list[TraineeInput] = field(default_factory=list)


def _clean_text(value: str | None, name: str, maximum: int, required: bool) -> str:
    text = (value or "").strip()
    if (required and not text) or len(text) > maximum or _FORBIDDEN.search(text):
        raise DomainError(f"training_{name}_invalid", field=name, max=maximum)
    return text


async def county_today(county_id: uuid.UUID) -> datetime.date:
    return (await page_county(county_id)).today


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
    """Decimal hours (2.5) as hundredths (250); at most two decimals, above 0 and up to 24."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool):
            raise decimal.InvalidOperation
        hours = decimal.Decimal(str(value).strip().replace(",", "."))
        valid = hours.is_finite() and 0 < hours <= HOURS_MAX
        centi = hours * 100
        valid = valid and centi == centi.to_integral_value()
    except (decimal.InvalidOperation, ValueError):
        valid = False
    if not valid:
        raise DomainError("training_hours_invalid", field="hours", max=int(HOURS_MAX))
    return int(centi)


async def _township(county_id: uuid.UUID, township_id: uuid.UUID | None) -> uuid.UUID | None:
    if township_id is None:
        return None
    township = await registry.township(township_id)
    if township is None or township.county_id != county_id:
        raise DomainError("training_township_unknown", field="township_id")
    return township_id


async def _trainees(county_id: uuid.UUID, trainees: list[TraineeInput]) -> list[NewTrainee]:
    """Each trainee checked; one with a household code takes that household's poor flag."""
    if not 1 <= len(trainees) <= TRAINEES_MAX:
        raise DomainError("training_trainees_count", field="trainees", max=TRAINEES_MAX)
    households: dict[str, tuple[uuid.UUID, bool] | None] = {}
    checked = []
    for line, trainee in enumerate(trainees, start=1):
        name = (trainee.name or "").strip()
        if not name or len(name) > NAME_MAX or _FORBIDDEN.search(name):
            raise DomainError("training_name_invalid", field="name", line=line, max=NAME_MAX)
        code = (trainee.household_code or "").strip().upper()
        if not code:
            checked.append(NewTrainee(name, "", None, bool(trainee.poor)))
            continue
        if code not in households:
            households[code] = await _household(county_id, code)
        found = households[code]
        if found is None:
            shown = code if _HOUSEHOLD_CODE.match(code) else "…"
            raise DomainError(
                "training_household_unknown", field="household_code", line=line, household=shown
            )
        checked.append(NewTrainee(name, code, found[0], found[1]))
    return checked


async def _household(county_id: uuid.UUID, code: str) -> tuple[uuid.UUID, bool] | None:
    if not _HOUSEHOLD_CODE.match(code):
        return None
    at_counter = await registry.household_by_code(county_id, code)
    if at_counter is None:
        return None
    household = await registry.household(at_counter.id)
    return None if household is None else (household.id, household.poverty)


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
        trainees = await _trainees(county_id, data.trainees)
        await store.insert_session(
            session_id,
            county_id,
            township_id=township_id,
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


# The year's figures: one read model ----------------------------------------------------------


@dataclass
class TraineeFigure:
    name: str
    household_code: str
    poor: bool
    id: uuid.UUID | None = None
    outcome: str = ""
    outcome_on: datetime.date | None = None


@dataclass
class SessionFigure:
    id: uuid.UUID
    title: str
    held_on: datetime.date
    kind: str
    township_id: uuid.UUID | None
    township_name: str
    trainer: str
    hours: float | None
    trainee_visits: int = 0
    poor_trainee_visits: int = 0
    trainees: list[TraineeFigure] = field(default_factory=list)


@dataclass
class Totals:
    sessions: int
    trainee_visits: int
    poor_trainee_visits: int
    poor_share: float  # poor 人次 / 人次, a fraction 0..1 rounded to 4 places; 0 without trainees
    people: int = 0
    people_converted: int = 0
    conversion_rate: float = 0.0


@dataclass
class YearFigures:
    year: int
    sessions: list[SessionFigure]
    totals: Totals


def poor_share(poor: int, visits: int) -> float:
    return round(poor / visits, 4) if visits else 0.0


async def year_range(county_id: uuid.UUID, year: int | str | None) -> int:
    """The year asked for (2015 … next year), or the county's current year when none is."""
    this_year = (await county_today(county_id)).year
    if year is None or year == "":
        return this_year
    text = str(year).strip()
    if not (text.isascii() and text.isdigit() and len(text) == 4) or not (
        EARLIEST_DAY.year <= int(text) <= this_year + 1
    ):
        raise DomainError(
            "training_year_invalid",
            status=400,
            field="year",
            earliest=EARLIEST_DAY.year,
            latest=this_year + 1,
        )
    return int(text)


@dataclass
class PeriodTraining:
    """The county's training over a range of days, as its scorecard judges it."""

    visits: int  # 人次
    poor_visits: int  # of them from 脱贫户
    people: int  # distinct persons (person_of), as the year's `totals.people`
    people_converted: int  # of them with a follow-up outcome (就业, 开网店, 创业)


async def period_training(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> PeriodTraining:
    """人次, poor 人次, persons and persons converted of the sessions held from `first` to
    `last` (the county's scorecard judges its training targets on them; call inside a read
    transaction). Persons counted by `people_of`, as the year's totals."""
    trainees = await store.trainees_between(county_id, first, last)
    people, converted = people_of(trainees)
    return PeriodTraining(
        visits=len(trainees),
        poor_visits=sum(1 for trainee in trainees if trainee.poor),
        people=people,
        people_converted=converted,
    )


async def year_figures(county_id: uuid.UUID, year: int) -> YearFigures:
    """The county's sessions held in `year` (newest first) with their 人次 and poor 人次, and the
    year's totals."""
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    async with db.read_transaction():
        sessions = await store.sessions_between(county_id, first, last)
        trainees = await store.trainees_between(county_id, first, last)
        townships = {row.id: row.name for row in await registry_service.list_townships(county_id)}
    figures = {
        row.id: SessionFigure(
            id=row.id,
            title=row.title,
            held_on=row.held_on,
            kind=row.kind,
            township_id=row.township,
            township_name=townships.get(row.township, "") if row.township else "",
            trainer=row.trainer,
            hours=None if row.hours_centi is None else row.hours_centi / 100,
        )
        for row in sessions
    }
    for trainee in trainees:
        session = figures.get(trainee.session)
        if session is None:
            continue
        session.trainees.append(
            TraineeFigure(
                trainee.name,
                trainee.household_code,
                trainee.poor,
                trainee.id,
                trainee.outcome,
                trainee.outcome_on,
            )
        )
        session.trainee_visits += 1
        session.poor_trainee_visits += int(trainee.poor)
    people, converted = people_of(t for t in trainees if t.session in figures)
    listed = list(figures.values())
    visits = sum(s.trainee_visits for s in listed)
    poor = sum(s.poor_trainee_visits for s in listed)
    return YearFigures(
        year=year,
        sessions=listed,
        totals=Totals(
            sessions=len(listed),
            trainee_visits=visits,
            poor_trainee_visits=poor,
            poor_share=poor_share(poor, visits),
            people=people,
            people_converted=converted,
            conversion_rate=poor_share(converted, people),
        ),
    )


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


def people_of(trainees: Iterable[store.TraineeRow]) -> tuple[int, int]:
    """人数 and of them the persons converted (a follow-up outcome: 就业, 开网店, 创业) among
    these trainee rows, each person (person_of) once."""
    people: set[tuple[str, str]] = set()
    converted: set[tuple[str, str]] = set()
    for trainee in trainees:
        person = person_of(trainee.name, trainee.household_code)
        people.add(person)
        if trainee.outcome:
            converted.add(person)
    return len(people), len(converted)


def person_of(name: str, household_code: str) -> tuple[str, str]:
    """Who a trainee row is: the same name in the same household is one person over the year
    (人数, against 人次); without a household code the name alone has to do."""
    return (name.strip(), household_code)


# Follow-up (培训转化) ------------------------------------------------------------------------


async def set_outcome(
    county_id: uuid.UUID,
    author: CurrentUser | None,
    trainee_id: uuid.UUID,
    outcome: str | None,
    noted_on: str | None,
) -> None:
    """Note (or clear, with None) what a trainee did with the training; audited."""
    if outcome is not None and outcome not in OUTCOMES:
        raise DomainError("training_outcome_invalid", field="outcome")
    today = await county_today(county_id)
    day = None if outcome is None else _noted_on(noted_on, today)
    async with db.write_transaction():
        if not await store.set_outcome(county_id, trainee_id, outcome or "", day):
            raise DomainError("training_trainee_unknown", status=404, field="trainee_id")
        await audit(
            author,
            "training.outcome",
            "training_trainee",
            trainee_id,
            county_id=county_id,
            outcome=outcome or "",
        )
