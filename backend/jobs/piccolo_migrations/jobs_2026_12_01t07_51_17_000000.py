from backend.migrations import sql_migration

ID = "2026-12-01T07:51:17:000000"
VERSION = "1.38.0"
DESCRIPTION = "a job runs once per window; the last runs of a job are read by name and start"

forwards = sql_migration(
    ID,
    "jobs",
    DESCRIPTION,
    [
        'CREATE UNIQUE INDEX jobs_run_window ON "jobs_run" ("name", "window_key")',
        'CREATE INDEX jobs_run_latest ON "jobs_run" ("name", "started_at")',
    ],
)
