"""The PWA under /app/ (its service worker's scope stays away from /api/ and /county/).

- `/app/` — the shell page, revalidated on every load (ETag), the version written into it, in the
  language the browser asks for (the `cz_lang` cookie, else Accept-Language; it carries that
  language's catalog);
- `/app/sw.js` — the service worker, revalidated, scope `/app/` (its own folder: no
  `Service-Worker-Allowed` needed);
- `/app/v/<version>/<file>` — every other file under a versioned URL, cached for a year; an older
  version's URL (a page still open during a deploy) gets today's file, revalidated;
- `/app/<file>` — the manifest and icons at stable URLs, revalidated.

Responses are gzipped by the app's CompressionConfig.
"""

from typing import Annotated

from litestar import Request, Response, get
from litestar.params import PathParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from backend.errors import DomainError, request_language
from backend.shell.assets import SHELL, TEMPLATED, Asset

FilePath = Annotated[
    str, PathParameter(title="A file of the shell", description="e.g. v/<version>/js/main.js")
]
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def _file_response(
    request: Request, asset: Asset, cache_control: str, vary: str | None = None
) -> Response:
    headers = {"cache-control": cache_control, "etag": asset.etag}
    if vary:
        headers["vary"] = vary
    if asset.csp:
        headers["content-security-policy"] = asset.csp
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _not_found() -> DomainError:
    return DomainError("not_found", status=404)


@get("/app", include_in_schema=False, name="pwa-shell")
async def shell_page(request: Request) -> Response | Redirect:
    if request.scope.get("raw_path", b"").split(b"?")[0] == b"/app":
        # Relative asset URLs resolve against /app/, not /.
        return Redirect("/app/")
    return _page_response(request)


def _page_response(request: Request) -> Response:
    """The page in the keeper's language: its catalog inside, nothing to fetch before login."""
    page = SHELL.current().page(request_language(request))
    return _file_response(request, page, REVALIDATE, vary="accept-language, cookie")


@get("/app/{file_path:path}", include_in_schema=False, name="pwa")
async def shell_file(request: Request, file_path: FilePath) -> Response:
    snapshot = SHELL.current()
    name = file_path.lstrip("/")
    if name in ("", "index.html"):
        return _page_response(request)
    parts = name.split("/")
    if parts[0] == "v" and len(parts) >= 3:
        version, inner = parts[1], "/".join(parts[2:])
        asset = snapshot.assets.get(inner)
        if asset is None or inner in TEMPLATED:
            raise _not_found()
        cache_control = IMMUTABLE if version == snapshot.version else REVALIDATE
        return _file_response(request, asset, cache_control)
    asset = snapshot.assets.get(name)
    if asset is None:
        raise _not_found()
    return _file_response(request, asset, REVALIDATE)


ROUTE_HANDLERS = [shell_page, shell_file]
