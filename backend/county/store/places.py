"""Read-only: the registry's counties, townships, villages and stations, and the accounts'
keepers, as the county's figures and review pages need them (the registry and accounts own these
tables; nothing here writes)."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo

import msgspec

from backend import clock, db
from backend.errors import DomainError
from backend.registry import poverty
from backend.registry.poverty import PovertyChange
from backend.registry.store import poverty as registry_poverty


class CountyRow(msgspec.Struct, frozen=True):
    """A county's row of the registry, as the county's figures need it."""

    id: uuid.UUID
    code: str
    name: str
    timezone: str
    created_at: datetime.datetime
    parcel_return_days: int
    target_township_pct: int
    target_village_pct: int
    target_poor_village_pct: int
    subsidy_fen_per_parcel: int
    subsidy_farm_only: bool
    subsidy_monthly_cap_fen: int
    month_close_day: int = 5
    subsidy_withdraw_after_failures: int = 2  # 0: failed inspections never withdraw it

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self) -> datetime.date:
        return clock.utcnow().astimezone(self.zone).date()


def _county(row: dict) -> CountyRow:
    return CountyRow(
        id=db.as_uuid(row["id"]),
        code=row["code"],
        name=row["name"],
        timezone=row["timezone"],
        created_at=db.as_moment(row["created_at"]),
        parcel_return_days=int(row["parcel_return_days"]),
        target_township_pct=int(row["target_township_pct"]),
        target_village_pct=int(row["target_village_pct"]),
        target_poor_village_pct=int(row["target_poor_village_pct"]),
        subsidy_fen_per_parcel=int(row["subsidy_fen_per_parcel"]),
        subsidy_farm_only=bool(row["subsidy_farm_only"]),
        subsidy_monthly_cap_fen=int(row["subsidy_monthly_cap_fen"]),
        month_close_day=int(row.get("month_close_day") or 5),
        subsidy_withdraw_after_failures=int(row.get("subsidy_withdraw_after_failures", 2)),
    )


async def county(county_id: uuid.UUID) -> CountyRow:
    rows = await db.fetch("SELECT * FROM registry_county WHERE id = $1", county_id)
    if not rows:
        raise DomainError("not_found", status=404)
    return _county(rows[0])


async def counties() -> list[CountyRow]:
    """Every county, by code."""
    return [_county(row) for row in await db.fetch("SELECT * FROM registry_county ORDER BY code")]


class StationRow(msgspec.Struct, frozen=True):
    """A station of the county with where it is."""

    id: uuid.UUID
    code: str
    name: str
    township_id: uuid.UUID
    township: str
    village: str
    poor_village: bool
    closed: bool
    village_id: uuid.UUID | None = None


async def stations(
    county_id: uuid.UUID, include_closed: bool = True, by_township: bool = False
) -> list[StationRow]:
    """The county's stations by code (by township name first if asked)."""
    sql = (
        "SELECT s.id, s.code, s.name, s.township, t.name AS township_name, v.name AS village_name, "
        "v.poor, s.closed_at, s.village FROM registry_station s "
        "JOIN registry_township t ON t.id = s.township JOIN registry_village v ON v.id = s.village "
        "WHERE s.county = $1"
    )
    if not include_closed:
        sql += " AND s.closed_at IS NULL"
    order = " ORDER BY t.name, s.code" if by_township else " ORDER BY s.code"
    rows = await db.fetch(sql + order, county_id)
    return [
        StationRow(
            id=db.as_uuid(row["id"]),
            code=row["code"],
            name=row["name"],
            township_id=db.as_uuid(row["township"]),
            township=row["township_name"],
            village=row["village_name"],
            poor_village=bool(row["poor"]),
            closed=row["closed_at"] is not None,
            village_id=db.as_uuid(row["village"]),
        )
        for row in rows
    ]


async def station_county(station_id: uuid.UUID) -> uuid.UUID | None:
    """The station's county; None if there is no such station."""
    rows = await db.fetch("SELECT county FROM registry_station WHERE id = $1", station_id)
    return db.as_uuid(rows[0]["county"]) if rows else None


async def open_station_count(county_id: uuid.UUID) -> int:
    rows = await db.fetch(
        "SELECT COUNT(*) AS n FROM registry_station WHERE county = $1 AND closed_at IS NULL",
        county_id,
    )
    return int(rows[0]["n"])


class Place(msgspec.Struct, frozen=True):
    """A township or a village: whether an open station serves it."""

    id: uuid.UUID
    name: str
    stations: int  # open stations in it


class Village(Place, frozen=True):
    """A village: also its township, and whether it is a poor village (贫困村)."""

    township_id: uuid.UUID
    poor: bool


async def townships(county_id: uuid.UUID) -> list[Place]:
    """The county's townships by name, each with its open stations."""
    rows = await db.fetch(
        "SELECT t.id, t.name, (SELECT COUNT(*) FROM registry_station s WHERE s.township = t.id "
        "AND s.closed_at IS NULL) AS stations FROM registry_township t WHERE t.county = $1 "
        "ORDER BY t.name",
        county_id,
    )
    return [Place(db.as_uuid(r["id"]), r["name"], int(r["stations"])) for r in rows]


async def villages(county_id: uuid.UUID) -> list[Village]:
    """The county's villages, each with its open stations."""
    rows = await db.fetch(
        "SELECT v.id, v.name, v.township, v.poor, (SELECT COUNT(*) FROM registry_station s "
        "WHERE s.village = v.id AND s.closed_at IS NULL) AS stations "
        "FROM registry_village v WHERE v.county = $1",
        county_id,
    )
    return [
        Village(
            db.as_uuid(r["id"]),
            r["name"],
            int(r["stations"]),
            db.as_uuid(r["township"]),
            bool(r["poor"]),
        )
        for r in rows
    ]


