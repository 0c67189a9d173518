"""The county's tables (county_*): the only code that reads or writes them.

Rows that leave this module are msgspec Structs. Money is integer fen, days county-local dates.
The reads of other capabilities' tables that the county's figures need (the county's stations,
townships and villages; parcels on the shelf) are kept here too, read-only, at the end.
"""

from __future__ import annotations

import datetime
import json
import uuid
import zoneinfo
from collections.abc import Iterable

import msgspec

from backend import clock, db
from backend.errors import DomainError

# count, amount_fen, fee_fen, farm_count, poverty_count, poverty_amount_fen
FIGURES = ("count", "amount_fen", "fee_fen", "farm_count", "poverty_count", "poverty_amount_fen")
OVERDUE_KIND = "parcel_overdue"
REVERSED_KIND = "entry_reversed"
IN_CHUNK = 400


def chunks(values: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class KindLine(msgspec.Struct, frozen=True):
    """What one kind of entry added up to: the county's on a day, or a station's on a day or over
    a range (`station` and `day` None where summed away)."""

    kind: str
    count: int
    amount_fen: int
    fee_fen: int
    farm_count: int
    poverty_count: int
    poverty_amount_fen: int
    day: datetime.date | None = None
    station: uuid.UUID | None = None

    def figures(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in FIGURES}


def _line(row: dict) -> KindLine:
    return KindLine(
        kind=row["kind"],
        day=db.as_date(row["day"]) if row.get("day") is not None else None,
        station=db.as_uuid(row["station"]) if row.get("station") is not None else None,
        **{key: int(row[key] or 0) for key in FIGURES},
    )


_COLUMNS = ", ".join(FIGURES)
_SUMS = ", ".join(f"SUM({key}) AS {key}" for key in FIGURES)


# Reads (inside the caller's read transaction) ---------------------------------------------------


async def county_days(county_id: uuid.UUID, first: datetime.date, last: datetime.date):
    """The county's lines per day and kind over [first, last]."""
    rows = await db.fetch(
        f"SELECT day, kind, {_COLUMNS} FROM county_rollup_total "
        "WHERE county = $1 AND day >= $2 AND day <= $3 ORDER BY day, kind",
        county_id,
        first,
        last,
    )
    return [_line(row) for row in rows]


async def station_days(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    station_id: uuid.UUID | None = None,
) -> list[KindLine]:
    """Per station, day and kind (stations of this county only), by day, station and kind."""
    args: list = [county_id, first, last]
    condition = "county = $1 AND day >= $2 AND day <= $3"
    if station_id is not None:
        args.append(station_id)
        condition += " AND station = $4"
    rows = await db.fetch(
        f"SELECT station, day, kind, {_COLUMNS} FROM county_rollup WHERE {condition} "
        "ORDER BY day, station, kind",
        *args,
    )
    return [_line(row) for row in rows]


async def station_sums(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[KindLine]:
    """Per station and kind, the sums over [first, last] (summed by the database)."""
    rows = await db.fetch(
        f"SELECT station, kind, {_SUMS} FROM county_rollup "
        "WHERE county = $1 AND day >= $2 AND day <= $3 GROUP BY station, kind",
        county_id,
        first,
        last,
    )
    return [_line(row) for row in rows]


async def days_of_kind(
    county_id: uuid.UUID, kind: str, first: datetime.date, last: datetime.date
) -> list[tuple[uuid.UUID, datetime.date]]:
    """(station, day) pairs with an entry of this kind that still stands."""
    rows = await db.fetch(
        "SELECT station, day FROM county_rollup WHERE county = $1 AND kind = $2 "
        "AND day >= $3 AND day <= $4 AND count > 0",
        county_id,
        kind,
        first,
        last,
    )
    return [(db.as_uuid(row["station"]), db.as_date(row["day"])) for row in rows]


async def last_days(
    county_id: uuid.UUID,
    since: datetime.date,
    kinds: tuple[str, ...] = (),
    except_kinds: tuple[str, ...] = (),
) -> dict[uuid.UUID, datetime.date]:
    """Each station's last day since `since` with an entry of one of `kinds` (any kind but
    `except_kinds` when no kinds are given)."""
    args: list = [county_id, since]
    if kinds:
        condition = f"kind IN ({db.in_list(kinds, 3)})"
        args += kinds
    else:
        condition = f"kind NOT IN ({db.in_list(except_kinds, 3)})"
        args += except_kinds
    rows = await db.fetch(
        "SELECT station, MAX(day) AS day FROM county_rollup WHERE county = $1 AND day >= $2 "
        f"AND {condition} AND count > 0 GROUP BY station",
        *args,
    )
    return {db.as_uuid(row["station"]): db.as_date(row["day"]) for row in rows}


async def last_days_before(
    station_ids: list[uuid.UUID], before: datetime.date, except_kinds: tuple[str, ...]
) -> dict[uuid.UUID, datetime.date]:
    """Each of these stations' last day before `before` with an entry of another kind."""
    if not station_ids:
        return {}
    skip = db.in_list(except_kinds, 2)
    rows = await db.fetch(
        f"SELECT station, MAX(day) AS last FROM county_rollup WHERE day < $1 "
        f"AND kind NOT IN ({skip}) "
        f"AND station IN ({db.in_list(station_ids, 2 + len(except_kinds))}) GROUP BY station",
        before,
        *except_kinds,
        *station_ids,
    )
    return {db.as_uuid(row["station"]): db.as_date(row["last"]) for row in rows if row["last"]}


async def active_station_count(county_id: uuid.UUID, day: datetime.date) -> int:
    """How many stations have any line on that day."""
    rows = await db.fetch(
        "SELECT COUNT(DISTINCT station) AS n FROM county_rollup WHERE county = $1 AND day = $2",
        county_id,
        day,
    )
    return int(rows[0]["n"])


# Read-only: other capabilities' tables the county's figures are laid out by -------------------
# (registry_county, registry_station, registry_township, registry_village; ledger_parcel)


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
    )


async def county(county_id: uuid.UUID) -> CountyRow:
    rows = await db.fetch("SELECT * FROM registry_county WHERE id = $1", county_id)
    if not rows:
        raise DomainError("not_found", status=404)
    return _county(rows[0])


async def counties() -> list[CountyRow]:
    """Every county, by code."""
    return [_county(row) for row in await db.fetch("SELECT * FROM registry_county ORDER BY code")]


async def first_county_id() -> uuid.UUID | None:
    """The first county by name."""
    rows = await db.fetch("SELECT id FROM registry_county ORDER BY name LIMIT 1")
    return db.as_uuid(rows[0]["id"]) if rows else None


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


async def stations(
    county_id: uuid.UUID, include_closed: bool = True, by_township: bool = False
) -> list[StationRow]:
    """The county's stations by code (by township name first if asked)."""
    sql = (
        "SELECT s.id, s.code, s.name, s.township, t.name AS township_name, v.name AS village_name, "
        "v.poor, s.closed_at FROM registry_station s "
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
        )
        for row in rows
    ]


