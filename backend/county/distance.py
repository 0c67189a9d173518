"""How far a check-in was made from its station (打卡位置): the great-circle distance between the
phone's position and the station file's location, and whether it is far enough to be looked at.

Both positions are WGS-84 as a phone's GPS gives them; a station placed from a Chinese web map
(GCJ-02) is off by a few hundred metres, hence the generous threshold.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_000
FAR_METRES = 1_000  # a keeper checking in further away than this is flagged for a look


def metres_between(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """The haversine distance in whole metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))


def checkin_place(
    checkin: tuple[float | None, float | None], station: tuple[float | None, float | None]
) -> dict[str, int | bool | None]:
    """`metres` from the station (None when either position is unknown) and `far`."""
    if None in checkin or None in station:
        return {"metres": None, "far": False}
    metres = metres_between(*checkin, *station)  # type: ignore[arg-type]
    return {"metres": metres, "far": metres > FAR_METRES}