class StationCard(msgspec.Struct, frozen=True):
    id: uuid.UUID
    county: uuid.UUID
    code: str
    name: str
    address: str | None
    opened_on: datetime.date | None
    closed_at: datetime.datetime | None
    closed_reason: str | None
    township: str
    village: str
    poor: bool


async def station_card(station_id: uuid.UUID) -> StationCard:
    rows = await db.fetch(
        "SELECT s.id, s.county, s.code, s.name, s.address, s.opened_on, s.closed_at, "
        "s.closed_reason, t.name AS township, v.name AS village, v.poor "
        "FROM registry_station s JOIN registry_township t ON t.id = s.township "
        "JOIN registry_village v ON v.id = s.village WHERE s.id = $1",
        station_id,
    )
    if not rows:
        raise DomainError("not_found", status=404)
    row = rows[0]
    return StationCard(
        id=db.as_uuid(row["id"]),
        county=db.as_uuid(row["county"]),
        code=row["code"],
        name=row["name"],
        address=row["address"],
        opened_on=db.as_date(row["opened_on"]) if row["opened_on"] else None,
        closed_at=db.as_moment(row["closed_at"]) if row["closed_at"] else None,
        closed_reason=row["closed_reason"],
        township=row["township"],
        village=row["village"],
        poor=bool(row["poor"]),
    )


class Keeper(msgspec.Struct, frozen=True):
    id: uuid.UUID
    name: str
    phone: str
    active: bool


async def keepers(station_id: uuid.UUID) -> list[Keeper]:
    rows = await db.fetch(
        "SELECT id, name, phone, active FROM accounts_user WHERE station = $1 ORDER BY name",
        station_id,
    )
    return [Keeper(db.as_uuid(r["id"]), r["name"], r["phone"], bool(r["active"])) for r in rows]


async def county_ids() -> list[uuid.UUID]:
    """Every county, by code."""
    rows = await db.fetch("SELECT id FROM registry_county ORDER BY code")
    return [db.as_uuid(row["id"]) for row in rows]


async def poverty_codes(county_id: uuid.UUID) -> frozenset[str]:
    """The household codes of the county's 脱贫户."""
    rows = await db.fetch(
        "SELECT code FROM registry_household WHERE county = $1 AND poverty = $2", county_id, True
    )
    return frozenset(row["code"] for row in rows)


# Coverage as of a day ---------------------------------------------------------------------------


class CoverageTownship(msgspec.Struct, frozen=True):
    id: uuid.UUID
    name: str
    poor: bool  # 贫困乡镇


class CoverageVillage(msgspec.Struct, frozen=True):
    id: uuid.UUID
    name: str
    township_id: uuid.UUID
    poor: bool  # 贫困村 today
    poor_changes: tuple[PovertyChange, ...] = ()  # the flag's changes, oldest first

    def poor_on(self, day: datetime.date) -> bool:
        return poverty.poor_on(self.poor, self.poor_changes, day)


class BuiltStation(msgspec.Struct, frozen=True):
    """A station as coverage counts it: where, which level, the days it was built."""

    id: uuid.UUID
    township_id: uuid.UUID
    village_id: uuid.UUID
    level: str  # township (乡级服务站) | village (村级服务点)
    opened_on: datetime.date | None  # None only on rows no migration reached: built since ever
    closed_on: datetime.date | None


class CoveragePlaces(msgspec.Struct, frozen=True):
    townships: list[CoverageTownship]  # by name
    villages: list[CoverageVillage]  # by township, then name
    stations: list[BuiltStation]


async def coverage_places(county_id: uuid.UUID) -> CoveragePlaces:
    """The county's townships, villages and every station ever opened (closed ones too: a day
    before they closed they were built)."""
    townships = await db.fetch(
        "SELECT id, name, poor FROM registry_township WHERE county = $1 ORDER BY name", county_id
    )
    villages = await db.fetch(
        "SELECT v.id, v.name, v.township, v.poor FROM registry_village v "
        "JOIN registry_township t ON t.id = v.township WHERE v.county = $1 "
        "ORDER BY t.name, v.name",
        county_id,
    )
    stations = await db.fetch(
        "SELECT id, township, village, level, opened_on, closed_on FROM registry_station "
        "WHERE county = $1 ORDER BY code",
        county_id,
    )
    changes = await registry_poverty.poverty_changes(county_id)
    return CoveragePlaces(
        townships=[
            CoverageTownship(db.as_uuid(r["id"]), r["name"], bool(r["poor"])) for r in townships
        ],
        villages=[
            CoverageVillage(
                db.as_uuid(r["id"]),
                r["name"],
                db.as_uuid(r["township"]),
                bool(r["poor"]),
                tuple(changes.get(db.as_uuid(r["id"]), ())),
            )
            for r in villages
        ],
        stations=[
            BuiltStation(
                id=db.as_uuid(r["id"]),
                township_id=db.as_uuid(r["township"]),
                village_id=db.as_uuid(r["village"]),
                level=r["level"] or "village",
                opened_on=db.as_date(r["opened_on"]) if r["opened_on"] else None,
                closed_on=db.as_date(r["closed_on"]) if r["closed_on"] else None,
            )
            for r in stations
        ],
    )
