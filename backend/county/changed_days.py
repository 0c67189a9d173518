"""Which days of a county's stations a refresh recounts (rollups.py): those their new events
touched, and those on which parcels came due; and the stations grouped by the days they need."""

from __future__ import annotations

import datetime
import json
import uuid
from collections import defaultdict

from backend.county.store import ledger_reads
from backend.county.store.rollup_rows import chunks


async def changed_days(
    ranges: dict[uuid.UUID, tuple[int, int]], return_days: int, today: datetime.date
) -> dict[uuid.UUID, set[datetime.date]]:
    """Per station, the days whose figures its events in (after, through] changed: their own
    days, the days of the entries they reverse, and the return days of the parcels they touched
    before those came (a pickup on or after that day leaves the parcel overdue either way; later
    days are counted when they come: live pickups of fresh parcels touch no other day)."""
    shift = datetime.timedelta(days=return_days)
    days: dict[uuid.UUID, set[datetime.date]] = {station: set() for station in ranges}
    targets: list[uuid.UUID] = []
    for chunk in chunks(sorted(ranges, key=str), 100):
        part = {station: ranges[station] for station in chunk}
        for touched in await ledger_reads.days_in_ranges(part):
            days[touched.station].add(touched.day)
            if touched.reversal is not None:
                targets.append(uuid.UUID(str(json.loads(touched.reversal)["target_id"])))
        for parcel in await ledger_reads.parcels_touched_in_ranges(part, today - shift):
            due = parcel.received_date + shift
            if parcel.first_day < due:
                days[parcel.station].add(due)
    await _days_of_reversed(targets, days, shift, today)
    return days


async def _days_of_reversed(
    targets: list[uuid.UUID],
    days: dict[uuid.UUID, set[datetime.date]],
    shift: datetime.timedelta,
    today: datetime.date,
) -> None:
    """The days of the entries reversed, and the return day of a parcel whose receipt or pickup
    was reversed before that day came (a receipt reversed takes the parcel off the overdue
    count; a pickup reversed puts it back)."""
    # tracking_no → the earliest day a reversed entry touched it, per station
    touched: dict[uuid.UUID, dict[str, datetime.date]] = defaultdict(dict)
    for chunk in chunks(targets):
        for row in await ledger_reads.events_by_id(chunk):
            if row.station not in days:
                continue
            days[row.station].add(row.business_date)
            if row.type in ledger_reads.PARCEL_TYPES:
                tracking_no = json.loads(row.data)["tracking_no"]
                known, day = touched[row.station], row.business_date
                known[tracking_no] = min(day, known.get(tracking_no, day))
    numbers = {station: sorted(known) for station, known in touched.items()}
    for parcel in await ledger_reads.parcels_by_tracking(numbers):
        first_touch = touched[parcel.station].get(parcel.tracking_no)
        due = parcel.received_date + shift
        if first_touch is not None and first_touch < due <= today:
            days[parcel.station].add(due)


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
