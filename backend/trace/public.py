"""The public page a buyer reaches by scanning a label (`/t/{code}`) and its QR (`/t/{code}.svg`).

No login, no script: one small server-rendered page with its CSS inline (allowed by the CSP's
hash of exactly that CSS), in Chinese unless `?lang=` or the browser asks for Uyghur or English,
cacheable for five minutes by the phone (not by shared caches: a page a proxy answers is a visit
nobody counts). A visit counts one scan, once: the counted GET leaves a marker cookie for that
batch (`tv_<code>=1`, nothing about the visitor, 30 minutes, SameSite=Lax, HttpOnly), and a GET
that brings it back (a reload, the language switch) is the same visit. HEAD requests, the QR and
obvious bots (see `service.is_bot`) never count and get no marker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from litestar import Request, Response, route
from litestar.datastructures import Cookie
from litestar.enums import HttpMethod
from litestar.params import PathParameter
from litestar.response import Template

from backend.errors import problem_document
from backend.i18n import LANGUAGES, accepted_language, normalize_language, text_direction
from backend.trace import service
from backend.web.layout import LANGUAGE_NAMES, wants_html
from backend.web.public import PUBLIC_STYLE, page_policy

TraceCode = Annotated[
    str, PathParameter(title="Trace code", description="A label's code, or the code + .svg")
]
TEMPLATES = Path(__file__).parent / "templates" / "trace"
LABEL_STYLE = (TEMPLATES / "labels.css").read_text(encoding="utf-8")


PUBLIC_POLICY = page_policy(PUBLIC_STYLE)
CACHE = "public, max-age=300"  # the QR image
PAGE_CACHE = "private, max-age=300"  # the page: the phone may keep it, a shared cache may not
VISIT_SECONDS = 30 * 60  # a reload within this is the same visit
VISIT_COOKIE = "tv_"  # + the batch's code; the value is always "1"


def visit_cookie(code: str) -> str:
    return f"{VISIT_COOKIE}{code}"


def public_language(request: Request) -> str:
    """`?lang=`, else the browser's languages, else Chinese; never a cookie (the page is cached
    by shared caches, keyed by URL and Accept-Language)."""
    return (
        normalize_language(request.query_params.get("lang"))
        or accepted_language(request.headers.get("accept-language"))
        or "zh-CN"
    )


def _language_links(request: Request, current: str) -> list[dict]:
    return [
        {
            "lang": language,
            "name": LANGUAGE_NAMES[language],
            "href": f"{request.url.path}?lang={language}",
            "current": language == current,
        }
        for language in LANGUAGES
    ]


def _not_found(request: Request, language: str) -> Response:
    if not wants_html(request):
        document = problem_document("not_found", 404, language, instance=request.url.path)
        return Response(
            document,
            status_code=404,
            media_type="application/problem+json",
            headers={"cache-control": "no-store"},
        )
    return Template(
        "trace/missing.html",
        context={
            "lang": language,
            "dir": text_direction(language),
            "style": PUBLIC_STYLE,
            "language_links": _language_links(request, language),
        },
        status_code=404,
        headers={"cache-control": "no-store", "content-security-policy": PUBLIC_POLICY},
    )


@route(
    "/t/{name:str}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    include_in_schema=False,
    name="trace_public",
)
async def public_page(request: Request, name: TraceCode) -> Response:
    language = public_language(request)
    base = str(request.base_url).rstrip("/")
    if name.endswith(".svg"):
        batch = await service.public_batch(name.removesuffix(".svg"), count_scan=False)
        if batch is None:
            return _not_found(request, language)
        svg = service.qr_svg(service.page_url(base, batch.code), scale=8)
        return Response(svg, media_type="image/svg+xml", headers={"cache-control": CACHE})
    head = request.method == HttpMethod.HEAD
    code = service.normalize_code(name)
    seen = code is not None and visit_cookie(code) in request.cookies
    counted = not head and not seen and not service.is_bot(request.headers.get("user-agent"))
    batch = await service.public_batch(name, count_scan=counted)
    if batch is None:
        return _not_found(request, language)
    headers = {
        "cache-control": PAGE_CACHE,
        "vary": "Accept-Language",
        "content-security-policy": PUBLIC_POLICY,
    }
    if head:
        return Response(b"", media_type="text/html; charset=utf-8", headers=headers)
    url = service.page_url(base, batch.code)
    cookies = []
    if counted:  # this visit is counted: its marker, so that a reload is not counted again
        settings = request.app.state.settings
        cookies.append(
            Cookie(
                key=visit_cookie(batch.code),
                value="1",
                max_age=VISIT_SECONDS,
                path="/t",
                samesite="lax",
                httponly=True,
                secure=settings.secure_cookies,
            )
        )
    return Template(
        "trace/public.html",
        context={
            "lang": language,
            "dir": text_direction(language),
            "style": PUBLIC_STYLE,
            "batch": batch,
            "quantity": service.quantity_text(batch.quantity),
            "qr": service.qr_svg(url, scale=4, inline=True),
            "url": url,
            "language_links": _language_links(request, language),
        },
        headers=headers,
        cookies=cookies,
    )


ROUTE_HANDLERS = [public_page]
