"""County aggregates per station, county-local day and kind, kept from the ledger.

A rollup row is recomputed whole from the log for its (station, day), never incremented, so running
a refresh twice, or a refresh beside a rebuild, cannot count anything twice. `refresh()` finds the
days to recompute from the events each station received after its mark (a station's `seq` is
gap-free and its writers are serialised, so "seq > mark" is exactly the new events):
- the business day of every new event;
- for a reversal, its target's day (a reversed entry leaves its day's figures);
- for anything touching a parcel, the day the parcel would fall overdue (received day + the
  county's return days), as a pickup before that day means it never did;
- and, because time alone makes a parcel overdue, every day that has come since the last refresh.
A change of the county's return rule or of its 脱贫户 list recomputes the whole county.

Kinds are the cashbook's (`parcel_received`, `parcel_dispatched`, `sale_recorded`,
`service_phone_topup`…) plus `parcel_overdue` (parcels that reached the return deadline on that
day still on the shelf) and `entry_reversed` (corrections made that day).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backend import clock, db
from backend.ledger.projector import cashbook_amounts, cashbook_kind

log = logging.getLogger("cunzhan.county.rollups")

OVERDUE_KIND = "parcel_overdue"
REVERSED_KIND = "entry_reversed"
PARCEL_TYPES = ("parcel.received", "parcel.picked_up", "parcel.returned")
STATIONS_PER_TRANSACTION = 100
IN_CHUNK = 400

# count, amount_fen, fee_fen, farm_count, poverty_count, poverty_amount_fen
FIGURES = ("count", "amount_fen", "fee_fen", "farm_count", "poverty_count", "poverty_amount_fen")


def _chunks(values: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class CountyRule:
    id: uuid.UUID
    timezone: zoneinfo.ZoneInfo
    return_days: int
    poverty_codes: frozenset[str]
    households_hash: str

    def today(self, moment: datetime.datetime | None = None) -> datetime.date:
        moment = moment or clock.utcnow()
        return moment.astimezone(self.timezone).date()


async def _county_rule(county_id: uuid.UUID) -> CountyRule:
    row = (
        await db.fetch(
            "SELECT timezone, parcel_return_days FROM registry_county WHERE id = $1", county_id
        )
    )[0]
    codes = frozenset(
        r["code"]
        for r in await db.fetch(
            "SELECT code FROM registry_household WHERE county = $1 AND poverty = $2",
            county_id,
            True,
        )
    )
    digest = hashlib.sha256("\n".join(sorted(codes)).encode()).hexdigest()
    return CountyRule(
        id=county_id,
        timezone=zoneinfo.ZoneInfo(row["timezone"]),
        return_days=int(row["parcel_return_days"]),
        poverty_codes=codes,
        households_hash=digest,
    )


# Computing one station's days ---------------------------------------------------------------


def _add(figures: dict, key: tuple, values: tuple[int, ...]) -> None:
    line = figures.get(key)
    if line is None:
        figures[key] = list(values)
    else:
        for index, value in enumerate(values):
            line[index] += value


def event_figures(
    event_type: str, data: dict[str, Any], poverty_codes: frozenset[str]
) -> tuple[str, tuple[int, ...]]:
    """The kind an (unreversed) entry counts under and what it adds to its day."""
    if event_type == "entry.reversed":
        return REVERSED_KIND, (1, 0, 0, 0, 0, 0)
    kind = cashbook_kind(event_type, data)
    amount, fee = cashbook_amounts(data)
    if event_type == "parcel.picked_up":
        fee = int(data.get("fee_fen", 0))  # storage fee taken at pickup
    farm = 0
    if event_type == "parcel.dispatched":
        farm = 1 if data.get("farm_product") else 0
    elif event_type == "sale.recorded":
        farm = 1  # every 代销 sale is 农产品上行
    poor = 1 if data.get("household_code") in poverty_codes else 0
    return kind, (1, amount, fee, farm, poor, amount * poor)


def _day_filter(column: str, days: list[datetime.date], start: int) -> tuple[str, list]:
    """`column IN (…)` for a few days, a range (filtered again in Python) for many."""
    if len(days) <= IN_CHUNK:
        return f" AND {column} IN ({db.in_list(days, start)})", list(days)
    return f" AND {column} BETWEEN ${start} AND ${start + 1}", [days[0], days[-1]]


async def _figures(
    stations: list[uuid.UUID], rule: CountyRule, days: set[datetime.date] | None, today
) -> dict[uuid.UUID, dict[tuple[datetime.date, str], list[int]]]:
    """Every figure of the given days (all days when None) of these stations, from the log."""
    figures: dict[uuid.UUID, dict] = {station: {} for station in stations}
    if days is not None and not days:
        return figures
    condition, args = f"e.station IN ({db.in_list(stations)})", list(stations)
    if days is not None:
        extra, values = _day_filter("e.business_date", sorted(days), len(args) + 1)
        condition, args = condition + extra, args + values
    rows = await db.fetch(
        "SELECT e.station, e.type, e.business_date, e.data FROM ledger_event e "
        "LEFT JOIN ledger_reversal r ON r.target = e.id "
        f"WHERE {condition} AND r.target IS NULL",
        *args,
    )
    for row in rows:
        day = db.as_date(row["business_date"])
        if days is not None and day not in days:
            continue
        kind, values = event_figures(row["type"], json.loads(row["data"]), rule.poverty_codes)
        _add(figures[db.as_uuid(row["station"])], (day, kind), values)
    await _overdue_figures(stations, rule, days, today, figures)
    return figures


async def _overdue_figures(stations, rule: CountyRule, days, today, figures) -> None:
    """Parcels received N days before that were still on the shelf when the day began."""
    wanted = sorted(d for d in days if d <= today) if days is not None else None
    if wanted is not None and not wanted:
        return
    shift = datetime.timedelta(days=rule.return_days)
    condition, args = (
        f"p.station IN ({db.in_list(stations)}) AND p.state <> 'reversed'",
        list(stations),
    )
    if wanted is not None:
        received = [day - shift for day in wanted]
        extra, values = _day_filter("p.received_date", received, len(args) + 1)
        condition, args = condition + extra, args + values
    rows = await db.fetch(
        "SELECT p.station, p.received_date, c.business_date AS closed_date "
        "FROM ledger_parcel p LEFT JOIN ledger_event c ON c.id = p.closed_event "
        f"WHERE {condition}",
        *args,
    )
    wanted_set = set(wanted) if wanted is not None else None
    for row in rows:
        due = db.as_date(row["received_date"]) + shift
        if due > today or (wanted_set is not None and due not in wanted_set):
            continue
        closed = db.as_date(row["closed_date"]) if row["closed_date"] else None
        if closed is None or closed >= due:
            _add(figures[db.as_uuid(row["station"])], (due, OVERDUE_KIND), (1, 0, 0, 0, 0, 0))


async def _write_days(
    stations: list[uuid.UUID], county_id, days: set[datetime.date] | None, figures: dict
) -> None:
    """Replace the stations' rows of these days (all their rows when None) with `figures`."""
    if days is None:
        await db.execute(
            f"DELETE FROM county_rollup WHERE station IN ({db.in_list(stations)})", *stations
        )
    else:
        for chunk in _chunks(sorted(days)):
            await db.execute(
                f"DELETE FROM county_rollup WHERE station IN ({db.in_list(stations)}) "
                f"AND day IN ({db.in_list(chunk, len(stations) + 1)})",
                *stations,
                *chunk,
            )
    await db.executemany(
        "INSERT INTO county_rollup (station, county, day, kind, count, amount_fen, fee_fen, "
        "farm_count, poverty_count, poverty_amount_fen) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        [
            (station, county_id, day, kind, *values)
            for station in stations
            for (day, kind), values in sorted(figures[station].items())
            if any(values)
        ],
    )


