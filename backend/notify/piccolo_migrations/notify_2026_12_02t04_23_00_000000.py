from backend.migrations import sql_migration

ID = "2026-12-02T04:23:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "villager SMS: one per parcel, kind and number; the outbox and monthly counts"

forwards = sql_migration(
    ID,
    "notify",
    DESCRIPTION,
    [
        # Exactly once: a retried sync or a second job run cannot write a second notice.
        'CREATE UNIQUE INDEX notify_villager_sms_once ON "notify_villager_sms" '
        '("parcel", "kind", "seq")',
        'CREATE INDEX notify_villager_sms_state ON "notify_villager_sms" ("state", "created_at")',
        'CREATE INDEX notify_villager_sms_county_month ON "notify_villager_sms" '
        '("county", "month")',
    ],
)
