"""When a leg closes, and how a month of legs reads: pure functions of legs and receipts.

A leg closes at the first `parcel.received` of its number (and package) at its station whose
occurred_at is at or after the dispatch, less CLOCK_SLACK: a phone's clock drifts and a scan and
its receipt can cross in flight, but a receipt from before that (an earlier delivery of the same
number) does not close a later leg. A leg of a whole JD number (no package) closes with any of its
packages; a leg of one package with that package or the whole number.
"""

from __future__ import annotations

import datetime
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

LATE_AFTER = datetime.timedelta(hours=48)
CLOCK_SLACK = datetime.timedelta(minutes=10)


class Leg(Protocol):
    @property
    def station(self) -> uuid.UUID: ...
    @property
    def tracking_no(self) -> str: ...
    @property
    def package(self) -> str: ...
    @property
    def dispatched_at(self) -> datetime.datetime: ...


class Receipt(Protocol):
    @property
    def station_id(self) -> uuid.UUID: ...
    @property
    def tracking_no(self) -> str: ...
    @property
    def package(self) -> str: ...
    @property
    def received_at(self) -> datetime.datetime: ...


class Receipts:
    """Receipts by (station, number), oldest first, for closing many legs at once."""

    def __init__(self, receipts: Iterable[Receipt]) -> None:
        self._by_key: dict[tuple[uuid.UUID, str], list[Receipt]] = defaultdict(list)
        for receipt in sorted(receipts, key=lambda r: r.received_at):
            self._by_key[(receipt.station_id, receipt.tracking_no)].append(receipt)

    def closing(self, leg: Leg) -> datetime.datetime | None:
        """When the leg closed, or None while it is open."""
        earliest = leg.dispatched_at - CLOCK_SLACK
        for receipt in self._by_key.get((leg.station, leg.tracking_no), ()):
            if receipt.received_at < earliest:
                continue
            if not leg.package or receipt.package in ("", leg.package):
                return receipt.received_at
        return None


def hours(start: datetime.datetime, end: datetime.datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


class Tally:
    """A set of legs' figures as they stand at `now`."""

    def __init__(self) -> None:
        self.legs = 0
        self.within_48h = 0
        self.late_closed = 0
        self.late_open = 0
        self.pending = 0
        self.closed_hours: list[float] = []

    def add(
        self,
        dispatched_at: datetime.datetime,
        closed_at: datetime.datetime | None,
        now: datetime.datetime,
    ) -> None:
        self.legs += 1
        if closed_at is not None:
            self.closed_hours.append(hours(dispatched_at, closed_at))
            if closed_at - dispatched_at <= LATE_AFTER:
                self.within_48h += 1
            else:
                self.late_closed += 1
        elif now - dispatched_at > LATE_AFTER:
            self.late_open += 1
        else:
            self.pending += 1

    @property
    def decided(self) -> int:
        """The legs whose 48 h are settled: closed, or open past 48 h. A leg open for less is
        neither in time nor late yet (it counted as a failure: a rate of 35 % on the 2nd of a
        month whose legs were all on their way)."""
        return self.legs - self.pending

    @property
    def rate(self) -> float | None:
        return round(self.within_48h / self.decided, 4) if self.decided else None

    @property
    def late(self) -> int:
        return self.late_closed + self.late_open

    @property
    def median_hours(self) -> float | None:
        return round(statistics.median(self.closed_hours), 2) if self.closed_hours else None
