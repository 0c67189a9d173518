from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T08:01:38:764439"
VERSION = "1.38.0"
DESCRIPTION = "rollups: the farm sales' amounts; the catalogue rule they were computed with"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="county", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Rollup",
        tablename="county_rollup",
        column_name="farm_amount_fen",
        db_column_name="farm_amount_fen",
        column_class_name="BigInt",
        column_class=BigInt,
        params={
            "default": 0,
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

    manager.add_column(
        table_class_name="RollupTotal",
        tablename="county_rollup_total",
        column_name="farm_amount_fen",
        db_column_name="farm_amount_fen",
        column_class_name="BigInt",
        column_class=BigInt,
        params={
            "default": 0,
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

    manager.add_column(
        table_class_name="RollupState",
        tablename="county_rollup_state",
        column_name="products_hash",
        db_column_name="products_hash",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
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

    return manager
