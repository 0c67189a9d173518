"""The township's page (/county/township): what a township's information officer (乡镇电商信息员,
role `township`) reports upward, and what county staff look at per township. One read:
township.township_overview, the same answer as `GET /api/v1/townships/{id}/overview`, the
targets the county set for the township judged in it; staff set those targets here."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from backend.accounts.guards import LoggedIn, requires_officer_or_staff, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.county import service, targets, township
from backend.county.settings_page import target_box, target_boxes, target_fields, typed_targets
from backend.errors import DomainError
from backend.registry.staff import page_county, staff_county
from backend.web.forms import FormState, error_state, form_values
from backend.web.layout import PAGE_ERRORS, TOWNSHIP_PATH, page_language, render

Month = Annotated[str | None, QueryParameter(required=False, description="YYYY-MM")]
Choice = Annotated[str | None, QueryParameter(required=False, description="A township's id")]
TOWNSHIP_TARGET_FIELDS = target_fields(targets.TOWNSHIP_TARGET_NAMES)


def _chosen(value: str | None, townships: list[uuid.UUID]) -> uuid.UUID:
    try:
        chosen = uuid.UUID(value) if value else None
    except ValueError:
        chosen = None
    if chosen in townships:
        return chosen
    if not townships:
        raise DomainError("unknown_township", status=404)
    return townships[0]


class TownshipPageController(Controller):
    path = TOWNSHIP_PATH
    include_in_schema = False
    guards = [requires_officer_or_staff]
    exception_handlers = PAGE_ERRORS

    @get("/", name="county_township")
    async def page(
        self, request: Request, user: LoggedIn, township_id: Choice = None, month: Month = None
    ) -> Template:
        return await _page(request, user, township_id, month)

    @post("/targets", guards=[requires_staff], status_code=200)
    async def set_targets(self, request: Request, user: LoggedIn) -> Response:
        """The county's targets for the chosen township (an empty box: no target); a refusal
        shows the page again as typed, with the message at the box, and changes nothing."""
        form = await request.form()
        county_id = await staff_county(user)
        places = await township.townships(county_id)
        chosen = str(form.get("township_id") or "")
        if chosen not in {str(place.id) for place in places}:
            raise DomainError("unknown_township", status=404, field="township_id")
        values = form_values(form, TOWNSHIP_TARGET_FIELDS)
        try:
            typed = typed_targets(values, targets.TOWNSHIP_TARGET_NAMES)
            try:
                await targets.set_township_targets(user, county_id, uuid.UUID(chosen), typed)
            except DomainError as exc:
                exc.field = target_box(exc.field, typed)
                raise
        except DomainError as exc:
            state = error_state(exc, values, page_language(request))
            return await _page(request, user, chosen, None, state)
        return Redirect(
            f"{TOWNSHIP_PATH}?township_id={chosen}&saved=targets#township-targets",
            status_code=303,
        )


async def _page(
    request: Request,
    user: CurrentUser,
    township_id: str | None,
    month: str | None,
    target_form: FormState | None = None,
) -> Template:
    county_id = await staff_county(user)
    places = await township.townships(county_id)
    if user.township_scope is not None:
        chosen = user.township_scope  # an officer sees the one township they serve
    else:
        chosen = _chosen(township_id, [place.id for place in places])
    overview = await township.township_overview(county_id, chosen, month)
    facts = await page_county(county_id)
    if target_form is None:
        set_before = [(row["name"], row["target"]) for row in overview["targets"]]
        target_form = FormState(values=target_boxes(set_before, targets.TOWNSHIP_TARGET_NAMES))
    return render(
        request,
        "county/township.html",
        nav="township",
        facts=facts,
        overview=overview,
        townships=places if user.township_scope is None else [],
        chosen=chosen,
        months=service.recent_months(facts.today),
        target_fields=TOWNSHIP_TARGET_FIELDS,
        target_form=target_form,
        targets_saved=request.query_params.get("saved") == "targets",
    )


ROUTE_HANDLERS = [TownshipPageController]
