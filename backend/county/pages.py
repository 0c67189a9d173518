"""Server-rendered pages for county staff under /county/ (kept out of the OpenAPI schema).

HTTP only: each handler reads its query or form, calls one builder of `views.py` (or a service
of the registry, accounts or notify), and renders a template. Browsers (Accept: text/html) that
are not logged in are sent to the login page, and refusals come as pages; other clients get the
API's problem documents, so scripts and the authorization matrix see 401/403/404 as everywhere.
"""

from __future__ import annotations

import hmac
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter
from litestar.response import File, Redirect, Template

from backend import db
from backend.accounts import schemas as accounts_schemas
from backend.accounts import service as accounts
from backend.accounts.guards import (
    current_user,
    requires_login,
    requires_row_in_county,
    requires_staff,
    requires_station_scope,
)
from backend.accounts.middleware import CSRF_COOKIE
from backend.accounts.routes import _session_cookie as session_cookie
from backend.accounts.tables import User
from backend.accounts.throttle import LoginThrottle, login_throttle
from backend.counter import service as counter_service
from backend.county import records, review, views
from backend.errors import (
    LANGUAGE_COOKIE,
    STATUS_CODES,
    DomainError,
    domain_error_handler,
    http_error_handler,
    problem_document,
    request_language,
)
from backend.i18n import LANGUAGES, normalize_language, text_direction, translate
from backend.notify import service as notify
from backend.params import HouseholdId, StationId, TownshipId, UserId, VillageId
from backend.registry import schemas as registry_schemas
from backend.registry import service as registry
from backend.registry.tables import Household, Township, Village
from backend.security import client_address
from backend.settings import get_settings
from backend.web.format import Formatter

STATIC_DIR = Path(__file__).parent / "static"
LOGIN_PATH = "/county/login"
# The main navigation's entries, in order; an entry appears once its pages exist.
NAV_AVAILABLE = [
    "dashboard",
    "stations",
    "coverage",
    "notices",
    "subsidies",
    "cash",
    "reports",
    "registry",
]


Month = Annotated[str | None, QueryParameter(required=False, description="YYYY-MM")]
TownshipFilter = Annotated[str | None, QueryParameter(required=False, description="A township")]
Sort = Annotated[str | None, QueryParameter(required=False, description="A column's name")]
Order = Annotated[str | None, QueryParameter(required=False, description="asc or desc")]
StationCode = Annotated[str | None, QueryParameter(required=False, description="A station's code")]
NextPage = Annotated[str | None, QueryParameter(required=False, description="Where to go after")]


# Language, errors and the common page context ---------------------------------------------------


def page_language(request: Request) -> str:
    """`?lang=` (the switcher's links) wins, then the cz_lang cookie, the browser, the profile."""
    return normalize_language(request.query_params.get("lang")) or request_language(request)


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _language_cookie(request: Request) -> list[Cookie]:
    chosen = normalize_language(request.query_params.get("lang"))
    if not chosen:
        return []
    secure = get_settings().secure_cookies
    return [
        Cookie(
            key=LANGUAGE_COOKIE,
            value=chosen,
            max_age=365 * 86400,
            path="/",
            samesite="lax",
            secure=secure,
        )
    ]


def _language_links(request: Request, current: str) -> list[dict[str, Any]]:
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    links = []
    for language in LANGUAGES:
        params = urlencode({**query, "lang": language})
        links.append(
            {
                "lang": language,
                "name": views.LANGUAGE_NAMES[language],
                "href": f"{request.url.path}?{params}",
                "current": language == current,
            }
        )
    return links


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    language = context.pop("lang", None) or page_language(request)
    user = request.scope.get("user")
    facts = context.get("facts")
    fmt = Formatter(language, facts.timezone if facts else None)
    return Template(
        template,
        context={
            "lang": language,
            "dir": text_direction(language),
            "user": user,
            "fmt": fmt,
            "language_links": _language_links(request, language),
            "path": request.url.path,
            "nav_available": NAV_AVAILABLE,
            **context,
        },
        cookies=_language_cookie(request),
        status_code=status_code,
    )


