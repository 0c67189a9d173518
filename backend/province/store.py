"""The stored county lines (tables.StoredLine): read by (county, month), written whole."""

from __future__ import annotations

import datetime
import uuid

from backend import db

Key = tuple[uuid.UUID, str]  # (county, 'YYYY-MM')


async def lines(keys: list[Key]) -> dict[Key, tuple[str, datetime.datetime]]:
    """(county, month) → (the line's JSON, when it was counted), for the keys that have one."""
    if not keys:
        return {}
    counties = sorted({county for county, _ in keys})
    months = sorted({month for _, month in keys})
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT county, month, line, counted_at FROM province_county_line "
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
            found[key] = (row["line"], db.as_moment(row["counted_at"]))
    return found


async def keep(county_id: uuid.UUID, month: str, line: str, counted_at: datetime.datetime) -> None:
    """The line as counted at `counted_at`; a line counted later is never replaced by an older."""
    async with db.write_transaction():
        await db.execute(
            "INSERT INTO province_county_line (county, month, line, counted_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (county, month) DO UPDATE SET "
            "line = excluded.line, counted_at = excluded.counted_at "
            "WHERE province_county_line.counted_at <= excluded.counted_at",
            county_id,
            month,
            line,
            counted_at,
        )
