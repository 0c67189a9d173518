"""Request rate limiting per caller, exact across processes.

Litestar's rate limiter counts per process and reads-then-writes its store, so several processes
together let through more than the limit. Here a fixed one-minute window is counted with Redis'
atomic INCR when CUNZHAN_REDIS_URL is set (several processes), in memory otherwise (one process,
a county server). The caller is the authenticated user, or the client address when anonymous.
If Redis cannot be reached the request goes through: keepers must never be locked out by it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict

from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from backend.errors import problem_document
from backend.i18n import accepted_language
from backend.security import client_address

log = logging.getLogger("cunzhan.ratelimit")

WINDOW_SECONDS = 60
# What is not counted: the PWA's files, health probes, metrics.
EXEMPT_PREFIXES = ("/app/", "/healthz", "/readyz", "/metrics", "/schema")


class MemoryCounter:
    def __init__(self) -> None:
        self.windows: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    async def hit(self, key: str, window: int) -> int:
        for old in [w for w in self.windows if w < window]:
            del self.windows[old]
        self.windows[window][key] += 1
        return self.windows[window][key]


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self.client = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def hit(self, key: str, window: int) -> int:
        name = f"cunzhan:rl:{window}:{key}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, WINDOW_SECONDS * 2)
            count, _ = await pipe.execute()
        return int(count)


def _caller(scope: Scope) -> str:
    user = scope.get("user")
    user_id = getattr(user, "id", None)
    return f"user:{user_id}" if user_id else f"addr:{client_address(scope)}"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int, redis_url: str = "") -> None:
        self.app = app
        self.limit = limit
        self.counter = RedisCounter(redis_url) if redis_url else MemoryCounter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES) or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        try:
            count = await self.counter.hit(_caller(scope), window)
        except Exception:  # an unreachable counter must not lock keepers out
            log.warning("rate-limit counter unavailable; request let through")
            count = 0
        if count <= self.limit:
            await self.app(scope, receive, send)
            return
        retry_after = str(int((window + 1) * WINDOW_SECONDS - now) + 1)
        await _refuse(scope, send, retry_after)


async def _refuse(scope: Scope, send: Send, retry_after: str) -> None:
    headers = dict(scope["headers"])
    language = accepted_language(headers.get(b"accept-language", b"").decode("latin-1"))
    document = problem_document(
        "too_many_requests", 429, language or "zh-CN", instance=scope["path"]
    )
    body = json.dumps(document, ensure_ascii=False).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 429,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"retry-after", retry_after.encode()),
            (b"cache-control", b"no-store"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
