from backend.migrations import sql_migration

ID = "2026-12-02T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "parcels found by tracking number across stations (the villagers' public tracking)"

forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    ['CREATE INDEX ledger_parcel_tracking_no ON "ledger_parcel" ("tracking_no")'],
)
