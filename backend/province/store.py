"""The stored county lines (tables.StoredLine): read by (county, month), written whole."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db

Key = tuple[uuid.UUID, str]  # (county, 'YYYY-MM')


class Kept(msgspec.Struct, frozen=True):
    line: str  # the line's JSON
    counted_at: datetime.datetime
    rollups_as_of: datetime.datetime | None  # when the county's rollups had last moved then


async def lines(keys: list[Key]) -> dict[Key, Kept]:
    """(county, month) → the kept line, for the keys that have one."""
    if not keys:
        return {}
    counties = sorted({county for county, _ in keys})
    months = sorted({month for _, month in keys})
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT county, month, line, counted_at, rollups_as_of FROM province_county_line "
            f"WHERE county IN ({db.in_list(counties)}) "
            f"AND month IN ({db.in_list(months, len(counties) + 1)})",
            *counties,
            *months,
        )
    wanted = set(keys)
    found = {}
    for row in rows:
        key = (db.as_uuid(row["county"]), row["month"])
        if key in wanted:
            as_of = row["rollups_as_of"]
            found[key] = Kept(
                row["line"], db.as_moment(row["counted_at"]), db.as_moment(as_of) if as_of else None
            )
    return found


async def keep(county_id: uuid.UUID, month: str, kept: Kept) -> None:
    """The line as counted at `counted_at`; a line counted later is never replaced by an older."""
    async with db.write_transaction():
        await db.execute(
            "INSERT INTO province_county_line (county, month, line, counted_at, rollups_as_of) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (county, month) DO UPDATE SET "
            "line = excluded.line, counted_at = excluded.counted_at, "
            "rollups_as_of = excluded.rollups_as_of "
            "WHERE province_county_line.counted_at <= excluded.counted_at",
            county_id,
            month,
            kept.line,
            kept.counted_at,
            kept.rollups_as_of,
        )
