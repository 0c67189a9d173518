"""county_rollup_household_month: the distinct households each county's stations served per month
(store/rollup_households.py), read by the year to date's 惠及脱贫户. Written by hand like the year
to date's rollups; its key and its rows are the next migration's."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Date, Varchar
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod

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
    class_name, tablename = "RollupHouseholdMonth", "county_rollup_household_month"
    manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                **params,
                "null": False,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
            },
            schema=None,
        )
    return manager
