"""Trace points (溯源点, 001 大冶: 「建设农产品溯源点5家以上」): the places the county's traced
produce comes from, one read model for the API, the trace page and the target `trace_points`.

A batch's origin is its household (the producer) when it names one, else the station that packed
it, else its village; a batch naming none of them has no known origin and makes no point. A point
counts from the county-local day its first batch was registered, so the count on any day is the
origins of the batches registered by then: points are built, never lost (a county's 溯源点
建设 is cumulative over the programme).

    trace_points(county_id, on) -> TracePoints
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo

import msgspec

from backend.registry import service as registry
from backend.trace import store

KINDS = ("household", "station", "village")


class TracePoints(msgspec.Struct):
    on: datetime.date  # county-local: batches registered on or before it
    points: int  # distinct origins
    by_kind: dict[str, int]  # household | station | village → points of that kind
    batches: int  # the batches registered by `on`, with or without a known origin


def origin(batch: store.BatchRow) -> tuple[str, uuid.UUID] | None:
    for kind, place in zip(KINDS, (batch.household, batch.station, batch.village), strict=True):
        if place is not None:
            return kind, place
    return None


async def trace_points(county_id: uuid.UUID, on: datetime.date) -> TracePoints:
    zone = zoneinfo.ZoneInfo((await registry.get_county(county_id)).timezone)
    registered = [
        batch
        for batch in await store.batches(county_id)
        if batch.created_at.astimezone(zone).date() <= on
    ]
    origins = {found for batch in registered if (found := origin(batch)) is not None}
    return TracePoints(
        on=on,
        points=len(origins),
        by_kind={kind: sum(1 for found in origins if found[0] == kind) for kind in KINDS},
        batches=len(registered),
    )
