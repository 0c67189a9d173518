"""One catch-up shared by the readers of a county's figures asking at once (rollups.catch_up).

Five staff catching up one after the other each recounted the days the phones had just moved.
A reader joins the catch-up in flight if that one has not yet begun reading what is behind (so
what was pushed before the reader asked is counted), or else waits for the next one, which all
those asking meanwhile share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

# Called by a shared catch-up just before it reads what is behind: readers asking from then on
# may have pushes it will not see.
_reading_behind: ContextVar[Callable[[], None] | None] = ContextVar(
    "cunzhan_reading_behind", default=None
)


def begin_reading_behind() -> None:
    began = _reading_behind.get()
    if began is not None:
        began()


class _Run:
    def __init__(self) -> None:
        self.read_behind = False  # it has begun reading what is behind
        self.future: asyncio.Future[int] | None = None

    def joinable(self) -> bool:
        return self.future is not None and not self.future.done() and not self.read_behind


class SharedCatchUp:
    """The catch-up running, and the next one (not begun: it serves everyone who asked after
    the running one began reading)."""

    def __init__(self) -> None:
        self.running: _Run | None = None
        self.next: _Run | None = None

    async def join(self, catch_up: Callable[[], Awaitable[int]]) -> int:
        run = self.running
        if run is None or not run.joinable():
            if self.next is not None:
                run = self.next
            elif run is None or run.future is None or run.future.done():
                run = self.running = self._start(catch_up)
            else:
                run = self.next = self._start(catch_up, after=run.future)
        assert run.future is not None
        # shielded: a reader that goes away leaves the catch-up to the others
        return await asyncio.shield(run.future)

    def _start(
        self, catch_up: Callable[[], Awaitable[int]], after: asyncio.Future[int] | None = None
    ) -> _Run:
        run = _Run()

        async def work() -> int:
            if after is not None:
                await asyncio.wait([after])  # its failure is its own readers'
                self.running, self.next = run, None
            _reading_behind.set(lambda: setattr(run, "read_behind", True))
            return await catch_up()

        run.future = asyncio.ensure_future(work())
        # retrieved even if every reader went away, so that a failure is not logged as lost
        run.future.add_done_callback(lambda done: done.cancelled() or done.exception())
        return run
