from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Date, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "station levels (乡级服务站 / 村级服务点), the day a station closed, 贫困乡镇"

_PLAIN = {
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    # Every station so far is a 村级服务点: the column's default fills the existing rows.
    manager.add_column(
        table_class_name="Station",
        tablename="registry_station",
        column_name="level",
        db_column_name="level",
        column_class_name="Varchar",
        column_class=Varchar,
        params={"length": 16, "default": "village", "null": False, **_PLAIN},
        schema=None,
    )
    manager.add_column(
        table_class_name="Station",
        tablename="registry_station",
        column_name="closed_on",
        db_column_name="closed_on",
        column_class_name="Date",
        column_class=Date,
        params={"default": None, "null": True, **_PLAIN},
        schema=None,
    )
    manager.add_column(
        table_class_name="Township",
        tablename="registry_township",
        column_name="poor",
        db_column_name="poor",
        column_class_name="Boolean",
        column_class=Boolean,
        params={"default": False, "null": False, **_PLAIN},
        schema=None,
    )
    return manager
