from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID

ID = "2026-12-06T06:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "no index another index already begins with: fewer to write for every pickup SMS"

# parcel → notify_villager_sms_once (parcel, kind, seq); county → notify_villager_sms_county_month
# (county, month). Both engines read a composite index by its leading columns.
DROPPED = ["parcel", "county"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notify", description=DESCRIPTION)
    for column in DROPPED:
        manager.alter_column(
            table_class_name="VillagerSms",
            tablename="notify_villager_sms",
            column_name=column,
            db_column_name=column,
            params={"index": False},
            old_params={"index": True},
            column_class=UUID,
            old_column_class=UUID,
            schema=None,
        )
    return manager
