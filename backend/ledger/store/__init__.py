"""The only code that reads or writes the ledger's tables (`ledger_*`): `events` (the log, the
chain heads, conflicts), `projections` (parcels, purchases, dispatches, reversals, the cashbook)
and `stations` (the registry facts the ledger judges events by)."""
