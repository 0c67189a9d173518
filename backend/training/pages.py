"""The staff pages of training records: /county/training (the year's figures from the one read
model, and a form to record a session with its trainees one per line) and /county/training/import
(a session's sign-in sheet, xlsx: a dry run's row-by-row report, then the import)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from backend import db
from backend.accounts.guards import LoggedIn, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError
from backend.i18n import translate
from backend.params import TraineeId
from backend.registry import list_file
from backend.registry.pages import choices
from backend.registry.staff import page_county, staff_county
from backend.training import figures as training
from backend.training import service, signin
from backend.training.figures import ProgrammeStartOf
from backend.web.forms import FormField, FormState, error_state, form_values
from backend.web.layout import PAGE_ERRORS, page_language, render

TRAINING_FIELDS = [
    FormField("title", required=True),
    FormField("held_on", "date", required=True),
    FormField("kind", "select", "kinds", required=True),
    FormField("township_id", "select", "townships"),
    FormField("village_id", "select", "villages"),
    FormField("trainer"),
    FormField("hours", "decimal"),
    FormField("trainees", "textarea", required=True),
]
SESSION_FIELDS = TRAINING_FIELDS[:-1]  # the sign-in sheet brings the trainees
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


def _place_id(value: str | None, name: str) -> uuid.UUID | None:
    """The township or village chosen (`name` is `township` or `village`), or None."""
    if not value:
        return None
    try:
        return db.as_uuid(value)
    except ValueError:
        raise DomainError(f"training_{name}_unknown", field=f"{name}_id") from None


async def training_page(
    request: Request,
    user: CurrentUser,
    programme_start_of: ProgrammeStartOf,
    state: FormState | None = None,
    year: Any = None,
    refused_outcome: dict[str, str] | None = None,
    open_session: str = "",
) -> Template:
    county_id = await staff_county(user)
    county = await page_county(county_id)
    language = page_language(request)
    chosen = await training.year_range(
        county_id, year if year is not None else request.query_params.get("year")
    )
    start = await programme_start_of(county_id)
    figures = await training.year_figures(county_id, chosen, start)
    return render(
        request,
        "training/training.html",
        nav="training",
        facts=county,
        year=chosen,
        years=[y for y in (chosen - 1, chosen + 1) if 2015 <= y <= county.today.year + 1],
        figures=figures,
        share_pct=round(figures.totals.poor_share * 100, 1),
        poor_people_pct=round(figures.totals.poor_people_share * 100, 1),
        conversion_pct=round(figures.totals.conversion_rate * 100, 1),
        outcomes=service.OUTCOMES,
        open_session=open_session or request.query_params.get("session", ""),
        today=county.today,
        refused_outcome=refused_outcome or {},
        outcome_saved=request.query_params.get("saved") == "outcome",
        lists=await _lists(county_id, language),
        fields=TRAINING_FIELDS,
        form=state or _blank_form(county.today.isoformat()),
        saved=request.query_params.get("saved") == "1",
    )


async def _lists(county_id: uuid.UUID, language: str) -> dict[str, list]:
    lists = await choices(county_id)
    lists["kinds"] = [
        {"value": kind, "text": translate(f"training.kind.{kind}", language)}
        for kind in service.KINDS
    ]
    return lists


def _blank_form(today: str) -> FormState:
    return FormState(values={"held_on": today, "kind": service.KINDS[0]})


def _session_input(
    values: dict[str, Any], trainees: list[service.TraineeInput]
) -> service.SessionInput:
    return service.SessionInput(
        title=values.get("title", ""),
        held_on=values.get("held_on", ""),
        kind=values.get("kind", ""),
        township_id=_place_id(values.get("township_id"), "township"),
        village_id=_place_id(values.get("village_id"), "village"),
        trainer=values.get("trainer"),
        hours=values.get("hours"),
        trainees=trainees,
    )


async def import_page(
    request: Request, user: CurrentUser, state: FormState | None = None, **report: Any
) -> Template:
    county_id = await staff_county(user)
    county = await page_county(county_id)
    return render(
        request,
        "training/import.html",
        nav="training",
        facts=county,
        lists=await _lists(county_id, page_language(request)),
        fields=SESSION_FIELDS,
        form=state or _blank_form(county.today.isoformat()),
        **report,
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
        try:
            session = _session_input(values, trainee_lines(values.get("trainees", "")))
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
            noted_on = str(form.get("noted_on") or "")  # the day noted; empty: today
            await service.set_outcome(county_id, user, trainee_id, outcome, noted_on)
        except DomainError as exc:
            # The session's list stays open, the trainee's row as typed with the message in it
            # (it came back with the outcome and day reset, the message above the sessions).
            refused = {
                "trainee": str(trainee_id),
                "outcome": outcome or "",
                "noted_on": noted_on,
                "message": exc.problem(page_language(request))["detail"],
            }
            return await training_page(
                request,
                user,
                programme_start_of,
                year=year,
                refused_outcome=refused,
                open_session=session,
            )
        session_query = f"&session={session}#session-{session}" if _is_uuid(session) else ""
        return Redirect(
            f"/county/training?year={year[:4]}&saved=outcome{session_query}", status_code=303
        )

    @get("/training/import")
    async def import_form(self, request: Request, user: LoggedIn) -> Template:
        return await import_page(request, user)

    @post(
        "/training/import",
        status_code=200,
        request_max_body_size=list_file.MAX_BYTES + 64 * 1024,
    )
    async def import_signin(self, request: Request, user: LoggedIn) -> Response:
        """The sign-in sheet checked row by row (action dry_run) or recorded as a session with
        its rows as trainees (action import: nothing is written when any row is wrong)."""
        county_id = await staff_county(user)
        language = page_language(request)
        form = await request.form()
        values = form_values(form, SESSION_FIELDS)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            message = translate("training.import.no_file", language)
            return await import_page(request, user, FormState(values=values, message=message))
        importing = form.get("action") == "import"
        try:
            report = await signin.read_sheet(county_id, await upload.read(), language)
            if importing:
                session = _session_input(values, [])
                if await signin.import_sheet(county_id, user, session, report):
                    year = session.held_on[:4]
                    return Redirect(f"/county/training?year={year}&saved=1", status_code=303)
        except DomainError as exc:
            state = error_state(exc, values, language)
            for name in set(state.errors) - {spec.name for spec in SESSION_FIELDS}:
                state.message = state.errors.pop(name)  # about the sheet, not a field shown
            return await import_page(request, user, state)
        return await import_page(
            request,
            user,
            FormState(values=values),
            report=report,
            filename=upload.filename,
            refused=importing,
        )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


ROUTE_HANDLERS = [TrainingPagesController]
