"""county_rollup_household_month: the distinct households each county's stations served per month
(store/rollup_households.py), read by the year to date's 惠及脱贫户. Written by hand like the year
to date's rollups; its key and its rows are the next migration's."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Date, Varchar
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.uuid import UUID4

from backend.migrations import add_table

ID = "2026-12-06T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "county_rollup_household_month: the households served per county and month"

COLUMNS = (
    ("county", UUID, {"default": UUID4()}),
    ("month", Date, {"default": DateNow()}),
    ("household_code", Varchar, {"default": "", "length": 64}),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="county", description=DESCRIPTION)
    add_table(manager, "RollupHouseholdMonth", "county_rollup_household_month", COLUMNS)
    return manager
