"""The keys of county_sale_month (the previous migration): one row per station, month and group;
the county's rows read in the order they are summed."""

from backend.migrations import sql_migration

ID = "2026-12-04T23:40:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "county_sale_month: its keys"

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    [
        'CREATE UNIQUE INDEX county_sale_month_key ON "county_sale_month" '
        '("station", "month", "product", "product_code", "unit", "batch_code")',
        'CREATE INDEX county_sale_month_county ON "county_sale_month" ("county")',
    ],
)
