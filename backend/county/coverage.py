"""The one definition of coverage by level (覆盖率), as of a county-local day. Pure arithmetic over
the registry's places and stations (figures.coverage reads them and the rollups).

- A station is built on `day` when opened_on <= day and (closed_on is None or closed_on > day).
- It is active on `day` when it is built and recorded an entry other than a check-in (the
  overview's activity: a reversal and the overdue count are no service) in the 30 days up to
  `day` (day - 29 … day).
- A township is covered when a 乡级服务站 (level `township`) of it is built; a village when a
  村级服务点 (level `village`) in it is built. A 乡级服务站 sits in a village (its seat) but does
  not cover that village: the programme counts the two networks apart (001 大冶: 14 镇级 and 161
  村级; 004 鲁甸: 12 乡镇 and 49 行政村 points).
- Poor villages (贫困村) and poor townships (贫困乡镇) are covered the same way; the poor villages
  not covered are listed (where the next 村级服务点 matters most). A village is a 贫困村 on `day`
  by its flag of that day (registry/poverty.py), so a past day's coverage is the past's.
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from backend.county.store.places import BuiltStation, CountyRow, CoveragePlaces
from backend.registry import opening

ACTIVE_DAYS = 30
LEVELS = ("township", "village")
# 贫困乡镇服务站覆盖率达100% (004 鲁甸): no setting of its own.
POOR_TOWNSHIP_TARGET_PCT = 100


def built_on(station: BuiltStation, day: datetime.date) -> bool:
    return opening.built_on(station.opened_on, station.closed_on, day)


def active_since(day: datetime.date) -> datetime.date:
    """The first day of the activity window that ends on `day`."""
    return day - datetime.timedelta(days=ACTIVE_DAYS - 1)


def _measure(
    ids: list[uuid.UUID], built: set[uuid.UUID], active: set[uuid.UUID], target: int
) -> dict[str, Any]:
    total = len(ids)
    covered = sum(1 for place in ids if place in built)
    covered_active = sum(1 for place in ids if place in active)

    def pct(n: int) -> float:
        return round(100.0 * n / total, 1) if total else 0.0

    return {
        "total": total,
        "covered": covered,
        "pct": pct(covered),
        "target_pct": target,
        "met": total > 0 and pct(covered) >= target,
        "active_covered": covered_active,
        "active_pct": pct(covered_active),
    }


def _places_of(stations: Iterable[BuiltStation], level: str) -> set[uuid.UUID]:
    """The townships (level township) or villages (level village) these stations cover."""
    if level == "township":
        return {s.township_id for s in stations if s.level == "township"}
    return {s.village_id for s in stations if s.level == "village"}


def coverage_on(
    county: CountyRow,
    places: CoveragePlaces,
    day: datetime.date,
    recorded: set[uuid.UUID],
) -> dict[str, Any]:
    """Coverage on `day`; `recorded`: the stations with an entry (check-ins aside) in the 30 days
    up to it."""
    built = [s for s in places.stations if built_on(s, day)]
    active = [s for s in built if s.id in recorded]
    townships_built, townships_active = (
        _places_of(built, "township"),
        _places_of(active, "township"),
    )
    villages_built, villages_active = _places_of(built, "village"), _places_of(active, "village")
    township_ids = [t.id for t in places.townships]
    village_ids = [v.id for v in places.villages]
    poor_township_ids = [t.id for t in places.townships if t.poor]
    # A village is counted as a 贫困村 by its flag on that day (registry/poverty.py).
    poor_then = {v.id for v in places.villages if v.poor_on(day)}
    poor_village_ids = [v.id for v in places.villages if v.id in poor_then]
    names = {t.id: t.name for t in places.townships}
    per_level = {
        level: {
            "built": sum(1 for s in built if s.level == level),
            "active": sum(1 for s in active if s.level == level),
        }
        for level in LEVELS
    }
    township_stations = Counter(s.township_id for s in built if s.level == "township")
    village_stations = Counter(s.township_id for s in built if s.level == "village")
    by_township = []
    for township in places.townships:
        mine = [v for v in places.villages if v.township_id == township.id]
        by_township.append(
            {
                "id": township.id,
                "name": township.name,
                "poor": township.poor,
                "township_stations": township_stations[township.id],
                "village_stations": village_stations[township.id],
                "villages": len(mine),
                "villages_covered": sum(1 for v in mine if v.id in villages_built),
                "poor_villages": sum(1 for v in mine if v.id in poor_then),
                "poor_villages_covered": sum(
                    1 for v in mine if v.id in poor_then and v.id in villages_built
                ),
            }
        )
    return {
        "on": day,
        "active_from": active_since(day),
        "stations": per_level,
        "townships": _measure(
            township_ids, townships_built, townships_active, county.target_township_pct
        ),
        "villages": _measure(
            village_ids, villages_built, villages_active, county.target_village_pct
        ),
        "poor_villages": _measure(
            poor_village_ids, villages_built, villages_active, county.target_poor_village_pct
        ),
        "poor_townships": _measure(
            poor_township_ids, townships_built, townships_active, POOR_TOWNSHIP_TARGET_PCT
        ),
        # Where the next 村级服务点 matters most: the poor villages none covers on that day.
        "poor_villages_without_station": [
            {"id": v.id, "name": v.name, "township": names.get(v.township_id, "")}
            for v in places.villages
            if v.id in poor_then and v.id not in villages_built
        ],
        "by_township": by_township,
    }