async def station_county(station_id: uuid.UUID) -> uuid.UUID:
    rows = await db.fetch("SELECT county FROM registry_station WHERE id = $1", station_id)
    if not rows:
        raise DomainError("not_found", status=404)
    return db.as_uuid(rows[0]["county"])


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
    township_id: uuid.UUID | None = None  # a village's township
    poor: bool = False


async def townships(county_id: uuid.UUID) -> list[Place]:
    """The county's townships by name, each with its open stations."""
    rows = await db.fetch(
        "SELECT t.id, t.name, (SELECT COUNT(*) FROM registry_station s WHERE s.township = t.id "
        "AND s.closed_at IS NULL) AS stations FROM registry_township t WHERE t.county = $1 "
        "ORDER BY t.name",
        county_id,
    )
    return [Place(db.as_uuid(r["id"]), r["name"], int(r["stations"])) for r in rows]


async def villages(county_id: uuid.UUID) -> list[Place]:
    """The county's villages, each with its open stations."""
    rows = await db.fetch(
        "SELECT v.id, v.name, v.township, v.poor, (SELECT COUNT(*) FROM registry_station s "
        "WHERE s.village = v.id AND s.closed_at IS NULL) AS stations "
        "FROM registry_village v WHERE v.county = $1",
        county_id,
    )
    return [
        Place(
            db.as_uuid(r["id"]),
            r["name"],
            int(r["stations"]),
            db.as_uuid(r["township"]),
            bool(r["poor"]),
        )
        for r in rows
    ]


