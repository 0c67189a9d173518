"""A village's 贫困村 changes (registry_village_poverty): the only code that reads or writes them
(the list import's flips aside: `write_import` keeps them in its one transaction)."""

from __future__ import annotations

import datetime
import uuid

from backend import db
from backend.registry.poverty import PovertyChange
from backend.registry.tables import VillagePoverty


async def poverty_changes(
    county_id: uuid.UUID, village_id: uuid.UUID | None = None
) -> dict[uuid.UUID, list[PovertyChange]]:
    """Each village's 贫困村 changes (of the county, or of one village), oldest first."""
    query = VillagePoverty.select(
        VillagePoverty.village, VillagePoverty.poor, VillagePoverty.from_day
    ).where(VillagePoverty.county == county_id)
    if village_id is not None:
        query = query.where(VillagePoverty.village == village_id)
    changes: dict[uuid.UUID, list[PovertyChange]] = {}
    for row in await query.order_by(VillagePoverty.from_day).order_by(VillagePoverty.recorded_at):
        change = PovertyChange(db.as_date(row["from_day"]), bool(row["poor"]))
        changes.setdefault(db.as_uuid(row["village"]), []).append(change)
    return changes


async def insert_poverty_change(
    county_id: uuid.UUID, village_id: uuid.UUID, poor: bool, from_day: datetime.date
) -> None:
    await VillagePoverty.insert(
        VillagePoverty(
            id=uuid.uuid4(), county=county_id, village=village_id, poor=poor, from_day=from_day
        )
    )
