"""The keys of county_rollup_month and county_rollup_household (the previous migration), and
their rows: the counties' rollup states are dropped, so the rollup job (or else the next read of
a county's figures) rebuilds each county from the log and fills them. docs/deploy.md: run the
rollup job after migrating."""

from backend.migrations import sql_migration

ID = "2026-12-04T21:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "the year to date's rollups: their keys; the rollups rebuilt to fill them"

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    [
        'CREATE UNIQUE INDEX county_rollup_month_key ON "county_rollup_month" '
        '("station", "month", "kind")',
        'CREATE INDEX county_rollup_month_county ON "county_rollup_month" ("county", "month")',
        'CREATE UNIQUE INDEX county_rollup_household_key ON "county_rollup_household" '
        '("station", "day", "household_code")',
        # Covering: a year's distinct households per station read from the index alone.
        'CREATE INDEX county_rollup_household_county ON "county_rollup_household" '
        '("county", "day", "station", "household_code")',
        "DELETE FROM county_rollup_state",
    ],
)
