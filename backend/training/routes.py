"""HTTP API of training records: county staff record sessions and read a year's figures."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post, put
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.accounts.guards import LoggedIn, requires_county_scope, requires_staff
from backend.params import CountyId, TraineeId
from backend.training import figures, service
from backend.training.figures import ProgrammeStartOf
from backend.training.schemas import (
    OutcomeIn,
    SessionOut,
    TraineeOut,
    TrainingCreate,
    TrainingCreated,
    TrainingYearOut,
)

YearText = Annotated[
    str | None,
    QueryParameter(description="Year, YYYY (the county's current year if omitted)", required=False),
]


def session_input(data: TrainingCreate) -> service.SessionInput:
    return service.SessionInput(
        title=data.title,
        held_on=data.held_on,
        kind=data.kind,
        township_id=data.township_id,
        village_id=data.village_id,
        trainer=data.trainer,
        hours=data.hours,
        trainees=[
            service.TraineeInput(t.name, t.household_code, t.poor, t.station_code)
            for t in data.trainees
        ],
    )


def _trainee_out(trainee: figures.TraineeFigure) -> TraineeOut:
    return TraineeOut(
        trainee.name,
        trainee.household_code or None,
        trainee.poor,
        id=trainee.id,
        outcome=trainee.outcome or None,
        outcome_on=trainee.outcome_on,
        station_code=trainee.station_code or None,
        station_name=trainee.station_name or None,
    )


def year_out(year: figures.YearFigures) -> TrainingYearOut:
    sessions = [
        SessionOut(
            id=s.id,
            title=s.title,
            held_on=s.held_on,
            kind=s.kind,
            township_id=s.township_id,
            township_name=s.township_name,
            trainer=s.trainer,
            hours=s.hours,
            trainee_visits=s.trainee_visits,
            poor_trainee_visits=s.poor_trainee_visits,
            trainees=[_trainee_out(t) for t in s.trainees],
            station_code=s.station_code or None,
            village_id=s.village_id,
            village_name=s.village_name,
            planned=s.planned,
        )
        for s in year.sessions
    ]
    # The rest maps field for field (dataclasses → the response's structs).
    rest = {
        name: getattr(year, name)
        for name in (
            "year",
            "totals",
            "by_kind",
            "by_township",
            "by_month",
            "by_village",
            "since_start",
        )
    }
    rest.update(leaders=year.leaders, keepers=year.keepers, sessions=[])
    answer = msgspec.convert(rest, TrainingYearOut, from_attributes=True)
    answer.sessions = sessions
    return answer


class TrainingController(Controller):
    path = "/api/v1/counties/{county_id:uuid}/trainings"
    tags = ["training"]
    guards = [requires_staff, requires_county_scope]

    @post(
        operation_id="recordTraining",
        summary="Record a training session with its trainees (培训台帐)",
        description="`kind`: ecommerce_basics | entrepreneurship | station_keeper | livestream | "
        "other; 1–500 trainees. A trainee with a `household_code` takes the household's poor "
        "flag; a `station_code` makes them that station's keeper; an unknown code is 422 "
        "naming the field. Nothing is written on a refusal.",
        status_code=HTTP_201_CREATED,
    )
    async def record(
        self, user: LoggedIn, county_id: CountyId, data: JSONBody[TrainingCreate]
    ) -> TrainingCreated:
        return TrainingCreated(
            id=await service.record_session(county_id, user, session_input(data))
        )

    @get(
        operation_id="listTrainings",
        summary="A year's sessions with 人次 and poor 人次, the year's totals, per kind, "
        "township and month, since the programme's start, leaders and keepers trained",
    )
    async def year(
        self,
        county_id: CountyId,
        programme_start_of: ProgrammeStartOf,
        year: YearText = None,
    ) -> TrainingYearOut:
        chosen = await figures.year_range(county_id, year)
        start = await programme_start_of(county_id)
        return year_out(await figures.year_figures(county_id, chosen, start))

    @put(
        "/trainees/{trainee_id:uuid}/outcome",
        operation_id="setTraineeOutcome",
        summary="Note what a trainee did with the training (培训转化)",
        description="`outcome`: employed | online_shop | business | sells_at_station | leader, "
        "or null to clear it; "
        "`noted_on` (YYYY-MM-DD, not ahead of the county's today) defaults to today. Audited. "
        "The year's totals count `people` (人数) and `people_converted` beside 人次.",
        status_code=200,
    )
    async def outcome(
        self,
        user: LoggedIn,
        county_id: CountyId,
        trainee_id: TraineeId,
        data: JSONBody[OutcomeIn],
    ) -> None:
        await service.set_outcome(county_id, user, trainee_id, data.outcome, data.noted_on)


ROUTE_HANDLERS = [TrainingController]
