from backend.migrations import sql_migration

ID = "2026-12-01T08:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "parcels by county and received day: the days that came due since the last refresh"

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    [
        'CREATE INDEX county_parcel_county_received ON "ledger_parcel" '
        '("county", "received_date")',
    ],
)