async def shelf_counts(
    county_id: uuid.UUID, overdue_from: datetime.date
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per station: parcels on the shelf, and how many arrived on or before `overdue_from`."""
    rows = await db.fetch(
        "SELECT station, COUNT(*) AS n, "
        "SUM(CASE WHEN received_date <= $2 THEN 1 ELSE 0 END) AS overdue "
        "FROM ledger_parcel WHERE county = $1 AND state = 'on_shelf' GROUP BY station",
        county_id,
        overdue_from,
    )
    return {db.as_uuid(row["station"]): (int(row["n"]), int(row["overdue"] or 0)) for row in rows}


# Read-only: what a station's review page shows beside its figures
# (registry_station, ledger_event, ledger_reversal, ledger_parcel, accounts_user, ledger_cashbook)


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


class CheckinNote(msgspec.Struct, frozen=True):
    occurred_at: datetime.datetime
    received_at: datetime.datetime
    day: datetime.date
    note: str


async def recent_checkins(station_id: uuid.UUID, limit: int = 12) -> list[CheckinNote]:
    """The station's last check-ins that still stand, newest first."""
    rows = await db.fetch(
        "SELECT e.occurred_at, e.received_at, e.business_date, e.data FROM ledger_event e "
        "LEFT JOIN ledger_reversal r ON r.target = e.id WHERE e.station = $1 "
        "AND e.type = 'checkin.recorded' AND r.target IS NULL "
        "ORDER BY e.seq DESC LIMIT $2",
        station_id,
        limit,
    )
    return [
        CheckinNote(
            occurred_at=db.as_moment(row["occurred_at"]),
            received_at=db.as_moment(row["received_at"]),
            day=db.as_date(row["business_date"]),
            note=json.loads(row["data"] or "{}").get("note", ""),
        )
        for row in rows
    ]


class ShelfParcel(msgspec.Struct, frozen=True):
    tracking_no: str
    carrier: str
    recipient_phone: str
    pickup_code: str | None
    received_at: datetime.datetime
    received_date: datetime.date


async def shelf(station_id: uuid.UUID, limit: int = 200) -> list[ShelfParcel]:
    """The station's parcels waiting, oldest first."""
    rows = await db.fetch(
        "SELECT tracking_no, carrier, recipient_phone, pickup_code, received_at, "
        "received_date FROM ledger_parcel WHERE station = $1 AND state = 'on_shelf' "
        "ORDER BY received_at LIMIT $2",
        station_id,
        limit,
    )
    return [
        ShelfParcel(
            tracking_no=row["tracking_no"],
            carrier=row["carrier"],
            recipient_phone=row["recipient_phone"],
            pickup_code=row["pickup_code"],
            received_at=db.as_moment(row["received_at"]),
            received_date=db.as_date(row["received_date"]),
        )
        for row in rows
    ]


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


class CashLine(msgspec.Struct, frozen=True):
    station: uuid.UUID
    day: datetime.date
    kind: str
    amount_fen: int
    fee_fen: int


async def cashbook_lines(
    county_id: uuid.UUID, first: datetime.date, last: datetime.date
) -> list[CashLine]:
    """The keepers' cashbook lines of the county's stations over [first, last] (what each day's
    till count is checked against)."""
    rows = await db.fetch(
        "SELECT b.station, b.day, b.kind, b.amount_fen, b.fee_fen FROM ledger_cashbook b "
        "JOIN registry_station s ON s.id = b.station "
        "WHERE s.county = $1 AND b.day >= $2 AND b.day <= $3",
        county_id,
        first,
        last,
    )
    return [
        CashLine(
            db.as_uuid(r["station"]),
            db.as_date(r["day"]),
            r["kind"],
            int(r["amount_fen"]),
            int(r["fee_fen"]),
        )
        for r in rows
    ]
