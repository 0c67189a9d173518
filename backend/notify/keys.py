"""The server's VAPID key pair: from CUNZHAN_VAPID_PRIVATE_KEY, else made on first use and kept.

Browsers bind a push subscription to the public key they subscribed with, so the generated pair
is stored in the database (not a file): every `serve` process of one deployment signs with the
same key, and a restart does not silently orphan every keeper's subscription.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend import clock, db
from backend.notify.store import subscriptions as store
from backend.settings import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from py_vapid import Vapid

# cryptography and py_vapid are imported where a key is made or read (~9 MB): most processes of a
# deployment never do, as only the one holding the jobs' lease sends pushes (backend/jobs).


@dataclass(frozen=True)
class VapidPair:
    vapid: Vapid  # signs the JWTs
    public_key: str  # uncompressed P-256 point, URL-safe base64 without padding
    private_key: str  # raw scalar, URL-safe base64 without padding


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pair(private: ec.EllipticCurvePrivateKey) -> VapidPair:
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    raw = private.private_numbers().private_value.to_bytes(32, "big")
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidPair(vapid=Vapid(private), public_key=b64url(point), private_key=b64url(raw))


def generate_pair() -> VapidPair:
    from cryptography.hazmat.primitives.asymmetric import ec

    return _pair(ec.generate_private_key(ec.SECP256R1()))


def pair_from_configured(text: str) -> VapidPair:
    """A raw 32-byte scalar (URL-safe base64, what web-push tools print), DER or PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    text = text.strip()
    if "-----BEGIN" in text:
        private = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        compact = text.replace("\n", "")
        decoded = b64url_decode(compact)
        if len(decoded) == 32:
            private = ec.derive_private_key(int.from_bytes(decoded, "big"), ec.SECP256R1())
        else:
            private = serialization.load_der_private_key(decoded, password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise ValueError("CUNZHAN_VAPID_PRIVATE_KEY must be a P-256 (prime256v1) private key")
    return _pair(private)


async def _stored_pair() -> VapidPair:
    """The kept pair; the first process to ask makes it (others read the winner's row)."""
    async with db.read_transaction():
        private_key = await store.stored_private_key()
    if private_key is None:
        fresh = generate_pair()
        async with db.write_transaction():
            await store.keep_vapid_key(fresh.private_key, fresh.public_key, clock.utcnow())
            private_key = await store.stored_private_key()
    assert private_key is not None  # ours or the winner's
    return pair_from_configured(private_key)


async def vapid_pair(settings: Settings) -> VapidPair:
    """The configured pair, else the stored one (made on first use). Read each time, not cached
    in the process: one small read per chain, and never a pair the database no longer holds."""
    configured = settings.vapid_private_key
    return pair_from_configured(configured) if configured else await _stored_pair()