def _safe_next(value: str | None) -> str:
    """Only our own pages: never an open redirect to another site."""
    if value and value.startswith("/county") and not value.startswith("//") and "\\" not in value:
        return value
    return "/county/"


def _page_error(request: Request, exc: Exception) -> Response:
    """Refusals as pages for browsers, as problem documents for everyone else."""
    status = exc.status if isinstance(exc, DomainError) else getattr(exc, "status_code", 500)
    if not wants_html(request):
        if isinstance(exc, DomainError):
            return domain_error_handler(request, exc)
        return http_error_handler(request, exc)  # type: ignore[arg-type]
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)
    language = page_language(request)
    if isinstance(exc, DomainError):
        document = exc.problem(language)
    else:
        code = STATUS_CODES.get(status, "bad_request" if status < 500 else "internal_error")
        document = problem_document(code, status, language)
    return render(request, "county/error.html", status_code=status, problem=document, lang=language)


PAGE_ERRORS = {DomainError: _page_error, HTTPException: _page_error}


async def county_of(request: Request) -> uuid.UUID:
    """The staff member's county; an administrator without one sees the first county."""
    user = current_user(request)
    county_id = user.county_id or await review.first_county_id()
    if county_id is None:
        raise DomainError("not_found", status=404)
    return county_id


# Login and logout ------------------------------------------------------------------------------


class CountyLoginController(Controller):
    path = "/county"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS

    @get("/login", name="county_login")
    async def login_form(self, request: Request, next: NextPage = None) -> Response:
        user = request.scope.get("user")
        if user is not None and getattr(user, "is_staff", False):
            return Redirect(_safe_next(next), status_code=303)  # already signed in
        return render(request, "county/login.html", next=_safe_next(next), phone="", error="")

    @post(
        "/login",
        status_code=200,
        dependencies={"throttle": Provide(login_throttle, sync_to_thread=False)},
    )
    async def login(self, request: Request, throttle: NamedDependency[LoginThrottle]) -> Response:
        form = await request.form()
        phone = str(form.get("phone", "")).strip()
        target = _safe_next(form.get("next"))
        language = page_language(request)

        def again(code: str, **params: Any) -> Template:
            error = problem_document(code, 400, language, **params)["detail"]
            return render(request, "county/login.html", next=target, phone=phone, error=error)

        # Login CSRF: the form must carry the token of the cookie set when it was shown.
        token, cookie = str(form.get("_csrf_token", "")), request.cookies.get(CSRF_COOKIE, "")
        if not token or not cookie or not hmac.compare_digest(token, cookie):
            return again("csrf_failed")
        try:
            token_value, user = await accounts.login(
                get_settings(),
                throttle,
                phone,
                str(form.get("password", "")),
                address=client_address(request.scope),
                user_agent=request.headers.get("user-agent", ""),
            )
        except DomainError as exc:
            return again(exc.code, **exc.params)
        if not user.is_staff:
            await accounts.logout(user.session_id)  # a keeper's place is the phone app
            return again("staff_only")
        lifetime = accounts.session_lifetime(get_settings(), user.role)
        return Redirect(
            target,
            status_code=303,
            cookies=[session_cookie(token_value, int(lifetime.total_seconds()))],
        )

    @post("/logout", guards=[requires_login], status_code=303)
    async def logout(self, request: Request) -> Redirect:
        await accounts.logout(current_user(request).session_id)
        return Redirect(LOGIN_PATH, status_code=303, cookies=[session_cookie("", 0)])


# Static files of the pages (two small files; explicit routes keep the route table simple) -------


class CountyStaticController(Controller):
    path = "/county/static"
    include_in_schema = False

    @get("/county.css")
    async def stylesheet(self) -> File:
        return File(
            STATIC_DIR / "county.css", media_type="text/css", content_disposition_type="inline"
        )

    @get("/county.js")
    async def script(self) -> File:
        return File(
            STATIC_DIR / "county.js",
            media_type="text/javascript",
            content_disposition_type="inline",
        )


# The staff pages -------------------------------------------------------------------------------


