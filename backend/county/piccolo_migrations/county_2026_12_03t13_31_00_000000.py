from backend.migrations import sql_migration

ID = "2026-12-03T13:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one frozen row per station and month, per station, day and kind, as unique indexes"

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    [
        'CREATE UNIQUE INDEX county_frozen_month_key ON "county_frozen_month" ("station", "month")',
        'CREATE UNIQUE INDEX county_frozen_rollup_key ON "county_frozen_rollup" '
        '("station", "day", "kind")',
    ],
)
