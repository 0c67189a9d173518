from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T14:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "village codes for the bulk import; a household is not poor unless marked"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="registry", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Village",
        tablename="registry_village",
        column_name="code",
        db_column_name="code",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 16,
            "default": "",
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

    # SQLite cannot change a column's default (ALTER COLUMN); every insert names `poverty`
    # anyway, so only PostgreSQL's stored default changes.
    from backend.db import engine

    if engine().engine_type != "sqlite":
        manager.alter_column(
            table_class_name="Household",
            tablename="registry_household",
            column_name="poverty",
            db_column_name="poverty",
            params={"default": False},
            old_params={"default": True},
            column_class=Boolean,
            old_column_class=Boolean,
            schema=None,
        )

    return manager
