"""Health: `/healthz` answers 200 once the database answers, 503 otherwise."""

from litestar import Controller, Request, Response, get
from litestar.response import Redirect

from backend import db
from backend.errors import problem_document, problem_response, request_language
from backend.migrations import pending_migrations
from backend.system.metrics import MetricsController


class HealthController(Controller):
    path = "/"
    tags = ["system"]

    @get("/healthz", operation_id="health", summary="Liveness: the database answers")
    async def health(self, request: Request) -> Response[dict]:
        try:
            async with db.read_transaction():
                await db.fetch("SELECT 1 AS one")
        except Exception:
            document = problem_document("unavailable", 503, request_language(request))
            return problem_response(request, document)
        return Response({"status": "ok"}, headers={"cache-control": "no-store"})

    @get(
        "/readyz",
        operation_id="ready",
        summary="Readiness: database answers, migrations applied, durability settings safe",
    )
    async def ready(self, request: Request) -> Response[dict]:
        try:
            pending = await pending_migrations()
            report = await db.durability_report()
        except Exception:
            pending, report = ["(database unavailable)"], {}
        if pending or not db.durability_ok(report):
            document = problem_document("unavailable", 503, request_language(request))
            document["pending_migrations"] = pending[:5]
            document["database"] = report
            return problem_response(request, document)
        return Response(
            {"status": "ready", "database": report}, headers={"cache-control": "no-store"}
        )

    @get("/", include_in_schema=False)
    async def root(self) -> Redirect:
        return Redirect("/app/")


ROUTE_HANDLERS = [HealthController, MetricsController]
