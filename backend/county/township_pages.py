"""The township's page (/county/township): what a township's information officer (乡镇电商信息员,
role `township`) reports upward, and what county staff look at per township. One read:
township.township_overview, the same answer as `GET /api/v1/townships/{id}/overview`."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from backend.accounts.guards import LoggedIn, requires_officer_or_staff
from backend.county import service, township
from backend.errors import DomainError
from backend.registry.staff import page_county, staff_county
from backend.web.layout import PAGE_ERRORS, TOWNSHIP_PATH, render

Month = Annotated[str | None, QueryParameter(required=False, description="YYYY-MM")]
Choice = Annotated[str | None, QueryParameter(required=False, description="A township's id")]


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
        county_id = await staff_county(user)
        places = await township.townships(county_id)
        if user.role == "township" and user.township_id is not None:
            chosen = user.township_id  # an officer sees the one township they serve
        else:
            chosen = _chosen(township_id, [place.id for place in places])
        overview = await township.township_overview(county_id, chosen, month)
        facts = await page_county(county_id)
        return render(
            request,
            "county/township.html",
            nav="township",
            facts=facts,
            overview=overview,
            townships=places if user.role != "township" else [],
            chosen=chosen,
            months=service.recent_months(facts.today),
        )


ROUTE_HANDLERS = [TownshipPageController]
