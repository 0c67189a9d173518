from backend.migrations import sql_migration

ID = "2026-11-23T00:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the rollups' keys and the one-report-per-day rule as unique indexes"

forwards = sql_migration(
    ID,
    "county",
    DESCRIPTION,
    [
        'CREATE UNIQUE INDEX county_rollup_key ON "county_rollup" ("station", "day", "kind")',
        'CREATE INDEX county_rollup_county_day ON "county_rollup" ("county", "day")',
        'CREATE UNIQUE INDEX county_rollup_total_key ON "county_rollup_total" '
        '("county", "day", "kind")',
        # A day is reported once: its row is claimed, sent and never sent again.
        'CREATE UNIQUE INDEX county_province_report_day ON "county_province_report" '
        '("county", "day")',
        'CREATE INDEX county_province_report_due ON "county_province_report" '
        '("state", "next_attempt_at")',
    ],
)