async def _write_totals(county_id: uuid.UUID, days: set[datetime.date] | None) -> None:
    """The county's sums for the given days (all when None), from the station rows."""
    select = (
        "INSERT INTO county_rollup_total (county, day, kind, count, amount_fen, fee_fen, "
        "farm_count, poverty_count, poverty_amount_fen) "
        "SELECT county, day, kind, SUM(count), SUM(amount_fen), SUM(fee_fen), SUM(farm_count), "
        "SUM(poverty_count), SUM(poverty_amount_fen) FROM county_rollup WHERE county = $1"
    )
    if days is None:
        await db.execute("DELETE FROM county_rollup_total WHERE county = $1", county_id)
        await db.execute(f"{select} GROUP BY county, day, kind", county_id)
        return
    for chunk in _chunks(sorted(days)):
        where = f"day IN ({db.in_list(chunk, 2)})"
        await db.execute(
            f"DELETE FROM county_rollup_total WHERE county = $1 AND {where}", county_id, *chunk
        )
        await db.execute(f"{select} AND {where} GROUP BY county, day, kind", county_id, *chunk)


# Which days changed ---------------------------------------------------------------------------


async def _stations_behind(county_id: uuid.UUID) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT h.station, h.last_seq, COALESCE(m.rolled_seq, 0) AS rolled_seq "
        "FROM ledger_chain h JOIN registry_station s ON s.id = h.station "
        "LEFT JOIN county_rollup_mark m ON m.station = h.station "
        "WHERE s.county = $1 AND h.last_seq > COALESCE(m.rolled_seq, 0)",
        county_id,
    )


