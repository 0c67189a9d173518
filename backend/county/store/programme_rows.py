"""The county's programme settings: its start (county_programme) and the targets it has set
(county_target), and the milestones it has set (county_milestone). Functions run inside the
caller's transaction."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db


class BaselineRow(msgspec.Struct, frozen=True):
    year: int
    retail_fen: int
    upward_sales_fen: int
    downward_sales_fen: int


class TargetRow(msgspec.Struct, frozen=True):
    name: str
    target: float


async def programme_start(county_id: uuid.UUID) -> datetime.date | None:
    rows = await db.fetch("SELECT start FROM county_programme WHERE county = $1", county_id)
    return db.as_date(rows[0]["start"]) if rows else None


async def set_programme_start(
    county_id: uuid.UUID, start: datetime.date, now: datetime.datetime
) -> None:
    await db.execute(
        "INSERT INTO county_programme (county, start, updated_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (county) DO UPDATE SET start = excluded.start, "
        "updated_at = excluded.updated_at",
        county_id,
        start,
        now,
    )


async def targets(county_id: uuid.UUID) -> list[TargetRow]:
    rows = await db.fetch(
        "SELECT name, target FROM county_target WHERE county = $1 ORDER BY name", county_id
    )
    return [TargetRow(row["name"], float(row["target"])) for row in rows]


async def replace_targets(county_id: uuid.UUID, targets: list[TargetRow]) -> None:
    """The county's targets become these (a name left out is no longer a target)."""
    await db.execute("DELETE FROM county_target WHERE county = $1", county_id)
    await db.executemany(
        "INSERT INTO county_target (id, county, name, target) VALUES ($1, $2, $3, $4)",
        [(uuid.uuid4(), county_id, t.name, t.target) for t in targets],
    )


async def baseline(county_id: uuid.UUID) -> BaselineRow | None:
    rows = await db.fetch(
        "SELECT year, retail_fen, upward_sales_fen, downward_sales_fen FROM county_baseline "
        "WHERE county = $1",
        county_id,
    )
    return msgspec.convert(rows[0], BaselineRow) if rows else None


async def set_baseline(county_id: uuid.UUID, row: BaselineRow, now: datetime.datetime) -> None:
    await db.execute(
        "INSERT INTO county_baseline "
        "(county, year, retail_fen, upward_sales_fen, downward_sales_fen, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (county) DO UPDATE SET "
        "year = excluded.year, retail_fen = excluded.retail_fen, "
        "upward_sales_fen = excluded.upward_sales_fen, "
        "downward_sales_fen = excluded.downward_sales_fen, updated_at = excluded.updated_at",
        county_id,
        row.year,
        row.retail_fen,
        row.upward_sales_fen,
        row.downward_sales_fen,
        now,
    )


async def township_targets(township_id: uuid.UUID) -> list[TargetRow]:
    rows = await db.fetch(
        "SELECT name, target FROM county_township_target WHERE township = $1 ORDER BY name",
        township_id,
    )
    return [TargetRow(row["name"], float(row["target"])) for row in rows]


async def replace_township_targets(
    county_id: uuid.UUID, township_id: uuid.UUID, targets: list[TargetRow]
) -> None:
    """The township's targets become these (a name left out is no longer a target)."""
    await db.execute("DELETE FROM county_township_target WHERE township = $1", township_id)
    await db.executemany(
        "INSERT INTO county_township_target (id, county, township, name, target) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(uuid.uuid4(), county_id, township_id, t.name, t.target) for t in targets],
    )


class MilestoneRow(msgspec.Struct, frozen=True):
    figure: str  # a since-start training figure (milestones.FIGURES)
    target: int
    due: datetime.date  # the first day of the month it is due by the end of


async def milestones(county_id: uuid.UUID) -> list[MilestoneRow]:
    """The county's milestones, soonest due first."""
    rows = await db.fetch(
        "SELECT figure, target, due FROM county_milestone WHERE county = $1 "
        "ORDER BY due, figure, target",
        county_id,
    )
    return [MilestoneRow(row["figure"], int(row["target"]), db.as_date(row["due"])) for row in rows]


async def replace_milestones(county_id: uuid.UUID, rows: list[MilestoneRow]) -> None:
    """The county's milestones become these."""
    await db.execute("DELETE FROM county_milestone WHERE county = $1", county_id)
    await db.executemany(
        "INSERT INTO county_milestone (id, county, figure, target, due) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(uuid.uuid4(), county_id, row.figure, row.target, row.due) for row in rows],
    )
