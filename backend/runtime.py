"""What one running app owns for its life, in place of module-level state.

The group-commit queues and the kept-alive HTTP session to the push services must be shared by
every request and job of one app, and must not outlive it: tests start and close many apps in one
process, each on its own event loop, and a queue or session left from an earlier one would belong
to a closed loop. So they live in a `Runtime`: the app's lifespan opens one
(`app.state.runtime`) and closes it on shutdown, closing what it holds; `runtime_middleware`
makes it current for each request (its background tasks included) and the scheduler for each job.
A CLI command, a script or a test opens its own with `running()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from litestar.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")


class Runtime:
    """Named resources made on first use and closed (in reverse order) with the runtime."""

    def __init__(self) -> None:
        self._resources: dict[Hashable, Any] = {}
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.closed = False

    def get(
        self,
        key: Hashable,
        make: Callable[[], T],
        close: Callable[[T], Awaitable[None]] | None = None,
    ) -> T:
        if self.closed:
            raise RuntimeError(f"the runtime is closed; {key!r} cannot be made")
        if key not in self._resources:
            resource = self._resources[key] = make()
            if close is not None:
                self._closers.append(lambda: close(resource))
        return self._resources[key]

    async def close(self) -> None:
        self.closed = True
        closers, self._closers = self._closers, []
        for closer in reversed(closers):
            await closer()
        self._resources.clear()


_current: ContextVar[Runtime | None] = ContextVar("cunzhan_runtime", default=None)


def current() -> Runtime:
    found = _current.get()
    if found is None:
        raise RuntimeError(
            "no runtime here: run inside the app (a request or a job) or `runtime.running()`"
        )
    return found


@contextlib.contextmanager
def use(runtime: Runtime) -> Iterator[Runtime]:
    token = _current.set(runtime)
    try:
        yield runtime
    finally:
        _current.reset(token)


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[Runtime]:
    """A runtime of its own for a command, a script or a test, closed when it ends."""
    runtime = Runtime()
    try:
        with use(runtime):
            yield runtime
    finally:
        await runtime.close()


def runtime_middleware(app: ASGIApp) -> ASGIApp:
    """Every request runs with its app's runtime current (set by the lifespan). An app served
    without its lifespan has none, and only what needs one fails, saying so."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        owned = scope["app"].state.get("runtime")
        if owned is None:
            await app(scope, receive, send)
            return
        with use(owned):
            await app(scope, receive, send)

    return middleware
