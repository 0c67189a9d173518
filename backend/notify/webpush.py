"""Web Push out of the server: one encrypted (aes128gcm) message with a VAPID JWT (pywebpush), on an
HTTP session that connects only to public addresses and never follows a redirect (endpoints.py).

Kept apart from channels.py and imported only when a push is sent: pywebpush with aiohttp,
requests and cryptography weighs ~24 MB in every process that imports it, and a process that
only takes the phones' entries and serves the pages never needs them.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from pywebpush import WebPushException, webpush_async

from backend.notify import channels
from backend.notify.channels import Attempt, short_error
from backend.notify.endpoints import (
    EndpointNotPublic,
    check_endpoint,
    host_name_refused,
    is_public_address,
)
from backend.notify.keys import VapidPair

log = logging.getLogger("cunzhan.notify")

VAPID_LIFETIME_S = 12 * 3600  # RFC 8292 allows at most 24 h; push services reject longer
GONE = (404, 410)


def retry_after_seconds(value: str | None) -> int | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, int(moment.timestamp() - time.time()))


def vapid_claims(endpoint: str, subject: str) -> dict[str, Any]:
    """A fresh dict per send: pywebpush writes into the claims it is given."""
    origin = urlparse(endpoint)
    return {
        "sub": subject,
        "aud": f"{origin.scheme}://{origin.netloc}",
        "exp": int(time.time()) + VAPID_LIFETIME_S,
    }


async def send_push(
    session: aiohttp.ClientSession,
    subscription: dict[str, Any],
    payload: dict[str, Any],
    *,
    vapid: VapidPair,
    subject: str,
    ttl_seconds: int,
    urgency: str,
) -> Attempt:
    """One encrypted (aes128gcm) Web Push message with a VAPID JWT, a TTL and an Urgency."""
    info = {
        "endpoint": subscription["endpoint"],
        "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]},
    }
    try:
        async with asyncio.timeout(channels.PUSH_TIMEOUT_S + 1):
            # Again at send time: the host may resolve elsewhere since it was saved.
            await check_endpoint(subscription["endpoint"])
            await webpush_async(
                info,
                data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=vapid.vapid,
                vapid_claims=vapid_claims(subscription["endpoint"], subject),
                ttl=ttl_seconds,
                headers={"Urgency": urgency},
                timeout=aiohttp.ClientTimeout(total=channels.PUSH_TIMEOUT_S),
                aiohttp_session=session,
            )
    except WebPushException as exc:
        status = exc.response.status if exc.response is not None else None
        if status in GONE:
            return Attempt("gone", status, f"push service answered {status}")
        return Attempt(
            "failed",
            status,
            f"push service answered {status}" if status else short_error(str(exc)),
            retry_after_seconds(
                exc.response.headers.get("Retry-After") if exc.response is not None else None
            ),
        )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Attempt("failed", None, short_error(f"{type(exc).__name__}: {exc}") or "timeout")
    except Exception as exc:  # a broken subscription (bad keys) must not stop the others
        log.warning("push not sent: %s", short_error(repr(exc)))
        return Attempt("failed", None, short_error(f"{type(exc).__name__}: {exc}"))
    return Attempt("delivered", 201)


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver, refusing names that resolve to a non-public address."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host_name_refused(host):
            raise EndpointNotPublic(f"{host} is not a public host")
        results = await self._resolver.resolve(host, port, family)
        if not results or not all(is_public_address(result["host"]) for result in results):
            raise EndpointNotPublic(f"{host} is not a public address")
        return results

    async def close(self) -> None:
        await self._resolver.close()


async def _refuse_redirect(session: Any, context: Any, params: Any) -> None:
    raise EndpointNotPublic(f"redirect to {params.url} not followed")


def push_http_session(limit: int) -> aiohttp.ClientSession:
    """The HTTP session push messages go out on: public addresses only, no redirects."""
    trace = aiohttp.TraceConfig()
    trace.on_request_redirect.append(_refuse_redirect)
    connector = aiohttp.TCPConnector(limit=limit, resolver=PublicOnlyResolver())
    return aiohttp.ClientSession(connector=connector, trace_configs=[trace])
