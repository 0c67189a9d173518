from backend.migrations import sql_migration

ID = "2026-12-03T17:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the county's village training sessions by day, read without the rest of the log"

# The scorecard, the training page and the workbook count the year's 村级培训 (training.attended)
# three times a page; by (county, day) alone that reads every entry of the county's year (~5
# million at 300 stations) to find a few hundred. Partial: no other entry pays for it.
forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    [
        'CREATE INDEX ledger_event_training ON "ledger_event" ("county", "business_date") '
        "WHERE \"type\" = 'training.attended'"
    ],
)
