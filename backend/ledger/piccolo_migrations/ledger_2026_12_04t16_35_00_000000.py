from backend.migrations import sql_migration

ID = "2026-12-04T16:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the county's adjustments (entries of a closed month) by day, read without the rest"

# The month review page lists the adjustments from the month it shows through today (up to a
# year), the province report each day's, the rollup API and the workbook a month's: by (county,
# day) alone each read every entry of those days (~5 million a year at 300 stations) to find a
# handful. Partial: no other entry pays for it.
forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    [
        'CREATE INDEX ledger_event_adjustment ON "ledger_event" ("county", "business_date") '
        'WHERE "adjusts_month" IS NOT NULL'
    ],
)
