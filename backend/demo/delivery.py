"""The demo county's hub hand-overs (县到村 48 h), written through the delivery's own service as
the demo's hub worker: the last week's parcels of a dozen stations were handed to their routes
each morning, hours before the station scanned them in (now and then more than 48 h before), and
a few parcels are still on their way, some of them late, so the hub page's 超时未到 list and the
county's 48-hour figures have something to show."""

from __future__ import annotations

import datetime
import random
import uuid
from collections import defaultdict

from backend import clock
from backend.delivery.schemas import HubDispatch
from backend.delivery.service import dispatch
from backend.demo.programme import demo_user
from backend.ledger.reads import list_parcels

ROUTES = 12  # the stations whose parcels come through the hub
WEEK = datetime.timedelta(days=7)
HOUR = datetime.timedelta(hours=1)
OPEN = [  # (station index, hours ago): handed over, not received yet; late past 48 h
    (0, 70),
    (2, 55),
    (2, 52),
    (5, 90),
    (1, 20),
    (3, 6),
    (4, 2),
]


def _scan(tracking_no: str, package: str | None) -> str:
    """A parcel as the hub's gun reads it (a JD package as JD…-n-m-)."""
    if not package:
        return tracking_no
    number, total = package.split("/")
    return f"{tracking_no}-{number}-{total}-"


async def write_hub_legs(county_id: uuid.UUID, hub_phone: str, station_ids: list[uuid.UUID]) -> int:
    """Returns how many parcels were handed over."""
    rng = random.Random(48)
    hub = await demo_user(hub_phone)
    now = clock.utcnow()
    handed = 0
    for station_id in station_ids[:ROUTES]:
        parcels = await list_parcels(station_id, "all", unmasked=False, limit=300)
        # One hand-over a day: the day's parcels left the hub before the first of them arrived.
        by_day: dict[datetime.date, list] = defaultdict(list)
        for parcel in parcels:
            if now - parcel.received_at < WEEK:
                by_day[parcel.received_at.date()].append(parcel)
        for day in sorted(by_day):
            first = min(parcel.received_at for parcel in by_day[day])
            hours = rng.uniform(49, 60) if rng.random() < 0.08 else rng.uniform(3, 30)
            numbers = [_scan(parcel.tracking_no, parcel.package) for parcel in by_day[day]]
            data = HubDispatch(station_id=station_id, tracking_nos=numbers[:500])
            answer = await dispatch(hub, county_id, data, at=first - hours * HOUR)
            handed += answer.created
    for index, hours_ago in OPEN:
        number = f"YT{rng.randrange(10**12, 10**13)}"
        data = HubDispatch(station_id=station_ids[index], tracking_nos=[number])
        answer = await dispatch(hub, county_id, data, at=now - hours_ago * HOUR)
        handed += answer.created
    return handed
