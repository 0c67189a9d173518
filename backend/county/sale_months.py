"""The product sales' monthly groups (store/sale_months.py) kept up with the log.

Every read of a county's product sales catches it up first: the stations whose chain moved past
their mark have the months of their new sales — and of the sales their new reversals took back —
counted again from the log, and the mark moved, in one write transaction per few stations. A
county never counted (or forgotten by a rebuild) is counted whole on its first read. It follows
the rollups' refresh and rebuild (county/rollups.py calls `catch_up` and `rebuild_county`)."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict

from backend import db
from backend.county.calendar_months import next_month
from backend.county.store import sale_months as store

STATIONS_PER_TRANSACTION = 10  # a county's first count holds SQLite's writer a few at a time


async def catch_up(county_id: uuid.UUID) -> int:
    """The county's stations behind counted; returns how many. It reads the primary even for a
    page read from a replica: what is behind decides what it writes."""
    with db.on_primary():
        async with db.read_transaction():
            behind = await store.behind(county_id)
        counted = 0
        for start in range(0, len(behind), STATIONS_PER_TRANSACTION):
            chunk = [row.station for row in behind[start : start + STATIONS_PER_TRANSACTION]]
            async with db.write_transaction():
                await store.serialise(county_id)
                counted += await _count(county_id, set(chunk))
        return counted


async def _count(county_id: uuid.UUID, stations: set[uuid.UUID]) -> int:
    """Those of `stations` still behind (read again under the lock: another catch-up may have
    counted them meanwhile), their touched months recounted and their marks moved."""
    behind = [row for row in await store.behind(county_id) if row.station in stations]
    days: dict[uuid.UUID, set[datetime.date]] = defaultdict(set)
    whole: set[uuid.UUID] = set()
    for row in behind:
        if row.counted_seq == 0:
            whole.add(row.station)  # never counted: its whole history
            continue
        for station_id, day in await store.touched_days(row.station, row.counted_seq, row.last_seq):
            days[station_id].add(day)
    for station_id in whole:
        await store.recount(station_id, county_id, datetime.date.min, datetime.date.max)
    for station_id, touched in days.items():
        if station_id in whole:
            continue
        for month in {day.replace(day=1) for day in touched}:
            await store.recount(station_id, county_id, month, next_month(month))
    await store.set_marks(county_id, {row.station: row.last_seq for row in behind})
    return len(behind)


async def rebuild_county(county_id: uuid.UUID) -> int:
    """The county's groups counted again from the whole log."""
    async with db.write_transaction():
        await store.serialise(county_id)
        await store.forget(county_id)
    return await catch_up(county_id)
