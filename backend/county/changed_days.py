"""Which days of a county's stations a refresh recounts (rollups.py): those their new events
touched, and those on which parcels came due; and the stations grouped by the days they need."""

from __future__ import annotations

import datetime
import json
import uuid
from collections import defaultdict

from backend.county.store import ledger_reads
from backend.county.store.rollup_rows import chunks

PARCEL_TYPES = ("parcel.received", "parcel.picked_up", "parcel.returned")


async def changed_days(
    ranges: dict[uuid.UUID, tuple[int, int]], return_days: int, today: datetime.date
) -> dict[uuid.UUID, set[datetime.date]]:
    """Per station, the days whose figures its events in (after, through] changed."""
    days: dict[uuid.UUID, set[datetime.date]] = {station: set() for station in ranges}
    # tracking_no → the earliest day an event touched it, per station
    touched: dict[uuid.UUID, dict[str, datetime.date]] = {station: {} for station in ranges}
    targets: list[uuid.UUID] = []

    def touch(station: uuid.UUID, event_type: str, day: datetime.date, data: str) -> None:
        days[station].add(day)
        if event_type in PARCEL_TYPES:
            tracking_no = json.loads(data)["tracking_no"]
            known = touched[station]
            known[tracking_no] = min(day, known.get(tracking_no, day))

    for chunk in chunks(sorted(ranges, key=str), 100):
        for row in await ledger_reads.events_in_ranges({s: ranges[s] for s in chunk}):
            touch(row.station, row.type, row.business_date, row.data)
            if row.type == "entry.reversed":
                targets.append(uuid.UUID(str(json.loads(row.data)["target_id"])))
    for chunk in chunks(targets):
        for row in await ledger_reads.events_by_id(chunk):
            if row.station in days:
                touch(row.station, row.type, row.business_date, row.data)
    # A parcel's overdue day changes only if the event falls before it (a pickup on or after
    # that day leaves the parcel overdue either way) and the day has come (later days are
    # counted when they come): live pickups of fresh parcels touch no other day.
    shift = datetime.timedelta(days=return_days)
    numbers = {station: sorted(known) for station, known in touched.items()}
    for parcel in await ledger_reads.parcels_by_tracking(numbers):
        first_touch = touched[parcel.station].get(parcel.tracking_no)
        due = parcel.received_date + shift
        if first_touch is not None and first_touch < due <= today:
            days[parcel.station].add(due)
    return days


async def days_come_due(
    county_id: uuid.UUID, return_days: int, since: datetime.date | None, today: datetime.date
) -> dict[uuid.UUID, set[datetime.date]]:
    """Days after the last refresh on which parcels reached their return deadline."""
    if since is not None and since >= today:
        return {}
    shift = datetime.timedelta(days=return_days)
    after = since - shift if since is not None else None
    due: dict[uuid.UUID, set[datetime.date]] = defaultdict(set)
    for parcel in await ledger_reads.received_days_due(county_id, today - shift, after):
        due[parcel.station].add(parcel.received_date + shift)
    return due


def ranges_behind(
    chunk: list[uuid.UUID], work: dict[uuid.UUID, tuple[int, int]], marks: dict[uuid.UUID, int]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Each station's events not yet rolled up: (after, through] of its seq."""
    ranges = {}
    for station_id in chunk:
        after, through = work.get(station_id, (0, 0))
        after = max(after, marks.get(station_id, 0))
        if through > after:
            ranges[station_id] = (after, through)
    return ranges


def same_days(
    chunk: list[uuid.UUID],
    due: dict[uuid.UUID, set[datetime.date]],
    changed: dict[uuid.UUID, set[datetime.date]],
) -> dict[frozenset[datetime.date], list[uuid.UUID]]:
    """The stations to recount, by the days they need (most often: just today), so that those
    with the same days are read and written together."""
    groups: dict[frozenset[datetime.date], list[uuid.UUID]] = defaultdict(list)
    for station_id in chunk:
        days = set(due.get(station_id, ())) | changed.get(station_id, set())
        if days:
            groups[frozenset(days)].append(station_id)
    return groups
