"""The county a staff page is about: the staff member's own county (an administrator without one
sees the first by name), as the page frame shows it — its name, its local day and time zone."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from dataclasses import dataclass

from backend import clock
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError
from backend.registry import service as registry


async def staff_county(user: CurrentUser) -> uuid.UUID:
    """The staff member's county; an administrator without one sees the first county by name."""
    if user.county_id is not None:
        return user.county_id
    counties = await registry.list_counties(user)
    if not counties:
        raise DomainError("not_found", status=404)
    return counties[0].id


@dataclass(frozen=True)
class PageCounty:
    """The county a page is about, as the frame shows it (its name, its local date and zone)."""

    id: uuid.UUID
    name: str
    timezone: zoneinfo.ZoneInfo

    @property
    def today(self) -> datetime.date:
        return clock.utcnow().astimezone(self.timezone).date()


async def page_county(county_id: uuid.UUID) -> PageCounty:
    county = await registry.get_county(county_id)
    return PageCounty(county.id, county.name, zoneinfo.ZoneInfo(county.timezone))