async def _changed_days(
    ranges: dict[uuid.UUID, tuple[int, int]], rule: CountyRule, today: datetime.date
) -> dict[uuid.UUID, set[datetime.date]]:
    """Per station, the days whose figures its events in (after, through] changed."""
    days: dict[uuid.UUID, set[datetime.date]] = {station: set() for station in ranges}
    # tracking_no → the earliest day an event touched it, per station
    touched: dict[uuid.UUID, dict[str, datetime.date]] = {station: {} for station in ranges}
    targets: list[uuid.UUID] = []

    def touch(station: uuid.UUID, event_type: str, day: datetime.date, data: str) -> None:
        days[station].add(day)
        if event_type in PARCEL_TYPES:
            tracking_no = json.loads(data)["tracking_no"]
            known = touched[station]
            known[tracking_no] = min(day, known.get(tracking_no, day))

    for chunk in _chunks(sorted(ranges, key=str), 100):
        args: list[Any] = []
        terms = []
        for station in chunk:
            after, through = ranges[station]
            base = len(args)
            terms.append(f"(station = ${base + 1} AND seq > ${base + 2} AND seq <= ${base + 3})")
            args += [station, after, through]
        for row in await db.fetch(
            "SELECT station, type, business_date, data FROM ledger_event "
            f"WHERE {' OR '.join(terms)}",
            *args,
        ):
            station = db.as_uuid(row["station"])
            touch(station, row["type"], db.as_date(row["business_date"]), row["data"])
            if row["type"] == "entry.reversed":
                targets.append(uuid.UUID(str(json.loads(row["data"])["target_id"])))
    for chunk in _chunks(targets):
        for row in await db.fetch(
            "SELECT station, type, business_date, data FROM ledger_event "
            f"WHERE id IN ({db.in_list(chunk)})",
            *chunk,
        ):
            station = db.as_uuid(row["station"])
            if station in days:
                touch(station, row["type"], db.as_date(row["business_date"]), row["data"])
    # A parcel's overdue day changes only if the event falls before it (a pickup on or after
    # that day leaves the parcel overdue either way) and the day has come (later days are
    # counted when they come): live pickups of fresh parcels touch no other day.
    shift = datetime.timedelta(days=rule.return_days)
    terms: list[str] = []
    args: list[Any] = []

    async def look_up() -> None:
        for row in await db.fetch(
            "SELECT station, tracking_no, received_date FROM ledger_parcel "
            f"WHERE {' OR '.join(terms)}",
            *args,
        ):
            station = db.as_uuid(row["station"])
            first_touch = touched[station].get(row["tracking_no"])
            due = db.as_date(row["received_date"]) + shift
            if first_touch is not None and first_touch < due <= today:
                days[station].add(due)
        terms.clear()
        args.clear()

    # Each station with its own tracking numbers (a cross product of stations and numbers
    # would make the database probe every pair).
    for station, numbers in touched.items():
        for chunk in _chunks(sorted(numbers)):
            terms.append(
                f"(station = ${len(args) + 1} AND tracking_no "
                f"IN ({db.in_list(chunk, len(args) + 2)}))"
            )
            args.extend([station, *chunk])
            if len(args) > 1500:
                await look_up()
    if terms:
        await look_up()
    return days