class CountyPagesController(Controller):
    path = "/county"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/", name="county_dashboard")
    async def dashboard(self, request: Request) -> Template:
        county_id = await county_of(request)
        fmt = Formatter(page_language(request))
        page = await review.dashboard(county_id, fmt)
        return render(request, "county/dashboard.html", nav="dashboard", **page)

    @get("/stations", name="county_stations")
    async def stations(
        self,
        request: Request,
        township: TownshipFilter = None,
        month: Month = None,
        sort: Sort = None,
        order: Order = None,
    ) -> Template:
        county_id = await county_of(request)
        page = await review.station_list(county_id, township, month, sort, order)
        return render(request, "county/stations.html", nav="stations", **page)

    @get("/stations/{station_id:uuid}", guards=[requires_station_scope])
    async def station(
        self, request: Request, station_id: StationId, month: Month = None
    ) -> Template:
        page = await review.station_page(station_id, month)
        language = page_language(request)
        page["reminders"] = await notify.deliveries(
            page["facts"].id, station_id=station_id, limit=20, language=language
        )
        return render(request, "county/station.html", nav="stations", **page)

    @get("/checkins")
    async def checkins(self, request: Request, township: TownshipFilter = None) -> Template:
        county_id = await county_of(request)
        page = await review.checkin_grid(county_id, township)
        return render(request, "county/checkins.html", nav="dashboard", **page)

    @get("/coverage", name="county_coverage")
    async def coverage(self, request: Request, month: Month = None) -> Template:
        county_id = await county_of(request)
        page = await review.coverage(county_id, month)
        return render(request, "county/coverage.html", nav="coverage", **page)


# Notices, subsidies and the province report log -------------------------------------------------

NOTICE_FIELDS = [
    views.FormField("scope", "select", "scopes", required=True),
    views.FormField("township_id", "select", "townships"),
    views.FormField("station_id", "select", "stations"),
    views.FormField("title", required=True),
    views.FormField("body", "textarea", required=True),
]


async def _villager_sms(county_id) -> dict:
    """This month's SMS to villagers per station (pickup notices, reminders): what it costs."""
    from backend.county.service import county_today
    from backend.notify import villagers

    month = (await county_today(county_id)).strftime("%Y-%m")
    return {"month": month, "stations": await villagers.monthly_counts(county_id, month)}


async def notices_page(request: Request, state: views.FormState | None = None) -> Template:
    county_id = await county_of(request)
    language = page_language(request)
    lists = await views.choices(county_id)
    lists["scopes"] = [
        {"value": scope, "text": translate(f"county_page.scope.{scope}", language)}
        for scope in notify.SCOPES
    ]
    return render(
        request,
        "county/notices.html",
        nav="notices",
        facts=await review.facts_of(county_id),
        notices=await notify.list_notices(county_id),
        villager_sms=await _villager_sms(county_id),
        lists=lists,
        fields=NOTICE_FIELDS,
        form=state or views.FormState(values={"scope": "county"}),
        saved=request.query_params.get("saved") == "1",
    )


class CountyRecordsController(Controller):
    """Notices to stations, the monthly subsidy claims, the upward report log."""

    path = "/county"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/notices")
    async def notices(self, request: Request) -> Template:
        return await notices_page(request)

    @post("/notices", status_code=200)
    async def create_notice(self, request: Request) -> Response:
        county_id = await county_of(request)
        values = views.form_values(await request.form(), NOTICE_FIELDS)
        scope = values.get("scope", "")
        target = values.get({"township": "township_id", "station": "station_id"}.get(scope, ""))
        try:
            await notify.create_notice(
                county_id,
                current_user(request).id,
                scope=scope,
                target_id=db.as_uuid(target) if target else None,
                title=values.get("title", ""),
                body=values.get("body", ""),
            )
        except (DomainError, ValueError) as exc:
            if not isinstance(exc, DomainError):
                exc = DomainError("notice_target_invalid", field="target_id")
            state = views.error_state(exc, values, page_language(request))
            return await notices_page(request, state)
        return Redirect("/county/notices?saved=1", status_code=303)

    @get("/subsidies")
    async def subsidies(
        self, request: Request, month: Month = None, station: StationCode = None
    ) -> Template:
        county_id = await county_of(request)
        page = await records.subsidy_claims(county_id, month, station)
        return render(request, "county/subsidies.html", nav="subsidies", **page)

    @get("/cash")
    async def cash(self, request: Request, month: Month = None) -> Template:
        county_id = await county_of(request)
        page = await records.cash_counts(county_id, month)
        return render(request, "county/cash.html", nav="cash", **page)

    @get("/reports")
    async def reports(self, request: Request) -> Template:
        county_id = await county_of(request)
        page = await records.province_reports(county_id)
        return render(request, "county/reports.html", nav="reports", **page)


