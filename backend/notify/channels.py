"""The channels of the chain: Web Push (pywebpush), SMS and WeChat subscription messages (httpx).

Each send answers an `Attempt` and never raises: the chain decides what to try next from it.
SMS and WeChat go to configurable providers (URL, key, template; see settings.py): a JSON POST with
`Authorization: Bearer <key>`, 5 s at most, any 2xx meaning accepted. The bodies:

    SMS:    {"phone", "language", "message_id", "template", "params": {"title", "body", ...}}
    WeChat: {"phone", "language", "message_id", "template", "data": {"title", "body"}, "url"}

`message_id` is the inbox item's id: a provider (or a gateway in front of it) that deduplicates by
it makes a resend harmless. The real phone number goes to the provider (it needs it) and nowhere
else: errors and logs carry masked text only.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aiohttp
import httpx
from pywebpush import WebPushException, webpush_async

from backend.notify.endpoints import check_endpoint
from backend.notify.keys import VapidPair
from backend.privacy import mask_phones_in_text

log = logging.getLogger("cunzhan.notify")

PROVIDER_TIMEOUT_S = 5.0
PUSH_TIMEOUT_S = 10.0
VAPID_LIFETIME_S = 12 * 3600  # RFC 8292 allows at most 24 h; push services reject longer
GONE = (404, 410)


@dataclass(frozen=True)
class Attempt:
    status: str  # delivered | gone | failed | skipped
    http_status: int | None = None
    error: str = ""
    retry_after_s: int | None = None  # what a 429/503 asked for

    @property
    def retryable(self) -> bool:
        """Worth another try later: throttled, the service's own fault, or no answer at all."""
        if self.status != "failed":
            return False
        return self.http_status is None or self.http_status == 429 or self.http_status >= 500


def _short(text: str) -> str:
    return mask_phones_in_text(" ".join(text.split()))[:300]


def _retry_after(value: str | None) -> int | None:
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
        async with asyncio.timeout(PUSH_TIMEOUT_S + 1):
            # Again at send time: the host may resolve elsewhere since it was saved.
            await check_endpoint(subscription["endpoint"])
            await webpush_async(
                info,
                data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=vapid.vapid,
                vapid_claims=vapid_claims(subscription["endpoint"], subject),
                ttl=ttl_seconds,
                headers={"Urgency": urgency},
                timeout=aiohttp.ClientTimeout(total=PUSH_TIMEOUT_S),
                aiohttp_session=session,
            )
    except WebPushException as exc:
        status = exc.response.status if exc.response is not None else None
        if status in GONE:
            return Attempt("gone", status, f"push service answered {status}")
        return Attempt(
            "failed",
            status,
            f"push service answered {status}" if status else _short(str(exc)),
            _retry_after(
                exc.response.headers.get("Retry-After") if exc.response is not None else None
            ),
        )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Attempt("failed", None, _short(f"{type(exc).__name__}: {exc}") or "timeout")
    except Exception as exc:  # a broken subscription (bad keys) must not stop the others
        log.warning("push not sent: %s", _short(repr(exc)))
        return Attempt("failed", None, _short(f"{type(exc).__name__}: {exc}"))
    return Attempt("delivered", 201)


async def post_provider(
    client: httpx.AsyncClient, url: str, key: str, body: dict[str, Any]
) -> Attempt:
    """POST to an SMS or WeChat provider; unconfigured → skipped, non-2xx or no answer → failed."""
    if not url:
        return Attempt("skipped", None, "not configured")
    headers = {"authorization": f"Bearer {key}"} if key else {}
    try:
        response = await client.post(url, json=body, headers=headers, timeout=PROVIDER_TIMEOUT_S)
    except httpx.TimeoutException:
        # The provider may have sent it anyway: the chain never sends this message again by SMS.
        return Attempt("failed", None, "timeout (the provider may still deliver it)")
    except httpx.HTTPError as exc:
        return Attempt("failed", None, _short(f"{type(exc).__name__}: {exc}"))
    if 200 <= response.status_code < 300:
        return Attempt("delivered", response.status_code)
    return Attempt("failed", response.status_code, f"provider answered {response.status_code}")
