from backend.migrations import sql_migration

ID = "2026-12-02T04:24:52:000000"
VERSION = "1.38.0"
DESCRIPTION = "a tracking number and package are on the shelf once (packages are parcels)"

forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    [
        "DROP INDEX ledger_parcel_tracking_on_shelf",
        'CREATE UNIQUE INDEX ledger_parcel_tracking_on_shelf ON "ledger_parcel" ("station", '
        "\"tracking_no\", \"package\") WHERE \"state\" = 'on_shelf'",
    ],
)
