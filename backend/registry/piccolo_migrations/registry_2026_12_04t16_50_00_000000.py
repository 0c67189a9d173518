from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T16:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "subsidy_withdraw_after_failures: failed inspections in a row that withdraw the subsidy"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="registry", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="County",
        tablename="registry_county",
        column_name="subsidy_withdraw_after_failures",
        db_column_name="subsidy_withdraw_after_failures",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 2,
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
