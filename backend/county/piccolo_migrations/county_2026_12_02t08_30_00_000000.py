from backend.migrations import sql_migration

ID = "2026-12-02T08:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "rollup rows by county, kind and day: the pages' check-ins read from the rollups (they were "
    "read from the cashbook and kept per process for five minutes)"
)

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    ['CREATE INDEX county_rollup_county_kind_day ON "county_rollup" ("county", "kind", "day")'],
)
