"""The staff page of training records (/county/training): the year's sessions with 人次 and poor
人次, the totals, and a form to record a session with its trainees one per line."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from backend import db
from backend.accounts.guards import LoggedIn, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError
from backend.i18n import translate
from backend.params import TraineeId
from backend.registry.pages import choices
from backend.registry.staff import page_county, staff_county
from backend.training import figures as training
from backend.training import service
from backend.training.figures import ProgrammeStartOf
from backend.web.forms import FormField, FormState, error_state, form_values
from backend.web.layout import PAGE_ERRORS, page_language, render

TRAINING_FIELDS = [
    FormField("title", required=True),
    FormField("held_on", "date", required=True),
    FormField("kind", "select", "kinds", required=True),
    FormField("township_id", "select", "townships"),
    FormField("trainer"),
    FormField("hours"),
    FormField("trainees", "textarea", required=True),
]
# A trainee's line: "name", "name,household code" or "name,household code,station code" (a
# full-width comma or a tab, as pasted from a spreadsheet, too).
_SEPARATOR = re.compile(r"[,，\t]")
# Problems about one trainee belong to the trainees box.
_TRAINEE_FIELDS = {"name", "household_code", "poor", "station_code"}


def trainee_lines(text: str) -> list[service.TraineeInput]:
    trainees = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in _SEPARATOR.split(line, maxsplit=2)] + ["", ""]
        trainees.append(
            service.TraineeInput(
                name=parts[0], household_code=parts[1] or None, station_code=parts[2] or None
            )
        )
    return trainees


def _township_id(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return db.as_uuid(value)
    except ValueError:
        raise DomainError("training_township_unknown", field="township_id") from None


async def training_page(
    request: Request,
    user: CurrentUser,
    programme_start_of: ProgrammeStartOf,
    state: FormState | None = None,
    year: Any = None,
) -> Template:
    county_id = await staff_county(user)
    county = await page_county(county_id)
    language = page_language(request)
    chosen = await training.year_range(
        county_id, year if year is not None else request.query_params.get("year")
    )
    start = await programme_start_of(county_id)
    figures = await training.year_figures(county_id, chosen, start)
    lists = await choices(county_id)
    lists["kinds"] = [
        {"value": kind, "text": translate(f"training.kind.{kind}", language)}
        for kind in service.KINDS
    ]
    return render(
        request,
        "training/training.html",
        nav="training",
        facts=county,
        year=chosen,
        years=[y for y in (chosen - 1, chosen + 1) if 2015 <= y <= county.today.year + 1],
        figures=figures,
        share_pct=round(figures.totals.poor_share * 100, 1),
        conversion_pct=round(figures.totals.conversion_rate * 100, 1),
        outcomes=service.OUTCOMES,
        open_session=request.query_params.get("session", ""),
        outcome_saved=request.query_params.get("saved") == "outcome",
        lists=lists,
        fields=TRAINING_FIELDS,
        form=state
        or FormState(values={"held_on": county.today.isoformat(), "kind": service.KINDS[0]}),
        saved=request.query_params.get("saved") == "1",
    )


class TrainingPagesController(Controller):
    """Training records (培训台帐)."""

    path = "/county"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/training")
    async def training(
        self, request: Request, user: LoggedIn, programme_start_of: ProgrammeStartOf
    ) -> Template:
        return await training_page(request, user, programme_start_of)

    @post("/training", status_code=200)
    async def record_training(
        self, request: Request, user: LoggedIn, programme_start_of: ProgrammeStartOf
    ) -> Response:
        county_id = await staff_county(user)
        values = form_values(await request.form(), TRAINING_FIELDS)
        township = values.get("township_id")
        try:
            township_id = _township_id(township)
            session = service.SessionInput(
                title=values.get("title", ""),
                held_on=values.get("held_on", ""),
                kind=values.get("kind", ""),
                township_id=township_id,
                trainer=values.get("trainer"),
                hours=values.get("hours"),
                trainees=trainee_lines(values.get("trainees", "")),
            )
            await service.record_session(county_id, user, session)
        except DomainError as exc:
            state = error_state(exc, values, page_language(request))
            for name in _TRAINEE_FIELDS & set(state.errors):
                # A trainee's problem belongs to the trainees box (its message names the line).
                state.errors["trainees"] = state.errors.pop(name)
            return await training_page(request, user, programme_start_of, state, year="")
        year = session.held_on[:4]
        return Redirect(f"/county/training?year={year}&saved=1", status_code=303)

    @post("/training/trainees/{trainee_id:uuid}/outcome", status_code=200)
    async def trainee_outcome(
        self,
        request: Request,
        user: LoggedIn,
        trainee_id: TraineeId,
        programme_start_of: ProgrammeStartOf,
    ) -> Response:
        county_id = await staff_county(user)
        form = await request.form()
        year, session = str(form.get("year") or ""), str(form.get("session") or "")
        try:
            outcome = str(form.get("outcome") or "") or None
            await service.set_outcome(county_id, user, trainee_id, outcome, None)
        except DomainError as exc:
            state = error_state(exc, {}, page_language(request))
            return await training_page(request, user, programme_start_of, state, year=year)
        session_query = f"&session={session}#session-{session}" if _is_uuid(session) else ""
        return Redirect(
            f"/county/training?year={year[:4]}&saved=outcome{session_query}", status_code=303
        )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


ROUTE_HANDLERS = [TrainingPagesController]
