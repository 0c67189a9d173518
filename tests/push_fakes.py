"""Loopback stand-ins for what a notification meets outside: a browser (its own P-256 key pair
and auth secret, decrypting what it receives), a push service and SMS/WeChat providers (small
HTTP servers on 127.0.0.1 in a thread, answering what the test plans and recording requests).

Used by tests/test_push_*.py, tests/test_notify_*.py and scripts/bench_push.py.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Plan:
    status: int = 201
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # hold the request until the server is released (a provider that hangs)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many senders at once (the default backlog is 5)
    daemon_threads = True


class LoopbackServer:
    """An HTTP server on 127.0.0.1: POSTs are recorded and answered from a per-path plan."""

    def __init__(self, default: Plan | None = None) -> None:
        self.default = default or Plan()
        self.plans: dict[str, list[Plan]] = {}
        self.requests: list[Recorded] = []
        self.released = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                plan = owner._record(self.path, dict(self.headers.items()), body)
                if plan.hang:
                    owner.released.wait(30)
                self.send_response(plan.status)
                for name, value in plan.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        # Polling every 50 ms, not 0.5 s: shutdown() waits for the next poll, at every teardown.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> Plan:
        with self._lock:
            self.requests.append(Recorded(path, {k.lower(): v for k, v in headers.items()}, body))
            queue = self.plans.get(path)
            return queue.pop(0) if queue else self.default

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def plan(self, path: str, *plans: Plan) -> None:
        with self._lock:
            self.plans.setdefault(path, []).extend(plans)

    def to(self, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == path]

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class FakeBrowser:
    """A browser's side of Web Push: the subscription it hands the app, and decryption."""

    def __init__(self, push_service_url: str) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)
        self.path = f"/push/{uuid.uuid4().hex}"
        self.endpoint = push_service_url + self.path
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.p256dh = b64url(point)

    def subscription(self, device_id: str | None = None) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives, plus the app's device id."""
        body: dict[str, Any] = {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth_secret)},
        }
        if device_id:
            body["device_id"] = device_id
        return body

    def decrypt(self, request: Recorded) -> dict[str, Any]:
        assert request.headers.get("content-encoding") == "aes128gcm"
        plain = http_ece.decrypt(
            request.body,
            private_key=self.private_key,
            auth_secret=self.auth_secret,
            version="aes128gcm",
        )
        return json.loads(plain)


def verify_vapid(authorization: str) -> tuple[dict[str, Any], str]:
    """Check `vapid t=<jwt>, k=<key>` (RFC 8292): ES256 over the JWT with k. Returns the claims
    and k; raises AssertionError or InvalidSignature when it does not hold."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    parts = dict(part.strip().split("=", 1) for part in rest.split(","))
    token, public_key = parts["t"], parts["k"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    assert header["alg"] == "ES256", header
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(public_key))
    signature = b64url_decode(signature_b64)
    assert len(signature) == 64, "ES256 signatures are r||s, 64 bytes"
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(b64url_decode(claims_b64)), public_key


def vapid_is_valid(authorization: str) -> bool:
    try:
        verify_vapid(authorization)
    except (AssertionError, InvalidSignature, ValueError, KeyError):
        return False
    return True
