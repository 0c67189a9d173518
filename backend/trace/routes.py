"""HTTP for trace batches (API.md "Traceability"): create one, list the county's with scans."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from backend.accounts.guards import LoggedIn, requires_county_scope, requires_staff
from backend.params import CountyId
from backend.registry.service import county_today
from backend.trace import points, service
from backend.trace.schemas import TraceBatchCreate, TraceBatchCreated, TraceBatchOut


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


class CountyTraceController(Controller):
    path = "/api/v1/counties/{county_id:uuid}"
    tags = ["traceability"]
    guards = [requires_staff, requires_county_scope]

    @post(
        "/trace-batches",
        operation_id="createTraceBatch",
        summary="Register a trace batch; answers its code and the public page's URL",
        description="`product` (≤ 60 characters, one line) is required. `village_id` and "
        "`station_id` must be the county's; `household_code` a household of the county (its "
        "village becomes the origin when `village_id` is omitted; never shown publicly). "
        "`harvested_on` not after the county's today; `quantity` a JSON number > 0 (up to three "
        "decimals) with `unit` (kg, jin, box, piece, item); `inspection` passed | failed; "
        "`brand`; `certification` pollution_free | green | organic | geo_indication.",
        status_code=HTTP_201_CREATED,
    )
    async def create_batch(
        self,
        request: Request,
        user: LoggedIn,
        county_id: CountyId,
        data: JSONBody[TraceBatchCreate],
    ) -> Response[TraceBatchCreated]:
        batch = await service.create_batch(county_id, user, data)
        created = TraceBatchCreated(
            id=batch.id, code=batch.code, url=service.page_url(base_url(request), batch.code)
        )
        return Response(created, status_code=HTTP_201_CREATED)

    @get(
        "/trace-batches",
        operation_id="listTraceBatches",
        summary="Every trace batch of the county, newest first, with its scans",
    )
    async def batches(self, request: Request, county_id: CountyId) -> list[TraceBatchOut]:
        return await service.list_batches(county_id, base_url(request))

    @get(
        "/trace-points",
        operation_id="tracePoints",
        summary="Trace points (溯源点) today: the distinct origins of the registered batches",
        description="An origin is the batch's household, else its station, else its village.",
    )
    async def trace_points(self, county_id: CountyId) -> points.TracePoints:
        return await points.trace_points(county_id, await county_today(county_id))


ROUTE_HANDLERS = [CountyTraceController]
