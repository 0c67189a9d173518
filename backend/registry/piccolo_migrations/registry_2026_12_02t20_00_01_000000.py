"""Every station gets the day it opened and, when closed, the day it closed, as the county's
calendar has them: a station with no opening day opened on the day it was created (county-local),
a closed one closed on the day it was closed (county-local). Coverage as of a day reads both."""

import datetime
import zoneinfo

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T20:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "stations' opening and closing days from when they were created and closed"


def _local_day(moment, zone: str) -> datetime.date:
    from backend import db

    return db.as_moment(moment).astimezone(zoneinfo.ZoneInfo(zone)).date()


async def fill_dates() -> None:
    from backend import db

    async with db.write_transaction():
        rows = await db.fetch(
            "SELECT s.id, s.created_at, s.opened_on, s.closed_at, s.closed_on, c.timezone "
            "FROM registry_station s JOIN registry_county c ON c.id = s.county "
            "WHERE s.opened_on IS NULL OR (s.closed_at IS NOT NULL AND s.closed_on IS NULL)"
        )
        for row in rows:
            opened = row["opened_on"]
            if opened is None:
                opened = _local_day(row["created_at"], row["timezone"])
                await db.execute(
                    "UPDATE registry_station SET opened_on = $1 WHERE id = $2", opened, row["id"]
                )
            if row["closed_at"] is not None and row["closed_on"] is None:
                closed = max(_local_day(row["closed_at"], row["timezone"]), db.as_date(opened))
                await db.execute(
                    "UPDATE registry_station SET closed_on = $1 WHERE id = $2", closed, row["id"]
                )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    manager.add_raw(fill_dates)
    return manager
