"""The province officer's page (/county/province): the counties it reads, side by side, the same
read as `GET /api/v1/province/counties`."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from backend.accounts.guards import LoggedIn, requires_province
from backend.province import service
from backend.web.layout import PAGE_ERRORS, PROVINCE_PATH, render

Month = Annotated[str | None, QueryParameter(required=False, description="YYYY-MM")]


class ProvincePageController(Controller):
    path = PROVINCE_PATH
    include_in_schema = False
    guards = [requires_province]
    exception_handlers = PAGE_ERRORS

    @get("/", name="province_compare")
    async def page(self, request: Request, user: LoggedIn, month: Month = None) -> Template:
        comparison = await service.compare(user, month)
        return render(
            request,
            "province/compare.html",
            nav="province",
            lines=comparison.counties,
            stale_minutes=int(service.STALE_AFTER.total_seconds() // 60),
        )


ROUTE_HANDLERS = [ProvincePageController]
