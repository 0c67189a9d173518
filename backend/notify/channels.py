"""The channels of the chain: Web Push (backend/notify/webpush.py), SMS and WeChat subscription
messages (httpx).

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

from dataclasses import dataclass
from typing import Any

import httpx

from backend.privacy import mask_phones_in_text

PROVIDER_TIMEOUT_S = 5.0
PUSH_TIMEOUT_S = 10.0


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


def short_error(text: str) -> str:
    return mask_phones_in_text(" ".join(text.split()))[:300]


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
        return Attempt("failed", None, short_error(f"{type(exc).__name__}: {exc}"))
    if 200 <= response.status_code < 300:
        return Attempt("delivered", response.status_code)
    return Attempt("failed", response.status_code, f"provider answered {response.status_code}")
