"""What a county's rollups were counted with and through which day (county_rollup_state), and
when they last moved."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import clock, db


class RollupState(msgspec.Struct, frozen=True):
    """What a county's rollups were computed with, and through which day."""

    counted_through: datetime.date | None
    return_days: int
    households_hash: str
    products_hash: str = ""  # which 代销 are not farm produce (the catalogue's rule)
    products_rule: str = ""  # that rule itself (catalogue's NotFarm.as_text); "": not known


async def state(county_id: uuid.UUID) -> RollupState | None:
    rows = await db.fetch(
        "SELECT counted_through, return_days, households_hash, products_hash, products_rule "
        "FROM county_rollup_state WHERE county = $1",
        county_id,
    )
    if not rows:
        return None
    row = rows[0]
    counted = db.as_date(row["counted_through"]) if row["counted_through"] else None
    return RollupState(
        counted,
        int(row["return_days"]),
        row["households_hash"],
        row["products_hash"] or "",
        row["products_rule"] or "",
    )


async def refreshed_at(county_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime.datetime]:
    """When each county's rollups last moved (a refresh or rebuild wrote); counties never rolled
    up are left out."""
    if not county_ids:
        return {}
    rows = await db.fetch(
        "SELECT county, refreshed_at FROM county_rollup_state "
        f"WHERE county IN ({db.in_list(county_ids)}) AND refreshed_at IS NOT NULL",
        *county_ids,
    )
    return {db.as_uuid(row["county"]): db.as_moment(row["refreshed_at"]) for row in rows}


async def save_state(
    county_id: uuid.UUID,
    counted_through: datetime.date,
    return_days: int,
    households_hash: str,
    products_hash: str = "",
    products_rule: str = "",
) -> None:
    await db.execute(
        "INSERT INTO county_rollup_state (county, counted_through, return_days, households_hash, "
        "products_hash, products_rule, refreshed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (county) DO UPDATE SET counted_through = excluded.counted_through, "
        "return_days = excluded.return_days, households_hash = excluded.households_hash, "
        "products_hash = excluded.products_hash, products_rule = excluded.products_rule, "
        "refreshed_at = excluded.refreshed_at",
        county_id,
        counted_through,
        return_days,
        households_hash,
        products_hash,
        products_rule,
        clock.utcnow(),
    )


async def keep_products_rule(county_id: uuid.UUID, products_hash: str, products_rule: str) -> None:
    """The catalogue's rule written beside its digest where the rollups were counted under it
    before the rule itself was kept; `refreshed_at` is left as it was (no figure moved)."""
    await db.execute(
        "UPDATE county_rollup_state SET products_rule = $1 "
        "WHERE county = $2 AND products_hash = $3 AND products_rule = ''",
        products_rule,
        county_id,
        products_hash,
    )
