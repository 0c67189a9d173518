"""Every accepted entry writes a row of the log and one of its projections, and each of their
indexes with it. An index whose columns a wider one of the same table begins with answers no
read the wider one cannot (both engines read a composite index by its leading columns), yet
every entry pays to write it: issue 17 dropped six such indexes and the writer's CPU per entry
fell by 7–12 %. This holds the migrated schema, on the engine under test, to
that, so one added back by `index=True` on a column is caught here."""

from __future__ import annotations

from typing import NamedTuple

from backend import db

# The tables a push writes for its entries (backend/ledger/store/, notify.villagers).
WRITTEN_PER_ENTRY = [
    "ledger_event",
    "ledger_parcel",
    "ledger_dispatch",
    "ledger_purchase",
    "ledger_cashbook",
    "ledger_reversal",
    "notify_villager_sms",
]


class Index(NamedTuple):
    columns: list[str]
    unique: bool  # it holds a rule, not only speeds reads up
    partial: bool  # it covers some rows only


async def _sqlite_indexes(table: str) -> dict[str, Index]:
    found = {}
    for index in await db.fetch(f"PRAGMA index_list('{table}')"):
        columns = [c["name"] for c in await db.fetch(f"PRAGMA index_info('{index['name']}')")]
        found[index["name"]] = Index(columns, bool(index["unique"]), bool(index["partial"]))
    return found


async def _postgres_indexes(table: str) -> dict[str, Index]:
    rows = await db.fetch(
        "SELECT i.relname AS name, x.indisunique AS is_unique, x.indpred IS NOT NULL AS partial, "
        "array_agg(a.attname ORDER BY k.n) AS columns "
        "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE t.relname = $1 GROUP BY i.relname, x.indisunique, x.indpred",
        table,
    )
    return {r["name"]: Index(list(r["columns"]), r["is_unique"], r["partial"]) for r in rows}


async def _redundant(table: str) -> list[str]:
    """The plain indexes of `table` whose columns begin a wider index that covers every row."""
    async with db.read_transaction():
        indexes = await (_sqlite_indexes if db.is_sqlite() else _postgres_indexes)(table)
    return [
        f"{table}.{name} {index.columns} begins {other} {wider.columns}"
        for name, index in indexes.items()
        if not index.unique and not index.partial
        for other, wider in indexes.items()
        if not wider.partial
        and len(wider.columns) > len(index.columns)
        and wider.columns[: len(index.columns)] == index.columns
    ]


async def test_no_index_of_an_entry_s_tables_is_the_beginning_of_a_wider_one(client):
    redundant = [found for table in WRITTEN_PER_ENTRY for found in await _redundant(table)]
    assert redundant == []


async def test_the_check_finds_such_an_index_when_there_is_one(client):
    """The check itself: an index on ledger_event's county alone (as `index=True` made it before
    issue 17) is found, beside ledger_event_county_date (county, business_date)."""
    async with db.write_transaction():
        await db.execute('CREATE INDEX test_event_county ON "ledger_event" ("county")')
    try:
        found = await _redundant("ledger_event")
        assert len(found) == 1 and found[0].startswith("ledger_event.test_event_county ")
        assert "ledger_event_county_date" in found[0]
    finally:
        async with db.write_transaction():
            await db.execute("DROP INDEX test_event_county")
