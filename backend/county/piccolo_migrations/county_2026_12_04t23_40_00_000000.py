"""county_sale_month: each station's standing 代销 per month, grouped as the product sales page
shows them, and county_sale_month_mark: how far each station's chain is counted into it (county/
sale_months.py). Written by hand like the year to date's rollups; the keys are the next
migration's. Empty at first: the first read of a county's product sales counts its history."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, BigInt, Date, DoublePrecision, Integer, Text
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.uuid import UUID4

from backend.migrations import add_table

ID = "2026-12-04T23:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "county_sale_month, county_sale_month_mark: the product sales' monthly groups"

SALE_COLUMNS = (
    ("station", UUID, {"default": UUID4()}),
    ("county", UUID, {"default": UUID4()}),
    ("month", Date, {"default": DateNow()}),
    ("product", Text, {"default": ""}),
    ("product_code", Text, {"default": ""}),
    ("unit", Text, {"default": ""}),
    ("batch_code", Text, {"default": ""}),
    ("sales", Integer, {"default": 0}),
    ("quantity", DoublePrecision, {"default": 0.0}),
    ("amount_fen", BigInt, {"default": 0}),
)
MARK_COLUMNS = (
    ("station", UUID, {"default": UUID4(), "primary_key": True}),
    ("county", UUID, {"default": UUID4(), "index": True}),
    ("counted_seq", Integer, {"default": 0}),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="county", description=DESCRIPTION)
    tables = (
        ("SaleMonth", "county_sale_month", SALE_COLUMNS),
        ("SaleMonthMark", "county_sale_month_mark", MARK_COLUMNS),
    )
    for class_name, tablename, columns in tables:
        add_table(manager, class_name, tablename, columns)
    return manager
