"""The only code that reads or writes the training tables; it hands out typed rows.

Every function runs inside the caller's transaction (`db.write_transaction()` or
`db.read_transaction()`), so a session and its trainees are written together or not at all.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend import db
from backend.training.tables import TrainingAttendedOutcome, TrainingSession, TrainingTrainee


class NewTrainee(msgspec.Struct, frozen=True):
    name: str
    household_code: str  # "" when none was given
    household: uuid.UUID | None
    poor: bool
    station: uuid.UUID | None = None  # a station's keeper (站长培训)


class SessionRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    township: uuid.UUID | None
    title: str
    held_on: datetime.date
    kind: str
    trainer: str
    hours_centi: int | None
    created_at: datetime.datetime | None
    station: uuid.UUID | None = None  # held at this station by its keeper (the PWA's entry)
    village: uuid.UUID | None = None  # the village it was held in, when given


class TraineeRow(msgspec.Struct, frozen=True):
    id: uuid.UUID
    session: uuid.UUID
    name: str
    household_code: str
    poor: bool
    outcome: str  # "" until staff note one
    outcome_on: datetime.date | None
    household: uuid.UUID | None = None
    station: uuid.UUID | None = None


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else db.as_uuid(value)


async def insert_session(
    session_id: uuid.UUID,
    county_id: uuid.UUID,
    *,
    township_id: uuid.UUID | None,
    village_id: uuid.UUID | None = None,
    title: str,
    held_on: datetime.date,
    kind: str,
    trainer: str,
    hours_centi: int | None,
    author_id: uuid.UUID | None,
    trainees: list[NewTrainee],
) -> None:
    await TrainingSession.insert(
        TrainingSession(
            id=session_id,
            county=county_id,
            township=township_id,
            village=village_id,
            title=title,
            held_on=held_on,
            kind=kind,
            trainer=trainer,
            hours_centi=hours_centi,
            author=author_id,
        )
    )
    await TrainingTrainee.insert(
        *[
            TrainingTrainee(
                id=uuid.uuid4(),
                session=session_id,
                position=position,
                name=trainee.name,
                household_code=trainee.household_code,
                household=trainee.household,
                poor=trainee.poor,
                station=trainee.station,
            )
            for position, trainee in enumerate(trainees)
        ]
    )


async def sessions_between(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[SessionRow]:
    """The county's sessions held from `first` to `last` (inclusive), newest first."""
    rows = (
        await TrainingSession.select(
            TrainingSession.id,
            TrainingSession.township,
            TrainingSession.title,
            TrainingSession.held_on,
            TrainingSession.kind,
            TrainingSession.trainer,
            TrainingSession.hours_centi,
            TrainingSession.created_at,
            TrainingSession.village,
        )
        .where(
            (TrainingSession.county == county_id)
            & (TrainingSession.held_on >= first)
            & (TrainingSession.held_on <= last)
        )
        .order_by(TrainingSession.held_on, ascending=False)
        .order_by(TrainingSession.created_at, ascending=False)
    )
    return [
        SessionRow(
            id=db.as_uuid(row["id"]),
            township=_uuid(row["township"]),
            title=row["title"],
            held_on=db.as_date(row["held_on"]),
            kind=row["kind"],
            trainer=row["trainer"] or "",
            hours_centi=row["hours_centi"],
            created_at=None if row["created_at"] is None else db.as_moment(row["created_at"]),
            village=_uuid(row["village"]),
        )
        for row in rows
    ]


async def trainees_between(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[TraineeRow]:
    """The trainees of those sessions, in the order they were entered."""
    rows = (
        await TrainingTrainee.select(
            TrainingTrainee.id,
            TrainingTrainee.session,
            TrainingTrainee.name,
            TrainingTrainee.household_code,
            TrainingTrainee.poor,
            TrainingTrainee.outcome,
            TrainingTrainee.outcome_on,
            TrainingTrainee.household,
            TrainingTrainee.station,
        )
        .where(
            (TrainingTrainee.session.county == county_id)
            & (TrainingTrainee.session.held_on >= first)
            & (TrainingTrainee.session.held_on <= last)
        )
        .order_by(TrainingTrainee.session)
        .order_by(TrainingTrainee.position)
    )
    return [
        TraineeRow(
            id=db.as_uuid(row["id"]),
            session=db.as_uuid(row["session"]),
            name=row["name"],
            household_code=row["household_code"] or "",
            poor=bool(row["poor"]),
            outcome=row["outcome"] or "",
            outcome_on=None if row["outcome_on"] is None else db.as_date(row["outcome_on"]),
            household=_uuid(row["household"]),
            station=_uuid(row["station"]),
        )
        for row in rows
    ]


async def set_outcome(
    county_id: uuid.UUID, trainee_id: uuid.UUID, outcome: str, noted_on: datetime.date | None
) -> bool:
    """Note a trainee's follow-up; False when the county has no such trainee."""
    found = await TrainingTrainee.exists().where(
        (TrainingTrainee.id == trainee_id) & (TrainingTrainee.session.county == county_id)
    )
    if not found:
        return False
    await TrainingTrainee.update(
        {TrainingTrainee.outcome: outcome, TrainingTrainee.outcome_on: noted_on}
    ).where(TrainingTrainee.id == trainee_id)
    return True


async def attended_outcomes(county_id: uuid.UUID) -> dict[uuid.UUID, tuple[str, datetime.date]]:
    """The follow-ups of the county's village-session trainees, by trainee id."""
    rows = await TrainingAttendedOutcome.select().where(TrainingAttendedOutcome.county == county_id)
    return {db.as_uuid(r["id"]): (r["outcome"], db.as_date(r["outcome_on"])) for r in rows}


async def set_attended_outcome(
    county_id: uuid.UUID, trainee_id: uuid.UUID, outcome: str, noted_on: datetime.date | None
) -> None:
    """Note (or with "" clear) a village-session trainee's follow-up, in the caller's write."""
    await TrainingAttendedOutcome.delete().where(TrainingAttendedOutcome.id == trainee_id)
    if outcome and noted_on is not None:
        await TrainingAttendedOutcome.insert(
            TrainingAttendedOutcome(
                id=trainee_id, county=county_id, outcome=outcome, outcome_on=noted_on
            )
        )
