"""The projections' rows as write_projections binds them on SQLite: the text it makes itself is
what Piccolo's adapters made of the same values."""

from __future__ import annotations

import pytest

from tests.support import push


@pytest.mark.sqlite_only
async def test_projections_are_written_as_piccolos_adapters_write_them(client, world):
    """write_projections makes SQLite's text itself (ids, moments, days): byte for byte what
    Piccolo's registered adapters made of the same values, which every reader parses."""
    import sqlite3

    from backend import db
    from tests.test_sync import every_kind

    entries = every_kind(world.household_code)
    entries[0]["occurred_at"] = "2026-12-05T09:30:15.123456+08:00"
    [first] = await push(client, world.keeper_a, entries[:1])
    entries[1]["data"]["pickup_code"] = first["pickup_code"]
    await push(client, world.keeper_a, entries[1:])
    path = db.engine().connection_kwargs["database"]
    raw = sqlite3.connect(path)
    typed = sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES)
    try:
        for table in ("ledger_parcel", "ledger_purchase", "ledger_dispatch", "ledger_cashbook"):
            query = f"SELECT * FROM {table} ORDER BY rowid"
            as_stored = raw.execute(query).fetchall()
            assert as_stored, table
            for stored, values in zip(as_stored, typed.execute(query), strict=True):
                adapted = tuple(
                    sqlite3.adapters.get((type(v), sqlite3.PrepareProtocol), lambda x: x)(v)
                    for v in values
                )
                assert stored == adapted, table
    finally:
        raw.close()
        typed.close()
