from backend.migrations import sql_migration

ID = "2026-12-02T14:04:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "one leg per round of a parcel to a station; legs by county and time, and by number"

forwards = sql_migration(
    ID,
    "delivery",
    DESCRIPTION,
    [
        'CREATE UNIQUE INDEX delivery_leg_round ON "delivery_leg" '
        '("station", "tracking_no", "package", "round")',
        'CREATE INDEX delivery_leg_county_time ON "delivery_leg" ("county", "dispatched_at")',
        'CREATE INDEX delivery_leg_number ON "delivery_leg" ("tracking_no")',
    ],
)
