from backend.migrations import sql_migration

ID = "2026-12-02T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a reported day is re-sent as a new revision when its figures change"

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    ['ALTER TABLE "county_province_report" ADD COLUMN "revision" INTEGER NOT NULL DEFAULT 1'],
)
