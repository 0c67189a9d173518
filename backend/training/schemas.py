"""What the training API takes and returns (API.md "Training", and docs/api.md for the rest)."""

from __future__ import annotations

import datetime
import uuid

import msgspec


class TraineeIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    household_code: str | None = None
    poor: bool = False  # ignored when household_code is given: the household's flag decides
    station_code: str | None = None  # the trainee is this station's keeper (站长培训)


class TrainingCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    held_on: str  # YYYY-MM-DD
    kind: str  # ecommerce_basics | entrepreneurship | station_keeper | livestream | other
    trainees: list[TraineeIn]
    township_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None  # in the county (and the township when both are given)
    trainer: str | None = None
    hours: float | None = None  # decimal hours, e.g. 2.5; at most two decimals


class TrainingCreated(msgspec.Struct):
    id: uuid.UUID


class TraineeOut(msgspec.Struct):
    name: str
    household_code: str | None
    poor: bool
    id: uuid.UUID | None = None
    # employed | online_shop | business | sells_at_station | leader; None until noted
    outcome: str | None = None
    outcome_on: datetime.date | None = None
    station_code: str | None = None  # the station whose keeper this trainee is
    station_name: str | None = None


class OutcomeIn(msgspec.Struct, forbid_unknown_fields=True):
    # employed | online_shop | business | sells_at_station | leader; null clears it
    outcome: str | None
    noted_on: str | None = None  # YYYY-MM-DD, the county's today when omitted


class SessionOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    held_on: datetime.date
    kind: str
    township_id: uuid.UUID | None
    township_name: str
    trainer: str
    hours: float | None
    trainee_visits: int
    poor_trainee_visits: int
    trainees: list[TraineeOut]
    station_code: str | None = None  # held at this station by its keeper (`training.attended`)
    village_id: uuid.UUID | None = None  # the village it was held in (a keeper's: the station's)
    village_name: str = ""
    planned: bool = False  # held after today: listed, counted in no total until its day


class TotalsOut(msgspec.Struct):
    sessions: int
    trainee_visits: int  # 人次: a person trained twice counts twice
    poor_trainee_visits: int
    poor_share: float  # poor_trainee_visits / trainee_visits, 0..1 rounded to 4 places
    people: int = 0  # distinct persons trained (name + household code; by name without a code)
    people_converted: int = 0  # of them who found work, opened a shop or started a business
    conversion_rate: float = 0.0  # people_converted / people, 0..1 rounded to 4 places
    poor_people: int = 0  # of the persons, those of a 脱贫户
    poor_people_share: float = 0.0  # poor_people / people, 0..1 rounded to 4 places


class BreakdownOut(msgspec.Struct):
    key: str  # the kind, the township's or village's id ("" = none given) or the month YYYY-MM
    totals: TotalsOut
    name: str = ""  # the township's or village's name


class SinceStartOut(msgspec.Struct):
    start: datetime.date  # the county's programme start
    end: datetime.date  # the year's last day, or the county's today while the year runs
    totals: TotalsOut


class LeadersOut(msgspec.Struct):
    poor_villages: int  # 贫困村 in the registry today
    with_leader: int  # of them with a trainee (by household) whose outcome is `leader`
    share: float  # with_leader / poor_villages, 0..1 rounded to 4 places
    villages: list[str]  # the names of the poor villages with a leader


class KeeperOut(msgspec.Struct):
    station_id: uuid.UUID
    code: str
    name: str
    trainee_visits: int


class KeepersOut(msgspec.Struct):
    trained: list[KeeperOut]  # the stations whose keeper was trained in the year
    open_stations: int  # stations open today
    open_untrained: int  # of them whose keeper was not trained in the year


class TrainingYearOut(msgspec.Struct):
    year: int
    sessions: list[SessionOut]
    totals: TotalsOut
    by_kind: list[BreakdownOut]
    by_township: list[BreakdownOut]
    by_month: list[BreakdownOut]
    by_village: list[BreakdownOut]
    since_start: SinceStartOut | None  # None when the programme starts after the year's end
    leaders: LeadersOut
    keepers: KeepersOut
