"""The rollups keep the fees and commissions of the entries for a 脱贫户 (`poverty_fee_fen`):
what the 脱贫户 were paid out for their produce is their 代销 less the commission. Written by
hand (Piccolo's `--auto` proposes altering every column of the app); the rows already kept are
the next migration's."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rollups: the commissions of the entries for a 脱贫户 (their payout)"

TABLES = (
    ("Rollup", "county_rollup"),
    ("RollupTotal", "county_rollup_total"),
    ("FrozenRollup", "county_frozen_rollup"),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="county", description=DESCRIPTION)
    for class_name, tablename in TABLES:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name="poverty_fee_fen",
            db_column_name="poverty_fee_fen",
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
    return manager
