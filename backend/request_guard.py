"""What a request body must be before any handler sees it (API.md "Hardening").

- A JSON endpoint takes `Content-Type: application/json` only (415 otherwise): an HTML form of
  another site can send `text/plain` or form-encoded bodies, never `application/json`.
- A JSON body nested deeper than MAX_JSON_DEPTH is refused with 400 before it is parsed.
- The login refuses a request a browser marks as coming from another site.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate

from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

from backend.errors import DomainError
from backend.ledger.text_rules import replace_lone_surrogate_escapes
from backend.security import request_header

MAX_JSON_DEPTH = 32
MAX_BODY_BYTES = 1024 * 1024  # app.MAX_BODY_BYTES; a longer body is Litestar's 413
SYNC_PATH = "/api/v1/sync"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')
_DEPTH_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 / -1 as signed bytes


def is_json_media_type(value: str) -> bool:
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type == "application/json"


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects nest deeper than `limit` (brackets inside strings do not count).

    Done with bytes operations (C speed) where it matters, a 1 MiB sync batch: strings are cut
    out, then `limit` passes remove the innermost pairs; what is left is either nested too deep
    or not JSON at all, and only then is it walked. About 4 ms for 500 events."""
    # Escaped backslashes and quotes out first (left to right, as JSON reads them), then
    # everything but quotes and brackets: what is left between two quotes is a string's.
    structure = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = remaining = _STRING.sub(b"", structure)
    for _ in range(limit):  # each pass removes at least the innermost level of every group
        shorter = remaining.replace(b"[]", b"").replace(b"{}", b"")
        if not shorter:
            return False
        if shorter == remaining:
            break  # not balanced, so not JSON: the parser will say so unless it is too deep
        remaining = shorter
    else:
        return True  # still nested after `limit` levels were taken off
    if len(brackets) > 65536:
        return True  # a huge unbalanced heap of brackets: no need to measure it
    return max(accumulate(array("b", brackets.translate(_DEPTH_STEPS)))) > limit


def _takes_raw_body(scope: Scope) -> bool:
    """A handler that reads a file as its body (the registry import) opts out with
    `opt={"raw_body": True}` and bounds and checks the body itself."""
    handler = scope.get("route_handler")
    return bool(getattr(handler, "opt", {}).get("raw_body"))


def _takes_json_body(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    signature = getattr(handler, "parsed_fn_signature", None)
    return signature is not None and "data" in signature.parameters


class JsonRequestGuardMiddleware:
    """415 for a non-JSON body on a JSON endpoint, 400 for JSON nested too deep."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in _UNSAFE_METHODS
            or _takes_raw_body(scope)
        ):
            await self.app(scope, receive, send)
            return
        content_type = request_header(scope, b"content-type")
        is_api = scope["path"].startswith("/api/")
        takes_json = _takes_json_body(scope)
        if not (takes_json or (is_api and content_type is not None)):
            await self.app(scope, receive, send)
            return
        if content_type is not None and not is_json_media_type(content_type):
            raise DomainError("unsupported_media_type", status=415, field="content-type")
        # Read the body once, judge its nesting, then hand the same bytes on.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(chunks, message, receive), send)
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > MAX_BODY_BYTES:
                break  # too large: Litestar's own limit answers 413
        if content_type is None and (more or any(chunks)):
            # No browser sends a body without a type; a body of unknown type is not JSON.
            raise DomainError("unsupported_media_type", status=415, field="content-type")
        if not more:
            body = b"".join(chunks)
            if json_depth_exceeds(body):
                raise DomainError("json_too_deep", status=400, depth=MAX_JSON_DEPTH)
            if scope["path"] == SYNC_PATH:
                # One event's lone surrogate must not make the whole batch unreadable.
                chunks = [replace_lone_surrogate_escapes(body)]
        await self.app(scope, _replay(chunks, None, receive, more), send)


def _replay(
    chunks: list[bytes], pending: ReceiveMessage | None, receive: Receive, more: bool = False
) -> Receive:
    """A `receive` that first gives back the body already read, then the rest of the stream."""
    first: HTTPRequestEvent = {
        "type": "http.request",
        "body": b"".join(chunks),
        "more_body": more or pending is not None,
    }
    queue: list[ReceiveMessage] = [first]
    if pending is not None:
        queue.append(pending)

    async def replay() -> ReceiveMessage:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay
