from backend.migrations import sql_migration

ID = "2026-11-22T23:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the ledger's invariants as unique indexes"

forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    [
        # One position per station in the chain: two writers cannot both take seq N.
        'CREATE UNIQUE INDEX ledger_event_station_seq ON "ledger_event" ("station", "seq")',
        'CREATE INDEX ledger_event_station_date ON "ledger_event" ("station", "business_date")',
        'CREATE INDEX ledger_event_county_date ON "ledger_event" ("county", "business_date")',
        # A pickup code names one parcel on the shelf; a tracking number is on the shelf once.
        'CREATE UNIQUE INDEX ledger_parcel_code_on_shelf ON "ledger_parcel" ("station", '
        "\"pickup_code\") WHERE \"state\" = 'on_shelf'",
        'CREATE UNIQUE INDEX ledger_parcel_tracking_on_shelf ON "ledger_parcel" ("station", '
        "\"tracking_no\") WHERE \"state\" = 'on_shelf'",
        'CREATE INDEX ledger_parcel_closed_event ON "ledger_parcel" ("closed_event")',
        'CREATE INDEX ledger_purchase_delivered_event ON "ledger_purchase" ("delivered_event")',
        # A station dispatches a tracking number once (unless that entry was reversed).
        'CREATE UNIQUE INDEX ledger_dispatch_live_tracking ON "ledger_dispatch" ("station", '
        '"tracking_no") WHERE "reversed" = false',
        'CREATE INDEX ledger_dispatch_county_date ON "ledger_dispatch" ("county", "business_date")',
        'CREATE UNIQUE INDEX ledger_cashbook_key ON "ledger_cashbook" ("station", "day", "kind")',
    ],
)
