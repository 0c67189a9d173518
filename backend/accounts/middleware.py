"""Who is calling (Bearer token or session cookie), and CSRF for cookie-authenticated calls."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

from backend.accounts import service
from backend.settings import get_settings

SESSION_COOKIE = "cz_session"
CSRF_COOKIE = "cz_csrf"
CSRF_HEADER = "x-csrf-token"


def bearer_token(headers) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class SessionAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Never refuses by itself: routes that need a user say so with guards (401/403 there)."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = bearer_token(connection.headers) or connection.cookies.get(SESSION_COOKIE)
        if not token:
            return AuthenticationResult(user=None, auth=None)
        user = await service.authenticate(get_settings(), token)
        return AuthenticationResult(user=user, auth=token if user else None)


class CookieCSRFMiddleware(CSRFMiddleware):
    """Litestar's double-submit CSRF check, for requests that a browser authenticates by cookie.

    A Bearer token cannot be attached by a cross-site form, so token-authenticated API clients
    (scanner desktops, the province) are exempt; anonymous requests carry no authority to abuse.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in self.config.safe_methods:
            headers = dict(scope["headers"])
            has_bearer = headers.get(b"authorization", b"").lower().startswith(b"bearer ")
            cookie_header = headers.get(b"cookie", b"").decode("latin-1")
            has_session = f"{SESSION_COOKIE}=" in cookie_header
            if has_bearer or not has_session:
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
