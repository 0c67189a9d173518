"""Keepers' push subscriptions: what a browser registers, checked before it is ever called."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse

from backend import clock, db
from backend.errors import DomainError
from backend.notify.endpoints import EndpointNotPublic, check_endpoint
from backend.notify.keys import b64url_decode
from backend.notify.notices import control_characters
from backend.notify.store import subscriptions as store


def check_subscription(endpoint: str, p256dh: str, auth: str, device_id: str | None) -> None:
    """A push endpoint is an https URL of a push service; keys are a P-256 point and 16 bytes.

    Plain http is refused unless CUNZHAN_PUSH_ALLOW_HTTP=1 (tests and bench_push run a push
    service on loopback): the server POSTs to whatever endpoint a keeper registers."""
    allowed = ("https", "http") if os.environ.get("CUNZHAN_PUSH_ALLOW_HTTP") == "1" else ("https",)
    try:
        parsed = urlparse(endpoint or "")
        host = parsed.hostname
    except ValueError:
        host = None
    printable = endpoint.isascii() and all(" " < ch < "\x7f" for ch in endpoint)
    if not (printable and host and parsed.scheme in allowed and len(endpoint) <= 1000):
        raise DomainError("push_subscription_invalid", field="endpoint")
    # cryptography (~9 MB) is imported by the first subscription a process checks (keys.py).
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError) as exc:
        raise DomainError("push_subscription_invalid", field="p256dh") from exc
    try:
        secret = b64url_decode(auth)
    except (ValueError, TypeError) as exc:
        raise DomainError("push_subscription_invalid", field="auth") from exc
    if len(point) != 65:  # browsers give the uncompressed point; encryption needs it
        raise DomainError("push_subscription_invalid", field="p256dh")
    if len(secret) != 16:
        raise DomainError("push_subscription_invalid", field="auth")
    if device_id is not None and (len(device_id) > 64 or control_characters(device_id)):
        raise DomainError("push_subscription_invalid", field="device_id")


async def save_subscription(
    keeper_id: uuid.UUID, *, endpoint: str, p256dh: str, auth: str, device_id: str
) -> uuid.UUID:
    """Upsert by endpoint: the same browser re-subscribing updates it. An endpoint belongs to the
    keeper who registered it until that keeper deletes it or the push service says it is gone:
    another keeper who learns the URL cannot move it to himself (409)."""
    check_subscription(endpoint, p256dh, auth, device_id)
    try:
        await check_endpoint(endpoint)
    except EndpointNotPublic as exc:
        raise DomainError("push_endpoint_not_public", field="endpoint") from exc
    async with db.write_transaction():
        saved = await store.save(
            keeper_id,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            device_id=device_id,
            moment=clock.utcnow(),
        )
    if saved is None:
        raise DomainError("push_endpoint_taken", status=409, field="endpoint")
    return saved


async def delete_subscription(keeper_id: uuid.UUID, endpoint: str) -> None:
    if "\x00" in endpoint:
        return  # no endpoint holds a NUL (and PostgreSQL would refuse to compare one: a 500)
    async with db.write_transaction():
        await store.delete_of_keeper(keeper_id, endpoint)
