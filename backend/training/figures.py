"""Training's one read model: a year's sessions with their trainees, the year's totals, the same
figures per kind, township and month, the totals since the county's programme start, the poor
villages with an e-commerce leader (电商带头人) and the stations whose keeper was trained. The API,
the staff page, the workbook and the county's scorecard all read it.

人次 (trainee visits): one per trainee row, so a person trained twice counts twice; 人数 counts
each person once (`person_of`). A trainee given a household code took the household's poor flag
(脱贫户) when the session was recorded. The poor share the seeds set
(「培训人数中贫困人口占30%以上」, seed 000) is of the persons (`poor_people_share`); `poor_share`
is of the 人次. A person converted (创业就业转化, seed 002) found work, opened an online shop or
started a business (CONVERSIONS).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

from litestar.di import NamedDependency

from backend import db
from backend.errors import DomainError
from backend.ledger import service as ledger
from backend.params import EARLIEST_DAY
from backend.registry import service as registry_service
from backend.registry import store as registry
from backend.registry.staff import page_county
from backend.training import store
from backend.training.store import SessionRow, TraineeRow

# The county's programme start by its id: a county setting, above this capability, handed down by
# app.py as the dependency `programme_start_of`.
StartOf: TypeAlias = Callable[[uuid.UUID], Awaitable[datetime.date]]
ProgrammeStartOf: TypeAlias = NamedDependency[StartOf]
# The kinds of session the programme documents count (电商普及, 创业, 站长, 直播带货, …).
KINDS = ("ecommerce_basics", "entrepreneurship", "station_keeper", "livestream", "other")
LEADER = "leader"  # the outcome: became the village's e-commerce leader (电商带头人)
# The follow-ups that are 创业就业 (「创业就业转化率」, seed 002): found work, opened an online
# shop, started a business. Selling through the station and becoming the village's leader are
# noted too, and counted apart (the leaders' share), not as a conversion.
CONVERSIONS = ("employed", "online_shop", "business")
NO_TOWNSHIP = ""  # the by-township key of sessions recorded without a township
NO_VILLAGE = ""  # the by-village key of sessions recorded without a village


async def county_today(county_id: uuid.UUID) -> datetime.date:
    return (await page_county(county_id)).today


@dataclass
class TraineeFigure:
    name: str
    household_code: str
    poor: bool
    id: uuid.UUID | None = None
    outcome: str = ""
    outcome_on: datetime.date | None = None
    station_code: str = ""  # the station whose keeper this trainee is ("" = none)
    station_name: str = ""


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
    station_code: str = ""  # held at this station by its keeper (from the PWA), "" by staff
    village_id: uuid.UUID | None = None  # the village it was held in (a keeper's: the station's)
    village_name: str = ""
    trainee_visits: int = 0
    poor_trainee_visits: int = 0
    trainees: list[TraineeFigure] = field(default_factory=list)
    planned: bool = False  # entered ahead of its day: listed, in no figure until it is held


@dataclass
class Totals:
    sessions: int
    trainee_visits: int
    poor_trainee_visits: int
    poor_share: float  # poor 人次 / 人次, a fraction 0..1 rounded to 4 places; 0 without trainees
    people: int = 0
    people_converted: int = 0
    conversion_rate: float = 0.0
    poor_people: int = 0  # of the persons, those of a 脱贫户 (a poor row of theirs)
    poor_people_share: float = 0.0  # poor_people / people, 0..1 rounded to 4 places


@dataclass
class Breakdown:
    """One kind's, township's, village's or month's share of the year: `key` is the kind, the
    township's or village's id ("" without one) or the month (YYYY-MM); `name` the township's or
    village's name."""

    key: str
    totals: Totals
    name: str = ""


@dataclass
class SinceStart:
    start: datetime.date  # the county's programme start
    end: datetime.date  # the year's last day, or the county's today while the year runs
    totals: Totals


