from backend.migrations import sql_migration

ID = "2026-12-04T20:40:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "one stored line per county and month"

forwards = sql_migration(
    ID,
    "province",
    DESCRIPTION,
    ['CREATE UNIQUE INDEX province_county_line_key ON "province_county_line" ("county", "month")'],
)
