"""Domain errors and their RFC 9457 problem documents, localized for the caller."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from backend.i18n import accepted_language, negotiate, normalize_language, translate

log = logging.getLogger("cunzhan.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
LANGUAGE_COOKIE = "cz_lang"

# Litestar's own HTTP errors get a stable code too.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class DomainError(Exception):
    """A refusal the user can understand: a stable code, an HTTP status, the field at fault."""

    def __init__(
        self,
        code: str,
        status: int = 422,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.field = field
        self.headers = headers or {}
        self.params = params
        # Other boxes of the same form refused at once (a page shows each under its box).
        self.also: list[DomainError] = []

    def problem(self, language: str, instance: str | None = None) -> dict[str, Any]:
        return problem_document(
            self.code, self.status, language, field=self.field, instance=instance, **self.params
        )


def refuse_together(refusals: list[DomainError]) -> None:
    """Raise the first of a form's refusals, carrying the others (none: nothing to raise)."""
    if refusals:
        refusals[0].also = refusals[1:]
        raise refusals[0]


def problem_document(
    code: str,
    status: int,
    language: str,
    field: str | None = None,
    instance: str | None = None,
    detail: str | None = None,
    **params: Any,
) -> dict[str, Any]:
    """The problem of `code`; its detail from the catalog's `problem.<detail or code>`."""
    if field and "field" not in params:
        label = translate(f"field.{field}", language)
        params["field"] = field if label == f"field.{field}" else label
    params.setdefault("field", "")
    document: dict[str, Any] = {
        "type": f"urn:cunzhan:problem:{code}",
        "title": translate(f"problem.{code}.title", language, **params),
        "status": status,
        "detail": translate(f"problem.{detail or code}", language, **params),
        "code": code,
    }
    if field:
        document["field"] = field
    if instance:
        document["instance"] = instance
    return document


def request_language(request: Request) -> str:
    """The language switch's cookie, else what the client asks for, else the saved profile."""
    user = request.scope.get("user")
    return (
        normalize_language(request.cookies.get(LANGUAGE_COOKIE))
        or accepted_language(request.headers.get("accept-language"))
        or negotiate(None, getattr(user, "language", None))
    )


def problem_response(request: Request, document: dict[str, Any], headers=None) -> Response:
    return Response(
        content=document,
        status_code=document["status"],
        media_type=PROBLEM_MEDIA_TYPE,
        headers={"cache-control": "no-store", **(headers or {})},
    )


def domain_error_handler(request: Request, exc: DomainError) -> Response:
    document = exc.problem(request_language(request), instance=request.url.path)
    return problem_response(request, document, exc.headers)


def _validation_field(exc: ValidationException) -> str | None:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        key = extra[0].get("key")
        return str(key) if key else None
    return None


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        return str(extra[0].get("message") or "")
    return ""


# msgspec says what a value must be ("Expected `int` <= 24", "Expected `str` of length <= 300");
# the detail says it in the reader's words with the limit, where "“货架数”填写不正确" said neither.
_LIMITS = (
    (re.compile(r"of length <= (\d+)"), "invalid_input_too_long", "max"),
    (re.compile(r"of length >= 1\b|missing required field"), "invalid_input_required", None),
    (re.compile(r"of length >= (\d+)"), "invalid_input_too_short", "min"),
    (re.compile(r"` <= (-?[\d.]+)"), "invalid_input_max", "max"),
    (re.compile(r"` >= (-?[\d.]+)"), "invalid_input_min", "min"),
    (re.compile(r"` < (-?[\d.]+)"), "invalid_input_below", "max"),
    (re.compile(r"` > (-?[\d.]+)"), "invalid_input_above", "min"),
)


def validation_detail(message: str) -> tuple[str | None, dict[str, Any]]:
    """The catalog code of a schema's refusal's detail, and the limit it names (None: the
    generic "“X”填写不正确")."""
    for pattern, detail, name in _LIMITS:
        found = pattern.search(message)
        if found:
            if name is None:
                return detail, {}
            limit = found.group(1)
            return detail, {name: limit[:-2] if limit.endswith(".0") else limit}
    return None, {}


def http_problem_code(exc: HTTPException) -> str:
    """The problem's code for Litestar's own HTTP errors (a refused CSRF token is not "forbidden":
    the page only needs reloading)."""
    status = exc.status_code
    if isinstance(exc, ValidationException):
        return "invalid_input"
    if status == 403 and "CSRF" in str(exc.detail):
        return "csrf_failed"
    return STATUS_CODES.get(status, "bad_request" if status < 500 else "internal_error")


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    language = request_language(request)
    field: str | None = None
    detail: str | None = None
    limit: dict[str, Any] = {}
    if isinstance(exc, ValidationException):
        field = _validation_field(exc)
        detail, limit = validation_detail(_validation_message(exc))
    code = http_problem_code(exc)
    document = problem_document(
        code, status, language, field=field, instance=request.url.path, detail=detail, **limit
    )
    headers = dict(exc.headers or {})
    return problem_response(request, document, headers)


def storage_problem(exc: BaseException) -> str | None:
    """`storage_full` or `unavailable` when the database, not the request, is at fault."""
    import sqlite3

    import asyncpg

    message = str(exc).lower()
    if isinstance(exc, asyncpg.exceptions.DiskFullError) or "disk is full" in message:
        return "storage_full"
    if isinstance(exc, sqlite3.OperationalError) and (
        "locked" in message or "disk i/o" in message or "unable to open" in message
    ):
        return "unavailable"
    transient = (
        asyncpg.exceptions.PostgresConnectionError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.InterfaceError,
        ConnectionError,
        OSError,
    )
    return "unavailable" if isinstance(exc, transient) else None


def internal_error_handler(request: Request, exc: Exception) -> Response:
    language = request_language(request)
    storage = storage_problem(exc)
    if storage:
        # Nothing was committed: the phone keeps its outbox and tries again a little later.
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        document = problem_document(storage, 503, language, instance=request.url.path)
        return problem_response(request, document, {"retry-after": "10"})
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    document = problem_document(
        "internal_error", HTTP_500_INTERNAL_SERVER_ERROR, language, instance=request.url.path
    )
    return problem_response(request, document)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_MEDIA_TYPE", "DomainError"]
