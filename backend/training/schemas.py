"""What the training API takes and returns (API.md "Training", and docs/api.md for the rest)."""

from __future__ import annotations

import datetime
import uuid

import msgspec


class TraineeIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    household_code: str | None = None
    poor: bool = False  # ignored when household_code is given: the household's flag decides


class TrainingCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    held_on: str  # YYYY-MM-DD
    kind: str  # ecommerce_basics | entrepreneurship | station_keeper | livestream | other
    trainees: list[TraineeIn]
    township_id: uuid.UUID | None = None
    trainer: str | None = None
    hours: float | None = None  # decimal hours, e.g. 2.5; at most two decimals


class TrainingCreated(msgspec.Struct):
    id: uuid.UUID


class TraineeOut(msgspec.Struct):
    name: str
    household_code: str | None
    poor: bool
    id: uuid.UUID | None = None
    outcome: str | None = None  # employed | online_shop | business; None until noted
    outcome_on: datetime.date | None = None


class OutcomeIn(msgspec.Struct, forbid_unknown_fields=True):
    outcome: str | None  # employed | online_shop | business; null clears it
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


class TotalsOut(msgspec.Struct):
    sessions: int
    trainee_visits: int  # 人次: a person trained twice counts twice
    poor_trainee_visits: int
    poor_share: float  # poor_trainee_visits / trainee_visits, 0..1 rounded to 4 places
    people: int = 0  # distinct persons trained (name + household code; by name without a code)
    people_converted: int = 0  # of them with a follow-up outcome (就业, 开网店, 创业)
    conversion_rate: float = 0.0  # people_converted / people, 0..1 rounded to 4 places


class TrainingYearOut(msgspec.Struct):
    year: int
    sessions: list[SessionOut]
    totals: TotalsOut
