from backend.migrations import sql_migration

ID = "2026-12-06T12:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a month's claims read from ledger_dispatch_claim alone, in the order they are paid"

# The workbook's 补贴明细 reads every qualifying dispatch of the month (~54,000 at 300 stations
# and 5 M events) in the order the cap pays them: by day, then as the server received them, then
# by id. Through (county, business_date, reversed, farm_product, station, tracking_no) each row
# was looked up in the table (~200 ms) and the rows sorted again (~120 ms). Keyed by (county,
# reversed, business_date, received_at, id) and holding every column the sheet shows, the index
# gives them in that order by itself; the reads it served before (the counts per station, the
# contested numbers, a household's dispatches) find all their columns in it still. One index
# replaces another: a dispatch still writes as many.
forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    [
        "DROP INDEX ledger_dispatch_claim",
        'CREATE INDEX ledger_dispatch_claim ON "ledger_dispatch" ("county", "reversed", '
        '"business_date", "received_at", "id", "farm_product", "station", "tracking_no", '
        '"carrier", "weight_g", "household_code")',
    ],
)
