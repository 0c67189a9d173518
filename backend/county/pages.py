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
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter
from litestar.response import File, Redirect, Template

from backend.accounts import service as accounts
from backend.accounts.guards import (
    current_user,
    requires_login,
    requires_staff,
    requires_station_scope,
)
from backend.accounts.middleware import CSRF_COOKIE
from backend.accounts.routes import _session_cookie as session_cookie
from backend.county import views
from backend.errors import (
    LANGUAGE_COOKIE,
    DomainError,
    domain_error_handler,
    http_error_handler,
    problem_document,
    request_language,
)
from backend.i18n import LANGUAGES, normalize_language, text_direction
from backend.params import StationId
from backend.security import client_address
from backend.settings import get_settings

STATIC_DIR = Path(__file__).parent / "static"
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English", "ug": "ئۇيغۇرچە"}
LOGIN_PATH = "/county/login"
# The main navigation's entries, in order; an entry appears once its pages exist.
NAV_AVAILABLE = ["dashboard", "stations", "coverage", "registry"]


Month = Annotated[str | None, QueryParameter(required=False, description="YYYY-MM")]
Township = Annotated[str | None, QueryParameter(required=False, description="A township's id")]
Sort = Annotated[str | None, QueryParameter(required=False, description="A column's name")]
Order = Annotated[str | None, QueryParameter(required=False, description="asc or desc")]
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
                "name": LANGUAGE_NAMES[language],
                "href": f"{request.url.path}?{params}",
                "current": language == current,
            }
        )
    return links


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    language = context.pop("lang", None) or page_language(request)
    user = request.scope.get("user")
    facts = context.get("facts")
    fmt = views.Formatter(language, facts.timezone if facts else None)
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
        document = problem_document("not_found" if status == 404 else "forbidden", status, language)
    return render(request, "county/error.html", status_code=status, problem=document, lang=language)


PAGE_ERRORS = {DomainError: _page_error, HTTPException: _page_error}


async def county_of(request: Request) -> uuid.UUID:
    """The staff member's county; an administrator without one sees the first county."""
    user = current_user(request)
    county_id = user.county_id or await views.first_county_id()
    if county_id is None:
        raise DomainError("not_found", status=404)
    return county_id


# Login and logout ------------------------------------------------------------------------------


class CountyLoginController(Controller):
    path = "/county"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS

    @get("/login", name="county_login")
    async def login_form(self, request: Request, next: NextPage = None) -> Template:
        return render(request, "county/login.html", next=_safe_next(next), phone="", error="")

    @post("/login", status_code=200)
    async def login(self, request: Request) -> Response:
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
        fmt = views.Formatter(page_language(request))
        page = await views.dashboard(county_id, fmt)
        return render(request, "county/dashboard.html", nav="dashboard", **page)

    @get("/stations", name="county_stations")
    async def stations(
        self,
        request: Request,
        township: Township = None,
        month: Month = None,
        sort: Sort = None,
        order: Order = None,
    ) -> Template:
        county_id = await county_of(request)
        page = await views.station_list(county_id, township, month, sort, order)
        return render(request, "county/stations.html", nav="stations", **page)

    @get("/stations/{station_id:uuid}", guards=[requires_station_scope])
    async def station(
        self, request: Request, station_id: StationId, month: Month = None
    ) -> Template:
        page = await views.station_page(station_id, month)
        return render(request, "county/station.html", nav="stations", **page)

    @get("/coverage", name="county_coverage")
    async def coverage(self, request: Request, month: Month = None) -> Template:
        county_id = await county_of(request)
        page = await views.coverage(county_id, month)
        return render(request, "county/coverage.html", nav="coverage", **page)


ROUTE_HANDLERS = [CountyLoginController, CountyStaticController, CountyPagesController]
