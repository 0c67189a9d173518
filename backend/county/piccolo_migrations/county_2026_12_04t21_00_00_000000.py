"""county_rollup_month: the daily rollups summed per station, month and kind (store/
rollup_months.py); county_rollup_household: the households each station served per day (store/
rollup_households.py). Both read by the year-to-date figures. Written by hand (Piccolo's `--auto` proposes
altering every column of the app); its keys and the rebuild that fills it are the next
migration's (Piccolo runs a migration's raw SQL before its new tables)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, BigInt, Date, Integer, Varchar
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.uuid import UUID4

from backend.migrations import add_table

ID = "2026-12-04T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "county_rollup_month, county_rollup_household: the year to date's rollups"

HOUSEHOLD_COLUMNS = (
    ("station", UUID, {"default": UUID4()}),
    ("county", UUID, {"default": UUID4()}),
    ("day", Date, {"default": DateNow()}),
    ("household_code", Varchar, {"default": "", "length": 64}),
)
COLUMNS = (
    ("station", UUID, {"default": UUID4()}),
    ("county", UUID, {"default": UUID4()}),
    ("month", Date, {"default": DateNow()}),
    ("kind", Varchar, {"default": "", "length": 32}),
    ("count", Integer, {"default": 0}),
    ("amount_fen", BigInt, {"default": 0}),
    ("fee_fen", BigInt, {"default": 0}),
    ("farm_count", Integer, {"default": 0}),
    ("poverty_count", Integer, {"default": 0}),
    ("poverty_amount_fen", BigInt, {"default": 0}),
    ("farm_amount_fen", BigInt, {"default": 0}),
    ("poverty_fee_fen", BigInt, {"default": 0}),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="county", description=DESCRIPTION)
    tables = (
        ("RollupMonth", "county_rollup_month", COLUMNS),
        ("RollupHousehold", "county_rollup_household", HOUSEHOLD_COLUMNS),
    )
    for class_name, tablename, columns in tables:
        add_table(manager, class_name, tablename, columns)
    return manager
