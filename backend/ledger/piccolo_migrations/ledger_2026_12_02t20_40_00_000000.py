from backend.migrations import sql_migration

ID = "2026-12-02T20:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the county's parcels by day received, station and carrier, read from the index alone"

# Courier reach (which carriers deliver to which stations in a month) counts a month of the
# county's receipts per station and carrier; without it the count reads every parcel the county
# ever received (the county index) and its rows.
forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    [
        'CREATE INDEX ledger_parcel_county_received ON "ledger_parcel" ("county", '
        '"received_date", "station", "carrier")'
    ],
)
