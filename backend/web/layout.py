"""The staff pages' frame: the page's language (and its switcher), the common template context,
and refusals as pages for browsers (a login redirect for 401) but problem documents for scripts,
so the authorization matrix sees 401/403/404 as everywhere in the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from backend.errors import (
    LANGUAGE_COOKIE,
    DomainError,
    domain_error_handler,
    http_error_handler,
    http_problem_code,
    problem_document,
    request_language,
)
from backend.i18n import LANGUAGES, normalize_language, text_direction
from backend.web.format import Formatter

LOGIN_PATH = "/county/login"
# The county hub worker's page (县级物流配送中心: hand parcels to the village routes).
HUB_PATH = "/county/hub"
# A township information officer's page (乡镇电商信息员: the township's stations and figures).
TOWNSHIP_PATH = "/county/township"
# A province (or prefecture) officer's page: the counties it reads, side by side.
PROVINCE_PATH = "/county/province"
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English", "ug": "ئۇيغۇرچە"}
# The main navigation's entries, in order; an entry appears once its pages exist.
NAV_AVAILABLE = [
    "dashboard",
    "stations",
    "coverage",
    "trends",
    "township",
    "scorecard",
    "notices",
    "training",
    "subsidies",
    "cash",
    "months",
    "reports",
    "hub",
    "delivery",
    "trace",
    "products",
    "registry",
]


def page_language(request: Request) -> str:
    """`?lang=` (the switcher's links) wins, then the cz_lang cookie, the browser, the profile."""
    return normalize_language(request.query_params.get("lang")) or request_language(request)


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _language_cookie(request: Request) -> list[Cookie]:
    chosen = normalize_language(request.query_params.get("lang"))
    if not chosen:
        return []
    secure = request.app.state.settings.secure_cookies
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


def safe_next(value: str | None) -> str:
    """Only our own pages: never an open redirect to another site."""
    if value and value.startswith("/county") and not value.startswith("//") and "\\" not in value:
        return value
    return "/county/"


def _page_error(request: Request, exc: DomainError | HTTPException) -> Response:
    """Refusals as pages for browsers, as problem documents for everyone else."""
    status = exc.status if isinstance(exc, DomainError) else exc.status_code
    if not wants_html(request):
        if isinstance(exc, DomainError):
            return domain_error_handler(request, exc)
        return http_error_handler(request, exc)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)
    language = page_language(request)
    if isinstance(exc, DomainError):
        document = exc.problem(language)
    else:
        document = problem_document(http_problem_code(exc), status, language)
    return render(request, "county/error.html", status_code=status, problem=document, lang=language)


PAGE_ERRORS: ExceptionHandlersMap = {DomainError: _page_error, HTTPException: _page_error}


def app_http_error(request: Request, exc: HTTPException) -> Response:
    """The app's own handler of HTTP errors. An address under /county that no page answers (a
    mistyped link) reaches no page's handlers: a browser gets the county's error page in its
    language, not a problem document in JSON; elsewhere, and for other clients, the document."""
    if f"{request.url.path}/".startswith("/county/"):
        return _page_error(request, exc)
    return http_error_handler(request, exc)
