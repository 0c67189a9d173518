"""Station standards (六统一) judged as the county's targets: the shares of the stations open today
that have the four required items and the programme's sign (registry/standards.py counts them,
from the station files as last saved; a file keeps no history, so these are today's, whatever
month is asked for).

    standards_pct(county_id, wanted) -> {"stations_equipped_pct", "stations_signage_pct"}
    standards_rows(figures) -> the coverage page's rows: [{"name", "stations", "total", "pct"}]
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.county.definitions import share_pct
from backend.registry import standards as registry_standards

# Target name → the count of stations it is a share of.
STANDARDS = {"stations_equipped_pct": "equipped", "stations_signage_pct": "signage"}


async def standards_pct(county_id: uuid.UUID, wanted: set[str]) -> dict[str, float | None]:
    """Counted only when one of the two targets is asked for (it reads every station file)."""
    if not wanted & set(STANDARDS):
        return dict.fromkeys(STANDARDS)
    figures = await registry_standards.county_standards(county_id)
    return {
        name: share_pct(getattr(figures, field), figures.stations)
        for name, field in STANDARDS.items()
    }


def standards_rows(figures: registry_standards.StationStandards) -> list[dict[str, Any]]:
    """Each figure of the standard as stations of the open ones and their share: the required
    items together, each item, the sign and the photos, then the keepers' attributes."""
    counts = {
        "equipped": figures.equipped,
        **figures.equipment,
        "has_signage": figures.signage,
        "front_photos": figures.front_photos,
        "sign_photos": figures.sign_photos,
        **figures.keepers,
    }
    return [
        {
            "name": name,
            "stations": n,
            "total": figures.stations,
            "pct": share_pct(n, figures.stations),
        }
        for name, n in counts.items()
    ]
