from backend.migrations import sql_migration

ID = "2026-12-02T14:35:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "one row per station and month under review"

forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    ['CREATE UNIQUE INDEX ledger_month_station_month ON "ledger_month" ("station", "month")'],
)
