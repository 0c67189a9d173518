from backend.migrations import sql_migration

ID = "2026-12-01T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "parcels by station and received day or tracking number, for the rollups' overdue figures"
)

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    [
        'CREATE INDEX county_parcel_station_received ON "ledger_parcel" '
        '("station", "received_date")',
        'CREATE INDEX county_parcel_station_tracking ON "ledger_parcel" ("station", "tracking_no")',
    ],
)
