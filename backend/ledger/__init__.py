"""The station ledger (台帐): immutable, hash-chained events, synced exactly once, and the
projections (parcels, purchases, cashbook) rebuilt from them."""
