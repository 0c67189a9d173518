"""HTTP for the province's view (issue #17): an admin gives an officer the counties it reads; the
officer reads them side by side."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.accounts.guards import LoggedIn, requires_admin, requires_province
from backend.accounts.schemas import ProvinceUserCreate, UserOut
from backend.province import service

Month = Annotated[
    str | None,
    QueryParameter(required=False, description="YYYY-MM; default: each county's own month"),
]


class ProvinceController(Controller):
    path = "/api/v1/province"
    tags = ["province"]

    @post(
        "/officers",
        guards=[requires_admin],
        operation_id="createProvinceOfficer",
        summary="An admin opens a province (or prefecture) officer's account on several counties",
        status_code=HTTP_201_CREATED,
    )
    async def create_officer(self, user: LoggedIn, data: JSONBody[ProvinceUserCreate]) -> UserOut:
        return await service.create_officer(user, data)

    @get(
        "/counties",
        guards=[requires_province],
        operation_id="compareCounties",
        summary="The officer's counties side by side: coverage, targets met, the month and year",
    )
    async def counties(self, user: LoggedIn, month: Month = None) -> service.Comparison:
        return await service.compare(user, month)


ROUTE_HANDLERS = [ProvinceController]
