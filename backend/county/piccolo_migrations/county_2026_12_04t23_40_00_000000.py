"""county_sale_month: each station's standing 代销 per month, grouped as the product sales page
shows them, and county_sale_month_mark: how far each station's chain is counted into it (county/
sale_months.py). Written by hand like the year to date's rollups; the keys are the next
migration's. Empty at first: the first read of a county's product sales counts its history."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, BigInt, Date, DoublePrecision, Integer, Text
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod

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
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params={
                    "null": False,
                    "primary_key": False,
                    "unique": False,
                    "index": False,
                    "index_method": IndexMethod.btree,
                    "choices": None,
                    "db_column_name": None,
                    "secret": False,
                    **params,
                },
                schema=None,
            )
    return manager
