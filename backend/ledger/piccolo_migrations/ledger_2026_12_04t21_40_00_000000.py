from backend.migrations import sql_migration

ID = "2026-12-04T21:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "no index of the entries naming a household: 惠及脱贫户 reads its own rollup now"

# 惠及脱贫户 (the households served) is counted from county_rollup_household, kept by the
# rollups' refresh and rebuild; nothing reads the log by (county, day) for household codes any
# more, and every sale, purchase and dispatch naming a household paid for this index.
forwards = sql_migration(
    ID, "ledger", DESCRIPTION, ["DROP INDEX IF EXISTS ledger_event_household"]
)
