from backend.migrations import sql_migration

ID = "2026-12-04T23:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a stored line keeps the moment its county's rollups had last moved when counted"

forwards = sql_migration(
    ID,
    "province",
    DESCRIPTION,
    ['ALTER TABLE "province_county_line" ADD COLUMN "rollups_as_of" TIMESTAMPTZ DEFAULT null'],
)
