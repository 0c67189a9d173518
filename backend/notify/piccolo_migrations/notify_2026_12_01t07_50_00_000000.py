from backend.migrations import sql_migration

ID = "2026-12-01T07:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notify's invariants as indexes"

forwards = sql_migration(
    ID,
    "notify",
    DESCRIPTION,
    [
        # One message per keeper per dedupe key: a second job run in the same window sends nothing.
        'CREATE UNIQUE INDEX notify_inbox_keeper_dedupe ON "notify_inbox_item" '
        '("keeper", "dedupe_key")',
        # The outbox: pending items whose claim ran out are picked up again.
        'CREATE INDEX notify_inbox_pending ON "notify_inbox_item" ("chain_state", "claimed_until")',
        'CREATE INDEX notify_delivery_county_at ON "notify_delivery" ("county", "at")',
        'CREATE INDEX notify_delivery_station_at ON "notify_delivery" ("station", "at")',
        'CREATE INDEX notify_delivery_subscription ON "notify_delivery" ("subscription")',
    ],
)
