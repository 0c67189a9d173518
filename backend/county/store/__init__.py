"""The county's store: the only code that touches the county_* tables (rollup_rows.py,
reports.py), and, read-only, the other capabilities' tables the county's figures and review pages
need (places.py, ledger_reads.py)."""