@dataclass
class Leaders:
    """贫困村 with an e-commerce leader: a trainee of a household in the village whose outcome is
    `leader`, from any session held by the period's end (a leader stays one)."""

    poor_villages: int
    with_leader: int
    share: float  # with_leader / poor_villages, 0..1 rounded to 4 places
    villages: list[str] = field(default_factory=list)  # the names of those with one


@dataclass
class KeeperFigure:
    station_id: uuid.UUID
    code: str
    name: str
    trainee_visits: int


@dataclass
class Keepers:
    """站长培训 in the year: the stations whose keeper was trained, and the stations open today
    whose keeper was not."""

    trained: list[KeeperFigure]
    open_stations: int
    open_untrained: int


@dataclass
class YearFigures:
    year: int
    sessions: list[SessionFigure]
    totals: Totals
    by_kind: list[Breakdown]
    by_township: list[Breakdown]
    by_month: list[Breakdown]
    by_village: list[Breakdown]
    since_start: SinceStart | None  # None without a start or when it is after the year's end
    leaders: Leaders
    keepers: Keepers


async def held_between(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> tuple[list[SessionRow], list[TraineeRow]]:
    """The sessions held from `first` to `last` (newest first) and their trainees: those staff
    recorded, and those keepers recorded at their station (`training.attended`), each of these a
    session in the station's township and village whose trainees take their household's poor
    flag today. Call inside a read transaction."""
    sessions = await store.sessions_between(county_id, first, last)
    trainees = await store.trainees_between(county_id, first, last)
    held = await ledger.training_attended(county_id, first, last)
    if not held:
        return sessions, trainees
    stations = {row.id: row for row in await registry_service.list_stations(county_id)}
    households: dict[str, tuple[uuid.UUID, bool] | None] = {}
    followed = await store.attended_outcomes(county_id)
    for event in held:
        station = stations[event.station]
        sessions.append(
            SessionRow(event.id, station.township_id, event.data["title"], event.business_date,
                       event.data["kind"], "", None, None, event.station, station.village_id)
        )  # fmt: skip
        for index, trainee in enumerate(event.data["trainees"]):
            code = trainee.get("household_code", "")
            if code and code not in households:
                households[code] = await household_of(county_id, code)
            household = households.get(code)
            trainee_id = uuid.uuid5(event.id, str(index))
            outcome, noted_on = followed.get(trainee_id, ("", None))
            trainees.append(
                TraineeRow(trainee_id, event.id, trainee["name"], code,
                           bool(household and household[1]), outcome, noted_on,
                           household[0] if household else None)
            )  # fmt: skip
    sessions.sort(key=lambda row: row.held_on, reverse=True)
    return sessions, trainees


async def household_of(county_id: uuid.UUID, code: str) -> tuple[uuid.UUID, bool] | None:
    """The household of that code in the county (its id and poor flag), or None."""
    at_counter = await registry.household_by_code(county_id, code)
    household = None if at_counter is None else await registry.household(at_counter.id)
    return None if household is None else (household.id, household.poverty)


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


def person_of(name: str, household_code: str) -> tuple[str, str]:
    """Who a trainee row is: the same name in the same household is one person over the year
    (人数, against 人次); without a household code the name alone has to do."""
    return (name.strip(), household_code)


@dataclass
class People:
    """The persons among some trainee rows, each (person_of) once."""

    people: int  # 人数
    converted: int  # of them with a conversion (CONVERSIONS) on any of their rows
    poor: int  # of them of a 脱贫户 (a row of theirs flagged poor)


def people_of(trainees: Iterable[TraineeRow]) -> People:
    """人数, and of them the persons converted and the poor persons, among these trainee rows."""
    people: set[tuple[str, str]] = set()
    converted: set[tuple[str, str]] = set()
    poor: set[tuple[str, str]] = set()
    for trainee in trainees:
        person = person_of(trainee.name, trainee.household_code)
        people.add(person)
        if trainee.outcome in CONVERSIONS:
            converted.add(person)
        if trainee.poor:
            poor.add(person)
    return People(len(people), len(converted), len(poor))


def totals_of(sessions: int, trainees: list[TraineeRow]) -> Totals:
    visits = len(trainees)
    poor = sum(1 for trainee in trainees if trainee.poor)
    people = people_of(trainees)
    return Totals(
        sessions=sessions,
        trainee_visits=visits,
        poor_trainee_visits=poor,
        poor_share=poor_share(poor, visits),
        people=people.people,
        people_converted=people.converted,
        conversion_rate=poor_share(people.converted, people.people),
        poor_people=people.poor,
        poor_people_share=poor_share(people.poor, people.people),
    )


def breakdown(
    sessions: list[SessionRow], trainees: list[TraineeRow], key: Callable[[SessionRow], str]
) -> list[Breakdown]:
    """The totals per key of the session (its kind, township or month), in the keys' order."""
    keys = {session.id: key(session) for session in sessions}
    counted: dict[str, int] = {}
    for session in sessions:
        counted[keys[session.id]] = counted.get(keys[session.id], 0) + 1
    rows: dict[str, list[TraineeRow]] = {name: [] for name in counted}
    for trainee in trainees:
        rows[keys[trainee.session]].append(trainee)
    return [Breakdown(name, totals_of(counted[name], rows[name])) for name in sorted(counted)]


def _kind(session: SessionRow) -> str:
    return session.kind


@dataclass
class PeriodTraining:
    """The county's training over a range of days, as its scorecard judges it."""

    visits: int  # 人次
    poor_visits: int  # of them from 脱贫户
    people: int  # distinct persons (person_of), as the year's `totals.people`
    people_converted: int  # of them converted (CONVERSIONS: work, an online shop, a business)
    poor_people: int  # of them of a 脱贫户
    visits_by_kind: dict[str, int]  # 人次 per kind of session, keyed `training_visits_<kind>`
    leaders: Leaders

    @property
    def leader_villages(self) -> tuple[int, int]:
        """(贫困村 with an e-commerce leader, 贫困村)"""
        return self.leaders.with_leader, self.leaders.poor_villages


async def period_training(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> PeriodTraining:
    """人次, poor 人次, persons, persons converted, poor persons and 人次 per kind of the sessions
    held from `first` to `last`, and the poor villages with a leader by `last` (the county's
    scorecard judges its training targets on them; call inside a read transaction)."""
    sessions, trainees = await held_between(county_id, first, last)
    totals = totals_of(len(sessions), trainees)
    by_kind = {row.key: row.totals.trainee_visits for row in breakdown(sessions, trainees, _kind)}
    return PeriodTraining(
        visits=totals.trainee_visits,
        poor_visits=totals.poor_trainee_visits,
        people=totals.people,
        people_converted=totals.people_converted,
        poor_people=totals.poor_people,
        visits_by_kind={f"training_visits_{kind}": by_kind.get(kind, 0) for kind in KINDS},
        leaders=await leaders_by(county_id, last),
    )


async def visits_between(county_id: uuid.UUID, first: datetime.date, last: datetime.date) -> int:
    """培训人次 of the sessions held from `first` to `last`, staff's and keepers' alike (the
    scorecard's since-start milestone; inside a read transaction)."""
    _, trainees = await held_between(county_id, first, last)
    return len(trainees)


async def totals_between(county_id: uuid.UUID, first: datetime.date, last: datetime.date) -> Totals:
    """The totals (sessions, 人次, poor 人次, 人数, persons converted) of the sessions held from
    `first` to `last`, staff's and keepers' alike, as `since_start` counts them (the county's
    milestones; inside a read transaction)."""
    sessions, trainees = await held_between(county_id, first, last)
    return totals_of(len(sessions), trainees)


async def leaders_by(county_id: uuid.UUID, last: datetime.date) -> Leaders:
    """The county's 贫困村 (the registry's flag today) and those with an e-commerce leader among
    the trainees of the sessions held by `last` (staff's and keepers' alike: held_between), the
    trainee's village being their household's."""
    _, trainees = await held_between(county_id, EARLIEST_DAY, last)
    households = {t.household for t in trainees if t.outcome == LEADER and t.household}
    villages_led = set()
    for household_id in households:
        household = await registry.household(household_id)
        if household is not None:
            villages_led.add(household.village)
    poor = [v for v in await registry_service.list_villages(county_id) if v.poor]
    led = [village.name for village in poor if village.id in villages_led]
    return Leaders(len(poor), len(led), poor_share(len(led), len(poor)), sorted(led))


async def keepers_of(county_id: uuid.UUID, trainees: list[TraineeRow]) -> Keepers:
    """The stations whose keeper is among these trainees, and the stations open now without."""
    stations = await registry_service.list_stations(county_id)
    visits: dict[uuid.UUID, int] = {}
    for trainee in trainees:
        if trainee.station is not None:
            visits[trainee.station] = visits.get(trainee.station, 0) + 1
    trained = [
        KeeperFigure(station.id, station.code, station.name, visits[station.id])
        for station in stations
        if station.id in visits
    ]
    open_now = [station for station in stations if station.closed_at is None]
    untrained = sum(1 for station in open_now if station.id not in visits)
    return Keepers(trained, len(open_now), untrained)


async def year_figures(
    county_id: uuid.UUID, year: int, programme_start: datetime.date | None = None
) -> YearFigures:
    """The county's sessions of `year` (newest first) with their 人次 and poor 人次, the
    year's totals, per kind, township and month, the leaders and keepers, and, given the
    programme's start, the totals from it through the year's end (or today while it runs).
    A session entered ahead of its day is listed (`planned`) but counted in no figure until its
    day comes, as the scorecard counts only what was held by the period's end."""
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    end = min(last, await county_today(county_id))
    async with db.read_transaction():
        listed, listed_trainees = await held_between(county_id, first, last)
        sessions = [row for row in listed if row.held_on <= end]
        held_ids = {row.id for row in sessions}
        trainees = [row for row in listed_trainees if row.session in held_ids]
        townships = {row.id: row.name for row in await registry_service.list_townships(county_id)}
        villages = {row.id: row.name for row in await registry_service.list_villages(county_id)}
        stations = {row.id: row for row in await registry_service.list_stations(county_id)}
        since = None
        if programme_start is not None and programme_start <= end:
            held, attended = await held_between(county_id, programme_start, end)
            since = SinceStart(programme_start, end, totals_of(len(held), attended))
        leaders = await leaders_by(county_id, last)
        keepers = await keepers_of(county_id, trainees)
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
            station_code=stations[row.station].code if row.station else "",
            village_id=row.village,
            village_name=villages.get(row.village, "") if row.village else "",
            planned=row.held_on > end,
        )
        for row in listed
    }
    for trainee in listed_trainees:
        session = figures[trainee.session]
        station = stations.get(trainee.station) if trainee.station else None
        session.trainees.append(
            TraineeFigure(
                trainee.name,
                trainee.household_code,
                trainee.poor,
                trainee.id,
                trainee.outcome,
                trainee.outcome_on,
                station.code if station else "",
                station.name if station else "",
            )
        )
        session.trainee_visits += 1
        session.poor_trainee_visits += int(trainee.poor)
    by_township = breakdown(sessions, trainees, lambda s: str(s.township or NO_TOWNSHIP))
    for row in by_township:
        row.name = townships.get(db.as_uuid(row.key), "") if row.key else ""
    by_village = breakdown(sessions, trainees, lambda s: str(s.village or NO_VILLAGE))
    for row in by_village:
        row.name = villages.get(db.as_uuid(row.key), "") if row.key else ""
    return YearFigures(
        year=year,
        sessions=list(figures.values()),
        totals=totals_of(len(sessions), trainees),
        by_kind=breakdown(sessions, trainees, _kind),
        by_township=by_township,
        by_month=breakdown(sessions, trainees, lambda session: f"{session.held_on:%Y-%m}"),
        by_village=by_village,
        since_start=since,
        leaders=leaders,
        keepers=keepers,
    )
