from backend.migrations import sql_migration

ID = "2026-12-03T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the month's dispatches and a tracking number's claims, read from the indexes alone"

# The subsidy claims page counts a month's qualifying dispatches per station (~29,000 at 300
# stations) and finds the tracking numbers dispatched more than once in the county: by (county,
# day) and by tracking number alone each of those read every dispatch's row.
forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    [
        'CREATE INDEX ledger_dispatch_claim ON "ledger_dispatch" ("county", "business_date", '
        '"reversed", "farm_product", "station", "tracking_no")',
        'CREATE INDEX ledger_dispatch_tracking_claim ON "ledger_dispatch" ("tracking_no", '
        '"county", "reversed", "farm_product")',
    ],
)
