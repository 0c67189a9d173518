"""The notices to stations (staff pages under /county/notices): write one to the whole county, a
township or a station, and see what was sent, and this month's SMS to villagers per station."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect, Template

from backend import db
from backend.accounts.guards import LoggedIn, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError
from backend.i18n import translate
from backend.notify import notices, villagers
from backend.registry.pages import choices
from backend.registry.staff import PageCounty, page_county, staff_county
from backend.settings import AppSettings
from backend.web.forms import FormField, FormState, error_state, form_values
from backend.web.layout import PAGE_ERRORS, page_language, render

NOTICE_FIELDS = [
    FormField("scope", "select", "scopes", required=True),
    FormField("township_id", "select", "townships"),
    FormField("station_id", "select", "stations"),
    FormField("title", required=True),
    FormField("body", "textarea", required=True),
]


async def _villager_sms(county: PageCounty) -> dict:
    """This month's SMS to villagers per station (pickup notices, reminders): what it costs."""
    month = county.today.strftime("%Y-%m")
    return {"month": month, "stations": await villagers.monthly_counts(county.id, month)}


async def notices_page(
    request: Request, user: CurrentUser, state: FormState | None = None
) -> Template:
    county_id = await staff_county(user)
    county = await page_county(county_id)
    language = page_language(request)
    lists = await choices(county_id)
    lists["scopes"] = [
        {"value": scope, "text": translate(f"county_page.scope.{scope}", language)}
        for scope in notices.SCOPES
    ]
    return render(
        request,
        "county/notices.html",
        nav="notices",
        facts=county,
        notices=await notices.list_notices(county_id),
        villager_sms=await _villager_sms(county),
        lists=lists,
        fields=NOTICE_FIELDS,
        form=state or FormState(values={"scope": "county"}),
        saved=request.query_params.get("saved") == "1",
    )


class NoticePagesController(Controller):
    """Notices to stations."""

    path = "/county"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/notices")
    async def notices(self, request: Request, user: LoggedIn) -> Template:
        return await notices_page(request, user)

    @post("/notices", status_code=200)
    async def create_notice(
        self, request: Request, user: LoggedIn, settings: AppSettings
    ) -> Response:
        county_id = await staff_county(user)
        values = form_values(await request.form(), NOTICE_FIELDS)
        scope = values.get("scope", "")
        target_field = {"township": "township_id", "station": "station_id"}.get(scope, "")
        target = values.get(target_field)
        try:
            notice = await notices.create_notice(
                county_id,
                user,
                settings,
                scope=scope,
                target_id=db.as_uuid(target) if target else None,
                title=values.get("title", ""),
                body=values.get("body", ""),
            )
        except (DomainError, ValueError) as exc:
            if not isinstance(exc, DomainError):
                exc = DomainError("notice_target_invalid", field="target_id")
            if exc.field == "target_id":
                # Shown under the form's own choice for the scope: the API's `target_id` is on
                # no field here, and a township or station left unchosen was refused unseen.
                exc = DomainError(exc.code, field=target_field or "scope")
            state = error_state(exc, values, page_language(request))
            return await notices_page(request, user, state)
        deliver = BackgroundTask(notices.deliver, settings, notice.items)
        return Redirect("/county/notices?saved=1", status_code=303, background=deliver)


ROUTE_HANDLERS = [NoticePagesController]
