"""The tracking page's throttle: per client address (every lookup) and per tracking number (every
lookup that did not match the phone's last four), in fixed windows of WINDOW.

Ten thousand possible tails make the tail a weak secret on its own; counting the misses of a
number wherever they come from keeps a guesser to a few tries a window, and the per-address
limit keeps one address from walking through numbers. The counts belong to the app (opened by
the lifespan as `app.state.track_throttle`) and to its process: behind several processes each
counts on its own, so the limits multiply by the number of processes.
"""

from __future__ import annotations

import datetime
from collections import Counter

from litestar.datastructures import State

from backend import clock
from backend.errors import DomainError

WINDOW = datetime.timedelta(minutes=10)
PER_ADDRESS = 30  # lookups per address per window
PER_NUMBER = 10  # lookups of a number without a matching tail per window


class TrackThrottle:
    def __init__(self, per_address: int = PER_ADDRESS, per_number: int = PER_NUMBER) -> None:
        self.per_address = per_address
        self.per_number = per_number
        self._window = -1
        self._counts: Counter[str] = Counter()

    def _current(self) -> Counter[str]:
        window = int(clock.utcnow().timestamp() // WINDOW.total_seconds())
        if window != self._window:
            self._window, self._counts = window, Counter()
        return self._counts

    def _refuse(self) -> DomainError:
        now = clock.utcnow().timestamp()
        seconds = WINDOW.total_seconds()
        retry_after = int(seconds - now % seconds) + 1
        return DomainError(
            "delivery_track_throttled",
            status=429,
            headers={"retry-after": str(retry_after)},
            minutes=int(seconds // 60),
        )

    def admit(self, address: str, tracking_no: str) -> None:
        """Count a lookup from `address`, or refuse it (429) when the address or the number has
        had its share of this window."""
        counts = self._current()
        if counts[f"a:{address}"] >= self.per_address:
            raise self._refuse()
        if counts[f"n:{tracking_no}"] >= self.per_number:
            raise self._refuse()
        counts[f"a:{address}"] += 1

    def missed(self, tracking_no: str) -> None:
        """The lookup gave no station or code (no tail, a wrong tail, or no such parcel)."""
        self._current()[f"n:{tracking_no}"] += 1


def track_throttle(state: State) -> TrackThrottle:
    """The app's throttle, for `Provide`: opened by the lifespan (see backend.app)."""
    return state.track_throttle