async def _days_come_due(
    county_id: uuid.UUID, rule: CountyRule, since: datetime.date | None, today: datetime.date
) -> dict[uuid.UUID, set[datetime.date]]:
    """Days after the last refresh on which parcels reached their return deadline."""
    if since is not None and since >= today:
        return {}
    shift = datetime.timedelta(days=rule.return_days)
    args: list[Any] = [county_id, today - shift]
    # By station (its index on received day), not by county: a county-wide index on parcels
    # would lure SQLite's planner away from the shelf's own indexes in other queries.
    condition = (
        "station IN (SELECT id FROM registry_station WHERE county = $1) "
        "AND received_date <= $2 AND state <> 'reversed'"
    )
    if since is not None:
        args.append(since - shift)
        condition += " AND received_date > $3"
    due: dict[uuid.UUID, set[datetime.date]] = defaultdict(set)
    for row in await db.fetch(
        f"SELECT DISTINCT station, received_date FROM ledger_parcel WHERE {condition}", *args
    ):
        due[db.as_uuid(row["station"])].add(db.as_date(row["received_date"]) + shift)
    return due


# State ----------------------------------------------------------------------------------------


async def _state(county_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await db.fetch("SELECT * FROM county_rollup_state WHERE county = $1", county_id)
    return rows[0] if rows else None


async def _save_state(county_id: uuid.UUID, rule: CountyRule, today: datetime.date) -> None:
    await db.execute(
        "INSERT INTO county_rollup_state (county, counted_through, return_days, households_hash, "
        "refreshed_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (county) DO UPDATE SET "
        "counted_through = excluded.counted_through, return_days = excluded.return_days, "
        "households_hash = excluded.households_hash, refreshed_at = excluded.refreshed_at",
        county_id,
        today,
        rule.return_days,
        rule.households_hash,
        clock.utcnow(),
    )


async def _serialise(county_id: uuid.UUID) -> None:
    """One refresh of a county at a time on PostgreSQL (SQLite has a single writer anyway)."""
    if not db.is_sqlite():
        key = int.from_bytes(county_id.bytes[:8], "big", signed=True)
        await db.fetch("SELECT pg_advisory_xact_lock($1)", key)


async def _marks(stations: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await db.fetch(
        "SELECT station, rolled_seq FROM county_rollup_mark "
        f"WHERE station IN ({db.in_list(stations)})",
        *stations,
    )
    return {db.as_uuid(row["station"]): row["rolled_seq"] for row in rows}


async def _set_marks(county_id: uuid.UUID, marks: dict[uuid.UUID, int]) -> None:
    await db.executemany(
        "INSERT INTO county_rollup_mark (station, county, rolled_seq) VALUES ($1, $2, $3) "
        "ON CONFLICT (station) DO UPDATE SET rolled_seq = excluded.rolled_seq",
        [(station, county_id, seq) for station, seq in marks.items()],
    )


# Refresh and rebuild --------------------------------------------------------------------------


async def _county_ids() -> list[uuid.UUID]:
    async with db.read_transaction():
        rows = await db.fetch("SELECT id FROM registry_county ORDER BY code")
    return [db.as_uuid(row["id"]) for row in rows]


async def refresh(now: datetime.datetime | None = None) -> int:
    """Recompute the aggregates of the days that received events; returns days refreshed."""
    refreshed = 0
    for county_id in await _county_ids():
        refreshed += await refresh_county(county_id, now)
    return refreshed


async def refresh_county(county_id: uuid.UUID, now: datetime.datetime | None = None) -> int:
    """One county: the (station, day) pairs recomputed; a changed rule means a rebuild."""
    async with db.read_transaction():
        rule = await _county_rule(county_id)
        state = await _state(county_id)
    if state is None or (
        state["return_days"] != rule.return_days or state["households_hash"] != rule.households_hash
    ):
        return await rebuild_county(county_id, now)
    today = rule.today(now)
    counted = db.as_date(state["counted_through"]) if state["counted_through"] else None
    async with db.read_transaction():
        behind = await _stations_behind(county_id)
        due = await _days_come_due(county_id, rule, counted, today)
    if not behind and not due and counted == today:
        return 0  # up to date: every read of the figures asks, so nothing is written then
    work: dict[uuid.UUID, tuple[int, int]] = {
        db.as_uuid(row["station"]): (row["rolled_seq"], row["last_seq"]) for row in behind
    }
    stations = sorted(set(work) | set(due), key=str)
    touched_days: set[datetime.date] = set()
    pairs = 0
    for chunk in _chunks(stations, STATIONS_PER_TRANSACTION):
        async with db.write_transaction():
            await _serialise(county_id)
            # Read the marks again inside the write: another refresh may have moved them.
            marks = await _marks(chunk)
            ranges = {}
            for station_id in chunk:
                after, through = work.get(station_id, (0, 0))
                after = max(after, marks.get(station_id, 0))
                if through > after:
                    ranges[station_id] = (after, through)
            changed = await _changed_days(ranges, rule, today) if ranges else {}
            dirty = {
                station_id: set(due.get(station_id, ())) | changed.get(station_id, set())
                for station_id in chunk
            }
            # Stations with the same days (most often: just today) are read and written together.
            groups: dict[frozenset, list[uuid.UUID]] = defaultdict(list)
            for station_id, days in dirty.items():
                if days:
                    groups[frozenset(days)].append(station_id)
            for days, members in groups.items():
                figures = await _figures(members, rule, set(days), today)
                await _write_days(members, county_id, set(days), figures)
                touched_days |= days
                pairs += len(days) * len(members)
            await _set_marks(county_id, {s: through for s, (_, through) in ranges.items()})
    async with db.write_transaction():
        await _serialise(county_id)
        await _write_totals(county_id, touched_days)
        await _save_state(county_id, rule, today)
    return pairs


async def rebuild(now: datetime.datetime | None = None) -> dict[str, int]:
    """Every county recomputed from the log alone."""
    totals = {"counties": 0, "days": 0}
    for county_id in await _county_ids():
        totals["counties"] += 1
        totals["days"] += await rebuild_county(county_id, now)
    return totals


async def rebuild_county(county_id: uuid.UUID, now: datetime.datetime | None = None) -> int:
    """The whole county from the log, one station per transaction; the marks move with the rows
    they describe."""
    async with db.read_transaction():
        rule = await _county_rule(county_id)
        stations = await db.fetch(
            "SELECT s.id, COALESCE(h.last_seq, 0) AS last_seq FROM registry_station s "
            "LEFT JOIN ledger_chain h ON h.station = s.id WHERE s.county = $1 ORDER BY s.id",
            county_id,
        )
    today = rule.today(now)
    days = 0
    for station in stations:
        station_id = db.as_uuid(station["id"])
        # A station's whole history is read outside the write lock (SQLite has one writer, and
        # keepers keep syncing meanwhile). The head is read first: the figures include at least
        # the events up to the mark, and any later ones are recomputed by the next refresh.
        async with db.read_transaction():
            head = await db.fetch(
                "SELECT last_seq FROM ledger_chain WHERE station = $1", station_id
            )
            figures = await _figures([station_id], rule, None, today)
        async with db.write_transaction():
            await _serialise(county_id)
            await _write_days([station_id], county_id, None, figures)
            await _set_marks(county_id, {station_id: head[0]["last_seq"] if head else 0})
        days += len({day for day, _ in figures[station_id]})
    async with db.write_transaction():
        await _serialise(county_id)
        await _write_totals(county_id, None)
        await _save_state(county_id, rule, today)
    return days
