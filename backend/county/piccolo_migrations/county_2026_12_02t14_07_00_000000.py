from backend.migrations import sql_migration

ID = "2026-12-02T14:07:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one target of each name per county, as a unique index"

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    ['CREATE UNIQUE INDEX county_target_county_name ON "county_target" ("county", "name")'],
)
