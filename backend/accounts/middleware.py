"""Who is calling (Bearer token or session cookie), and CSRF for cookie-authenticated calls."""

from __future__ import annotations

import hashlib
import hmac
import re

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import (
    CSRF_SECRET_LENGTH,
    CSRFMiddleware,
    generate_csrf_hash,
    generate_csrf_token,
)
from litestar.types import Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from backend.accounts import service

SESSION_COOKIE = "cz_session"
CSRF_COOKIE = "cz_csrf"
CSRF_HEADER = "x-csrf-token"


# RFC 6750's b64token; our tokens are URL-safe base64. Anything else ("Bearer \xa0", "Basic …")
# is no bearer at all: the request is judged by its cookie, CSRF check included.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]{16,200}=*)")


def bearer_token(headers) -> str | None:
    match = _BEARER.fullmatch(headers.get("authorization", ""))
    return match.group(1) if match else None


def _has_bearer(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return _BEARER.fullmatch(value.decode("latin-1")) is not None
    return False


def session_csrf_secret(secret: str, session_token: str) -> str:
    """The key CSRF tokens are signed with: bound to the session, so a token issued to another
    session (or planted before the login) is worth nothing."""
    return hmac.new(secret.encode(), f"csrf:{session_token}".encode(), hashlib.sha256).hexdigest()


def csrf_token_for_session(secret: str, session_token: str) -> str:
    return generate_csrf_token(secret=session_csrf_secret(secret, session_token))


def csrf_token_is_valid(token: str, secret: str, session_token: str) -> bool:
    if len(token) < CSRF_SECRET_LENGTH + 1:
        return False
    expected = generate_csrf_hash(
        token=token[:CSRF_SECRET_LENGTH], secret=session_csrf_secret(secret, session_token)
    )
    return hmac.compare_digest(token[CSRF_SECRET_LENGTH:], expected)


class SessionAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Never refuses by itself: routes that need a user say so with guards (401/403 there)."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = bearer_token(connection.headers) or connection.cookies.get(SESSION_COOKIE)
        if not token:
            return AuthenticationResult(user=None, auth=None)
        user = await service.authenticate(connection.app.state.settings, token)
        return AuthenticationResult(user=user, auth=token if user else None)


class CookieCSRFMiddleware(CSRFMiddleware):
    """Litestar's double-submit CSRF check, for requests that a browser authenticates by cookie,
    with the token signed by a key bound to the session (Litestar's alone is not).

    A Bearer token cannot be attached by a cross-site form, so token-authenticated API clients
    (scanner desktops, the province) are exempt; anonymous requests carry no authority to abuse.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in self.config.safe_methods and _has_bearer(scope):  # type: ignore[typeddict-item]
            # The phones' pushes: judged from the raw header, before any request object.
            await self.app(scope, receive, send)
            return
        request: Request = scope["litestar_app"].request_class(scope=scope, receive=receive)
        session = request.cookies.get(SESSION_COOKIE) or ""
        safe = request.method in self.config.safe_methods
        if not safe and (bearer_token(request.headers) or not session):
            await self.app(scope, receive, send)
            return
        secret = self.config.secret
        cookie = request.cookies.get(self.config.cookie_name)
        if cookie is not None and not csrf_token_is_valid(cookie, secret, session):
            cookie = None  # issued to another session (or none): replaced on the next read
        state = ScopeState.from_scope(scope)
        if safe:
            token = state.csrf_token = cookie or csrf_token_for_session(secret, session)
            await self.app(scope, receive, self.create_send_wrapper(send, token, cookie))
            return
        submitted = request.headers.get(self.config.header_name)
        if not submitted and request.content_type[0] in {
            RequestEncodingType.URL_ENCODED,
            RequestEncodingType.MULTI_PART,
        }:
            submitted = (await request.form()).get("_csrf_token")
        if cookie is None or not submitted or not hmac.compare_digest(str(submitted), cookie):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = cookie
        await self.app(scope, receive, send)