# Registry screens ------------------------------------------------------------------------------


async def registry_list(
    request: Request,
    screen: views.RegistryScreen,
    state: views.FormState | None = None,
) -> Template:
    county_id = await county_of(request)
    language = page_language(request)
    fmt = Formatter(language)
    lists = await views.choices(county_id)
    rows = await screen.rows(county_id, fmt, lists)
    state = state or views.FormState(values=dict(screen.create_defaults))
    return render(
        request,
        "county/registry.html",
        facts=await review.facts_of(county_id),
        nav="registry",
        screen=screen,
        screens=list(views.REGISTRY_SCREENS),
        rows=rows,
        lists=lists,
        form=state,
        saved=request.query_params.get("saved") == "1",
    )


async def registry_create(request: Request, screen: views.RegistryScreen) -> Response:
    county_id = await county_of(request)
    values = views.form_values(await request.form(), screen.create_fields)
    try:
        data = views.to_struct(values, screen.create_schema)
        await screen.create(current_user(request), county_id, data)
    except (DomainError, views.msgspec.ValidationError) as exc:
        state = views.error_state(exc, values, page_language(request))
        return await registry_list(request, screen, state)
    return Redirect(f"/county/registry/{screen.name}?saved=1", status_code=303)


async def registry_edit(
    request: Request,
    screen: views.RegistryScreen,
    row_id: uuid.UUID,
    state: views.FormState | None = None,
) -> Template:
    county_id = await county_of(request)
    lists = await views.choices(county_id)
    current = await screen.current(row_id)
    if state is None:
        state = views.FormState(values=current)
    return render(
        request,
        "county/registry_edit.html",
        facts=await review.facts_of(county_id),
        nav="registry",
        screen=screen,
        screens=list(views.REGISTRY_SCREENS),
        row_id=row_id,
        current=current,
        lists=lists,
        form=state,
        saved=request.query_params.get("saved") == "1",
    )


async def registry_update(
    request: Request, screen: views.RegistryScreen, row_id: uuid.UUID
) -> Response:
    values = views.form_values(await request.form(), screen.edit_fields)
    return await _apply(request, screen, row_id, values, screen.update_schema, screen.update)


async def _apply(request, screen, row_id, values, schema, action) -> Response:
    """Run a change; on refusal show the edit page again with the message and the input."""
    try:
        await action(current_user(request), row_id, views.to_struct(values, schema))
    except (DomainError, views.msgspec.ValidationError) as exc:
        state = views.error_state(exc, values, page_language(request))
        return await registry_edit(request, screen, row_id, state)
    return Redirect(f"/county/registry/{screen.name}/{row_id}?saved=1", status_code=303)


SCREENS = views.REGISTRY_SCREENS
PASSWORD_FIELDS = [views.FormField("password", "password", required=True)]
CLOSE_FIELDS = [views.FormField("reason", required=True)]


async def _close(actor, station_id, data):
    return await registry.close_station(actor, station_id, data.reason)


async def _reopen(actor, station_id, data):
    return await registry.reopen_station(actor, station_id)


