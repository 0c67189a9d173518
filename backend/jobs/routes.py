"""HTTP for the jobs: county staff and admins see each job's latest runs and the lease holder."""

from litestar import Controller, Request, get

from backend.accounts.guards import requires_staff
from backend.errors import request_language
from backend.jobs import service
from backend.jobs.schemas import JobsOverview


class JobsController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]
    guards = [requires_staff]

    @get(
        operation_id="listJobs",
        summary="Scheduled jobs: their latest runs and which process holds the scheduler lease",
        description="Every job (checkin-reminder, parcel-overdue, rollup, province-report, "
        "push-retry) with its tick, its last five runs (when, which process, counts, error) "
        "and the lease that decides which `serve` process runs them.",
    )
    async def list_jobs(self, request: Request) -> JobsOverview:
        return await service.overview(request_language(request))


ROUTE_HANDLERS: list = [JobsController]
