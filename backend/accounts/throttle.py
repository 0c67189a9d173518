"""Login throttling per phone and per client address, across processes and restarts.

Failures are kept in the database so every process and a restarted one count them. Two things
make a flood of wrong passwords cheap for everybody else:
- attempts still being checked count at once (in memory), so 200 simultaneous guesses cannot all
  slip past the limit before the first failure is written;
- failures are written in one transaction every FLUSH_SECONDS instead of one commit (and one
  fsync) each, so the keepers' sync writes do not queue behind hundreds of tiny commits.
Another process sees a failure at most FLUSH_SECONDS late.

The in-memory part belongs to one app: the lifespan opens a throttle on start-up
(`app.state.login_throttle`) and closes it on shutdown, which writes what is still unwritten and
refuses to write anything after. Its one invariant: `counted` holds exactly the attempts in flight
plus the failures in `unwritten`, whatever is cancelled when.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import datetime, timedelta

from litestar.datastructures import State

from backend import clock
from backend.accounts import store
from backend.errors import DomainError
from backend.settings import Settings

FLUSH_SECONDS = 0.2
log = logging.getLogger("cunzhan.accounts.throttle")


class LoginThrottle:
    def __init__(self) -> None:
        self.counted: Counter[str] = Counter()  # in flight or not yet written, per key
        self.unwritten: list[tuple[str, str, datetime]] = []
        self.closed = False
        self._flush_task: asyncio.Task | None = None
        self._flush_now = asyncio.Event()
        # Counting and writing a batch exclude each other: a count that saw a batch's rows
        # committed but still in memory counted them twice (a 429 one attempt early).
        self._lock = asyncio.Lock()

    async def admit(
        self, settings: Settings, phone: str, address: str, known_device: bool = False
    ) -> None:
        """Refuse with 429 when this phone failed too often from this address, or (a slower
        limit) from everywhere, or the address failed too often; else count the attempt in.

        Locking the owner out is what an attacker wants, so the limits cost the attacker first:
        his own address hits the per-(phone, address) limit long before the phone's global one,
        and the keeper's own device (one that has held a session of this account) is judged by
        the per-(phone, address) limit only, so failures from elsewhere never lock it out."""
        since = clock.utcnow() - timedelta(minutes=settings.login_window_minutes)
        pair = _pair(phone, address)
        async with self._lock:
            written = await store.failure_counts(phone, address, since)
            by_phone = written.by_phone + self.counted[f"p:{phone}"]
            by_address = written.by_address + self.counted[f"a:{address}"]
            by_pair = written.by_pair + self.counted[pair]
        refused = by_pair >= settings.login_max_failures_per_phone
        if not known_device:
            refused = refused or (
                by_phone >= settings.login_max_failures_per_phone_global
                or by_address >= settings.login_max_failures_per_address
            )
        if refused:
            raise DomainError(
                "too_many_logins",
                status=429,
                headers={"retry-after": str(settings.login_window_minutes * 60)},
                minutes=settings.login_window_minutes,
            )
        self.counted[f"p:{phone}"] += 1
        self.counted[f"a:{address}"] += 1
        self.counted[pair] += 1

    def failed(self, phone: str, address: str) -> None:
        """The attempt failed: it stays counted until it is written."""
        if self.closed:  # the app is gone: nothing may land in a database it no longer owns
            log.warning("login failure after the throttle closed was not recorded")
            self._uncount(phone, address)
            return
        self.unwritten.append((phone, address, clock.utcnow()))
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def succeeded(self, phone: str, address: str) -> None:
        self._uncount(phone, address)
        # Only this address's failures: an attacker's elsewhere keep counting against him.
        await store.forget_failures(phone, address)

    def _uncount(self, phone: str, address: str) -> None:
        for key in (f"p:{phone}", f"a:{address}", _pair(phone, address)):
            self.counted[key] -= 1
            if self.counted[key] <= 0:
                del self.counted[key]

    async def _flush_soon(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._flush_now.wait(), FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            batch, self.unwritten = self.unwritten, []
            if not batch:
                return
            try:
                await store.record_failures(batch)
            except BaseException:  # cancelled too: the batch stays counted and unwritten
                self.unwritten[:0] = batch
                raise
            for phone, address, _ in batch:
                self._uncount(phone, address)

    async def close(self) -> None:
        """Write what is unwritten, then refuse to write more. A write under way is waited
        for, never cancelled: cancelling it mid-commit is how counts used to outlive the app."""
        self.closed = True
        self._flush_now.set()
        if self._flush_task is not None:
            try:
                await self._flush_task
            except Exception:
                log.exception("writing login failures failed; trying once more")
        await self.flush()


def _pair(phone: str, address: str) -> str:
    return f"pa:{phone}|{address}"


def login_throttle(state: State) -> LoginThrottle:
    """The app's throttle, for `Provide`: opened by the lifespan (see backend.app)."""
    return state.login_throttle