async def settings_page(
    request: Request,
    state: views.FormState | None = None,
    prices: views.FormState | None = None,
) -> Template:
    county_id = await county_of(request)
    fmt = Formatter(page_language(request))
    values = await views.county_settings_values(county_id)
    if prices is None:
        stored = await counter_service.county_prices(county_id)
        prices = views.FormState(values=views.price_form_values(stored))
    return render(
        request,
        "county/county_settings.html",
        facts=await review.facts_of(county_id),
        nav="registry",
        screen=None,
        screens=list(views.REGISTRY_SCREENS),
        fields=views.SETTINGS_FIELDS,
        lists={"weekdays": views.weekday_choices(fmt)},
        form=state or views.FormState(values=values),
        saved=request.query_params.get("saved") == "1",
        prices=prices,
        price_placeholders=views.price_placeholders(prices.values),
        price_carriers=counter_service.CARRIERS,
        price_columns=range(views.PRICE_BAND_COLUMNS),
        prices_saved=request.query_params.get("saved") == "prices",
    )


class RegistryPagesController(Controller):
    """Townships, villages, stations, households and keepers: list, create, edit."""

    path = "/county/registry"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/county")
    async def county_settings(self, request: Request) -> Template:
        return await settings_page(request)

    @post("/county", status_code=200)
    async def update_county_settings(self, request: Request) -> Response:
        county_id = await county_of(request)
        values = views.form_values(await request.form(), views.SETTINGS_FIELDS)
        data = views.struct_input(values, views.SETTINGS_FIELDS)
        try:
            schema = registry_schemas.CountySettings
            await registry.update_county(
                current_user(request), county_id, views.to_struct(data, schema)
            )
        except (DomainError, views.msgspec.ValidationError) as exc:
            state = views.error_state(exc, values, page_language(request))
            return await settings_page(request, state)
        return Redirect("/county/registry/county?saved=1", status_code=303)

    @post("/county/prices", status_code=200)
    async def update_county_prices(self, request: Request) -> Response:
        """The county's 代发 price table: fees in 元, checked by check_prices; a refusal shows
        the grid again as typed, with the message, and changes nothing."""
        county_id = await county_of(request)
        values = views.price_form_values_typed(await request.form())
        try:
            prices = views.price_form_input(values)
            await counter_service.set_county_prices(county_id, prices)
        except DomainError as exc:
            state = views.error_state(exc, values, page_language(request))
            return await settings_page(request, prices=state)
        return Redirect("/county/registry/county?saved=prices#prices", status_code=303)

    @get("/townships")
    async def townships(self, request: Request) -> Template:
        return await registry_list(request, SCREENS["townships"])

    @post("/townships", status_code=200)
    async def create_township(self, request: Request) -> Response:
        return await registry_create(request, SCREENS["townships"])

    @get("/townships/{township_id:uuid}", guards=[requires_row_in_county(Township, "township_id")])
    async def township(self, request: Request, township_id: TownshipId) -> Template:
        return await registry_edit(request, SCREENS["townships"], township_id)

    @post(
        "/townships/{township_id:uuid}",
        guards=[requires_row_in_county(Township, "township_id")],
        status_code=200,
    )
    async def update_township(self, request: Request, township_id: TownshipId) -> Response:
        return await registry_update(request, SCREENS["townships"], township_id)

    @get("/villages")
    async def villages(self, request: Request) -> Template:
        return await registry_list(request, SCREENS["villages"])

    @post("/villages", status_code=200)
    async def create_village(self, request: Request) -> Response:
        return await registry_create(request, SCREENS["villages"])

    @get("/villages/{village_id:uuid}", guards=[requires_row_in_county(Village, "village_id")])
    async def village(self, request: Request, village_id: VillageId) -> Template:
        return await registry_edit(request, SCREENS["villages"], village_id)

    @post(
        "/villages/{village_id:uuid}",
        guards=[requires_row_in_county(Village, "village_id")],
        status_code=200,
    )
    async def update_village(self, request: Request, village_id: VillageId) -> Response:
        return await registry_update(request, SCREENS["villages"], village_id)

    @get("/stations")
    async def stations(self, request: Request) -> Template:
        return await registry_list(request, SCREENS["stations"])

    @post("/stations", status_code=200)
    async def create_station(self, request: Request) -> Response:
        return await registry_create(request, SCREENS["stations"])

    @get("/stations/{station_id:uuid}", guards=[requires_station_scope])
    async def station(self, request: Request, station_id: StationId) -> Template:
        return await registry_edit(request, SCREENS["stations"], station_id)

    @post("/stations/{station_id:uuid}", guards=[requires_station_scope], status_code=200)
    async def update_station(self, request: Request, station_id: StationId) -> Response:
        return await registry_update(request, SCREENS["stations"], station_id)

    @post("/stations/{station_id:uuid}/close", guards=[requires_station_scope], status_code=200)
    async def close_station(self, request: Request, station_id: StationId) -> Response:
        values = views.form_values(await request.form(), CLOSE_FIELDS)
        schema = registry_schemas.StationClose
        return await _apply(request, SCREENS["stations"], station_id, values, schema, _close)

    @post("/stations/{station_id:uuid}/reopen", guards=[requires_station_scope], status_code=200)
    async def reopen_station(self, request: Request, station_id: StationId) -> Response:
        schema = views.Nothing
        return await _apply(request, SCREENS["stations"], station_id, {}, schema, _reopen)

    @get("/households")
    async def households(self, request: Request) -> Template:
        return await registry_list(request, SCREENS["households"])

    @post("/households", status_code=200)
    async def create_household(self, request: Request) -> Response:
        return await registry_create(request, SCREENS["households"])

    @get(
        "/households/{household_id:uuid}",
        guards=[requires_row_in_county(Household, "household_id")],
    )
    async def household(self, request: Request, household_id: HouseholdId) -> Template:
        return await registry_edit(request, SCREENS["households"], household_id)

    @post(
        "/households/{household_id:uuid}",
        guards=[requires_row_in_county(Household, "household_id")],
        status_code=200,
    )
    async def update_household(self, request: Request, household_id: HouseholdId) -> Response:
        return await registry_update(request, SCREENS["households"], household_id)

    @get("/keepers")
    async def keepers(self, request: Request) -> Template:
        return await registry_list(request, SCREENS["keepers"])

    @post("/keepers", status_code=200)
    async def create_keeper(self, request: Request) -> Response:
        return await registry_create(request, SCREENS["keepers"])

    @get("/keepers/{user_id:uuid}", guards=[requires_row_in_county(User, "user_id")])
    async def keeper(self, request: Request, user_id: UserId) -> Template:
        return await registry_edit(request, SCREENS["keepers"], user_id)

    @post(
        "/keepers/{user_id:uuid}",
        guards=[requires_row_in_county(User, "user_id")],
        status_code=200,
    )
    async def update_keeper(self, request: Request, user_id: UserId) -> Response:
        return await registry_update(request, SCREENS["keepers"], user_id)

    @post(
        "/keepers/{user_id:uuid}/phone",
        guards=[requires_row_in_county(User, "user_id")],
        status_code=200,
    )
    async def reveal_phone(self, request: Request, user_id: UserId) -> Template:
        """One tap shows a keeper's full number to call; the reveal is audited."""
        keeper = await accounts.reveal_keeper_phone(current_user(request), user_id)
        back = f"/county/stations/{keeper['station']}" if keeper["station"] else "/county/"
        return render(request, "county/phone.html", nav="stations", keeper=keeper, back=back)

    @post(
        "/keepers/{user_id:uuid}/password",
        guards=[requires_row_in_county(User, "user_id")],
        status_code=200,
    )
    async def reset_password(self, request: Request, user_id: UserId) -> Response:
        """A new password set by staff: the keeper's sessions end (accounts.update_user)."""
        values = views.form_values(await request.form(), PASSWORD_FIELDS)
        schema = accounts_schemas.UserUpdate
        return await _apply(request, SCREENS["keepers"], user_id, values, schema, _update_keeper)


async def _update_keeper(actor, user_id, data):
    return await accounts.update_user(actor, user_id, data)


ROUTE_HANDLERS = [
    CountyLoginController,
    CountyStaticController,
    CountyPagesController,
    CountyRecordsController,
    RegistryPagesController,
]
