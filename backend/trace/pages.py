"""The county's trace batches (staff pages under /county/trace): the county's scans per month of
the last twelve and this year, the batches with their scans this year and in all, a form to
register one, and a printable A4 sheet of 24 labels (3 × 8, 70 × 37 mm) per batch."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from backend.accounts.guards import LoggedIn, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError
from backend.i18n import text_direction, translate
from backend.registry.pages import choices
from backend.registry.service import county_today
from backend.registry.staff import page_county, staff_county
from backend.trace import points, service
from backend.trace.public import LABEL_STYLE
from backend.trace.routes import base_url
from backend.trace.schemas import TraceBatchCreate
from backend.web.forms import FormField, FormState, error_state, form_values, to_struct
from backend.web.layout import PAGE_ERRORS, page_language, render
from backend.web.public import page_policy

BATCH_FIELDS = [
    FormField("product", required=True),
    FormField("brand"),
    FormField("village_id", "select", "villages"),
    FormField("household_code"),
    FormField("station_id", "select", "stations"),
    FormField("harvested_on", "date"),
    FormField("quantity", "decimal"),
    FormField("unit", "select", "units"),
    FormField("inspection", "select", "inspections"),
    FormField("certification", "select", "certifications"),
]
BatchId = Annotated[uuid.UUID, PathParameter(title="Batch id", description="A trace batch")]
LABELS_PER_SHEET = 24  # 3 × 8 labels of 70 × 37 mm on A4
LABEL_POLICY = page_policy(LABEL_STYLE)


def _options(prefix: str, codes: tuple[str, ...], language: str) -> list[dict[str, str]]:
    return [{"value": code, "text": translate(f"{prefix}.{code}", language)} for code in codes]


async def trace_page(request: Request, user: CurrentUser, state: FormState | None = None):
    county_id = await staff_county(user)
    language = page_language(request)
    lists = await choices(county_id)
    lists["units"] = _options("trace.unit", service.UNIT_CODES, language)
    lists["inspections"] = _options("trace.inspection", service.INSPECTIONS, language)
    lists["certifications"] = _options("trace.certification", service.CERTIFICATION_CODES, language)
    today = await county_today(county_id)
    batches = await service.list_batches(county_id, base_url(request))
    return render(
        request,
        "trace/batches.html",
        nav="trace",
        facts=await page_county(county_id),
        batches=batches,
        products=service.scans_by_product(batches),
        months=await service.county_months(county_id, today),
        year=today.year,
        year_scans=await service.scans_between(county_id, today.replace(month=1, day=1), today),
        points=await points.trace_points(county_id, today),
        lists=lists,
        fields=BATCH_FIELDS,
        form=state or FormState(),
        saved=request.query_params.get("saved"),
    )


class TracePagesController(Controller):
    """Trace batches and their labels."""

    path = "/county/trace"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/")
    async def batches(self, request: Request, user: LoggedIn) -> Template:
        return await trace_page(request, user)

    @post("/", status_code=200)
    async def create_batch(self, request: Request, user: LoggedIn) -> Response:
        county_id = await staff_county(user)
        values = form_values(await request.form(), BATCH_FIELDS)
        try:
            data = to_struct(values, TraceBatchCreate, BATCH_FIELDS)
            batch = await service.create_batch(county_id, user, data)
        except (DomainError, msgspec.ValidationError) as exc:
            state = error_state(exc, values, page_language(request))
            return await trace_page(request, user, state)
        return Redirect(f"/county/trace?saved={batch.code}", status_code=303)

    @get("/{batch_id:uuid}/labels")
    async def labels(self, request: Request, user: LoggedIn, batch_id: BatchId) -> Template:
        county_id = await staff_county(user)
        batch = await service.get_batch(county_id, batch_id)
        language = page_language(request)
        url = service.page_url(base_url(request), batch.code)
        return Template(
            "trace/labels.html",
            context={
                "lang": language,
                "dir": text_direction(language),
                "style": LABEL_STYLE,
                "batch": batch,
                "qr": service.qr_svg(url, scale=4, inline=True),
                "labels": range(LABELS_PER_SHEET),
            },
            headers={"content-security-policy": LABEL_POLICY},
        )


ROUTE_HANDLERS = [TracePagesController]
