from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID

from backend.migrations import drop_column_indexes

ID = "2026-12-06T06:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "no index another index already begins with: fewer to write for every pickup SMS"

# parcel → notify_villager_sms_once (parcel, kind, seq); county → notify_villager_sms_county_month
# (county, month). Both engines read a composite index by its leading columns.


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notify", description=DESCRIPTION)
    columns = [("parcel", UUID), ("county", UUID)]
    drop_column_indexes(manager, "VillagerSms", "notify_villager_sms", columns)
    return manager
