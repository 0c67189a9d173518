from backend.migrations import sql_migration

ID = "2026-12-03T17:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the county's entries of one type by day; the carriers' parcels read from the index"

# The kpis (and the province page, which reads every county's) read a few types of the county's
# entries over the year or since the programme's start: the keepers' village training sessions,
# the sales, purchases and dispatches naming a household, every standing sale. By (county, day)
# alone each of those reads every entry of the county in the range; by (county, type, day) only
# its own type. Courier reach counts parcels not reversed: with the state in the index it never
# reads the parcels' rows.
forwards = sql_migration(
    ID,
    "ledger",
    DESCRIPTION,
    [
        'CREATE INDEX ledger_event_county_type_date ON "ledger_event" ("county", "type", '
        '"business_date")',
        'CREATE INDEX ledger_parcel_county_received_state ON "ledger_parcel" ("county", '
        '"received_date", "station", "carrier", "state")',
        "DROP INDEX ledger_parcel_county_received",
    ],
)
