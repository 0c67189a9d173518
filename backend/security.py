"""Security headers on every response (Litestar has no middleware for them), and what a request
says of where it comes from (client address, cross-site)."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.settings import scope_settings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _behind_tls(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    settings = scope_settings(scope)
    if not settings.trusted_proxies:
        return False
    client = scope.get("client") or ("", 0)
    if client[0] not in settings.trusted_proxies:
        return False
    for name, value in scope["headers"]:
        if name == b"x-forwarded-proto":
            return value.decode("latin-1").split(",")[0].strip() == "https"
    return False


def _private_path(path: str) -> bool:
    """API answers and county pages hold personal data: never kept by a browser or proxy cache.
    Litestar hands `/county/` over as `/county`, so both spellings count."""
    return any(path == root or path.startswith(f"{root}/") for root in ("/api", "/county"))


_CSP = b"content-security-policy"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(self), camera=(self), microphone=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """Written on the raw header list (every answer passes here, the phones' pushes too): a
    route's own Content-Security-Policy stays, the other headers replace any of the same name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = list(_ALWAYS)
        if _behind_tls(scope):
            added.append(_HSTS)
        if _private_path(scope["path"]):
            added.append(_NO_STORE)
        replaced = {name for name, _ in added}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() not in replaced
                ]
                if not any(name.lower() == _CSP for name, _ in headers):
                    headers.append((_CSP, CONTENT_SECURITY_POLICY.encode()))
                headers.extend(added)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def client_address(scope: Scope) -> str:
    """The caller's address; X-Forwarded-For is believed only when it comes from our own proxy."""
    client = scope.get("client") or ("unknown", 0)
    address = client[0]
    settings = scope_settings(scope)
    if address in settings.trusted_proxies:
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                hops = [hop.strip() for hop in value.decode("latin-1").split(",") if hop.strip()]
                untrusted = [hop for hop in hops if hop not in settings.trusted_proxies]
                if untrusted:
                    return untrusted[-1]
    return address


def request_header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def is_cross_site(scope: Scope) -> bool:
    """A browser's own word that the request comes from another site (Fetch metadata), or an
    Origin that is not this server's host."""
    fetch_site = (request_header(scope, b"sec-fetch-site") or "").strip().lower()
    if fetch_site == "cross-site":
        return True
    if fetch_site in ("same-origin", "none"):
        return False  # the browser itself says so, whatever a proxy did to the Host header
    origin = request_header(scope, b"origin")
    if origin is None:
        return False  # not a browser's cross-origin request (curl, scanner desktops, tests)
    host = (request_header(scope, b"host") or "").strip().lower()
    forwarded = (request_header(scope, b"x-forwarded-host") or "").split(",")[0].strip().lower()
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return True  # "null" (sandboxed frames, file:, data:)
    own = {host, forwarded} - {""}
    return parts.netloc.lower() not in own
