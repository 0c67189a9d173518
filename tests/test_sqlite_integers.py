"""INTEGER columns on SQLite are read by `sqlite_engine.integer_out`, `int` on the stored text,
instead of Piccolo's converter (text → Decimal → int, half the read of a month of a county's
rollups). Every value reads as Piccolo read it: the largest and smallest fen amounts SQLite
holds, zero, negatives, a number stored as text, and what `int` cannot read (a real stored in
an INTEGER column, which Piccolo truncates) goes Piccolo's way."""

from __future__ import annotations

import random

import pytest
from piccolo.engine.sqlite import convert_int_out

from backend import db

pytestmark = pytest.mark.sqlite_only

PROBE = "CREATE TABLE IF NOT EXISTS test_integer_probe (n INTEGER)"
EDGES = [0, 1, -1, 2**63 - 1, -(2**63), 12_345_678_901_234, "42", "-7", 2.5, -2.5, 1e3, None]


async def _read_back(values: list) -> list[tuple]:
    async with db.write_transaction():
        await db.execute(PROBE)
        await db.execute("DELETE FROM test_integer_probe")
        await db.executemany(
            "INSERT INTO test_integer_probe (n) VALUES ($1)",
            [(value,) for value in values],
        )
    async with db.read_transaction():
        # The stored value's text is what a converter is handed.
        rows = await db.fetch(
            "SELECT n, CAST(n AS TEXT) AS stored FROM test_integer_probe ORDER BY rowid"
        )
    return [(row["n"], row["stored"]) for row in rows]


async def test_integers_read_as_piccolo_read_them(client):
    rng = random.Random(17)
    generated = [rng.randrange(-(2**63), 2**63) for _ in range(500)]
    generated += [rng.randrange(-(10**6), 10**6) / 4 for _ in range(100)]  # reals, some integral
    for value, stored in await _read_back(EDGES + generated):
        if stored is None:
            assert value is None
            continue
        expected = convert_int_out(stored.encode())
        assert value == expected and type(value) is int, (stored, value, expected)


async def test_a_real_in_an_integer_column_is_truncated_as_before(client):
    """2.5 stays a REAL under INTEGER affinity (7.0 becomes the integer 7): `int` cannot read
    '2.5', so it goes Piccolo's way, which truncates toward zero."""
    assert await _read_back([2.5, -2.5, 7.0]) == [(2, "2.5"), (-2, "-2.5"), (7, "7")]
