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
A change of the county's return rule or of its 脱贫户 list recomputes the whole county; a change
of the catalogue's rule (a product's category, a text mapped) the months of the sales it moved
(catalogue_rule.py).

A station's closed month is frozen (frozen.py): every refresh and rebuild writes its days back as
they were at close (frozen_rows' `keep_frozen`, `put_back`) instead of recomputing them, until
the month is reopened.

A refresh counts its days in Python (`event_figures`, on the entries grouped by the database); a
rebuild counts whole stations in SQL (store/rollup_rebuild.py, the same rule), as a county's
history is millions of entries. The two give the same rows (tests/test_county_rollups.py).

Kinds are the cashbook's (`parcel_received`, `parcel_dispatched`, `sale_recorded`,
`service_phone_topup`…) plus `parcel_overdue` (parcels that reached the return deadline on that
day still on the shelf) and `entry_reversed` (corrections made that day).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import functools
import hashlib
import logging
import uuid
import zoneinfo
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from backend import clock, db, runtime
from backend.catalogue.service import NotFarm, not_farm
from backend.county import catalogue_rule, changed_days, sale_months, shared_catch_up
from backend.county.store import (
    frozen_rows,
    ledger_reads,
    places,
    rollup_households,
    rollup_months,
    rollup_rebuild,
    rollup_rows,
    rollup_state,
)
from backend.county.store.rollup_rows import OVERDUE_KIND, REVERSED_KIND, chunks
from backend.ledger.projector import cashbook_amounts, cashbook_kind

log = logging.getLogger("cunzhan.county.rollups")

STATIONS_PER_TRANSACTION = 100
STATIONS_PER_REBUILD = 10


@dataclass(frozen=True)
class CountyRule:
    id: uuid.UUID
    timezone: zoneinfo.ZoneInfo
    return_days: int
    poverty_codes: frozenset[str]
    households_hash: str
    not_farm: NotFarm  # the catalogue's rule: which 代销 are not 农产品上行

    @property
    def products_hash(self) -> str:
        return self.not_farm.digest()

    def today(self, moment: datetime.datetime | None = None) -> datetime.date:
        moment = moment or clock.utcnow()
        return moment.astimezone(self.timezone).date()


async def _county_rule(county_id: uuid.UUID) -> CountyRule:
    county = await places.county(county_id)
    codes = await places.poverty_codes(county_id)
    digest = hashlib.sha256("\n".join(sorted(codes)).encode()).hexdigest()
    return CountyRule(
        id=county_id,
        timezone=county.zone,
        return_days=county.parcel_return_days,
        poverty_codes=codes,
        households_hash=digest,
        not_farm=await not_farm(county_id),
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
    event_type: str, data: dict[str, Any], poverty_codes: frozenset[str], products: NotFarm
) -> tuple[str, tuple[int, ...]]:
    """The kind an (unreversed) entry counts under and what it adds to its day (rollup_rows'
    FIGURES, in order)."""
    if event_type == "entry.reversed":
        return REVERSED_KIND, (1, 0, 0, 0, 0, 0, 0, 0)
    kind = cashbook_kind(event_type, data)
    amount, fee = cashbook_amounts(data)
    if event_type == "parcel.picked_up":
        fee = int(data.get("fee_fen", 0))  # storage fee taken at pickup
    farm = 0
    if event_type == "parcel.dispatched":
        farm = 1 if data.get("farm_product") else 0
    elif event_type == "sale.recorded":
        # 农产品上行 unless its catalogue product (by code, else its mapped text) is `other`.
        farm = 1 if products.is_farm(data.get("product_code"), data["product"]) else 0
    farm_amount = amount * farm if event_type == "sale.recorded" else 0
    poor = 1 if data.get("household_code") in poverty_codes else 0
    return kind, (1, amount, fee, farm, poor, amount * poor, farm_amount, fee * poor)


async def _figures(
    stations: list[uuid.UUID],
    rule: CountyRule,
    days: set[datetime.date],
    today,
    served: rollup_households.Served | None = None,
) -> dict[uuid.UUID, dict[tuple[datetime.date, str], list[int]]]:
    """Every figure of the given days of these stations, from the log grouped in the database;
    into `served`, the households they served. (A rebuild counts the same in SQL:
    store/rollup_rebuild.py.)"""
    figures: dict[uuid.UUID, dict] = {station: {} for station in stations}
    if not days:
        return figures
    groups = [g for g in await ledger_reads.day_groups(stations, sorted(days)) if g.day in days]
    _add_groups(figures, groups, rule)
    if served is not None:
        _add_served(served, groups)
    await _overdue_figures(stations, rule, days, today, figures)
    return figures


def _add_groups(
    figures: dict[uuid.UUID, dict], groups: list[ledger_reads.EventGroup], rule
) -> None:
    """Each group of entries counts as one entry of its sums, its number counted as many times
    (`event_figures` of one entry, scaled)."""
    for group in groups:
        data = {
            "service": group.service,
            "farm_product": group.farm_product,
            "product_code": group.product_code,
            "product": group.product,
            "household_code": group.household_code,
            "amount_fen": group.amount_fen,
            "fee_fen": group.fee_fen,
        }
        kind, one = event_figures(group.type, data, rule.poverty_codes, rule.not_farm)
        count, amount, fee, farm, poor, poor_amount, farm_amount, poor_fee = one
        values = (count * group.count, amount, fee, farm * group.count, poor * group.count,
                  poor_amount, farm_amount, poor_fee)  # fmt: skip
        _add(figures[group.station], (group.day, kind), values)


def _add_served(served: rollup_households.Served, groups: list[ledger_reads.EventGroup]) -> None:
    """The households the groups' sales, purchases and dispatches named, per station and day."""
    for group in groups:
        if group.household_code and group.type in rollup_households.SERVING_TYPES:
            served.setdefault(group.station, set()).add((group.day, group.household_code))


async def station_month(
    station_id: uuid.UUID, county_id: uuid.UUID, days: set[datetime.date]
) -> dict[tuple[datetime.date, str], list[int]]:
    """One station's figures of these days from the log, with the county's values as they are
    now (what a close freezes and a reopen recomputes)."""
    rule = await _county_rule(county_id)
    return (await _figures([station_id], rule, days, rule.today()))[station_id]


async def write_station_month(
    station_id: uuid.UUID,
    county_id: uuid.UUID,
    days: set[datetime.date],
    figures: dict[tuple[datetime.date, str], list[int]],
) -> None:
    """Inside the caller's write: the station's rows of these days and the county's sums."""
    await rollup_rows.serialise(county_id)
    await rollup_rows.replace_station_days([station_id], county_id, days, {station_id: figures})
    await rollup_rows.write_totals(county_id, days)


async def _overdue_figures(stations, rule: CountyRule, days, today, figures) -> None:
    """Parcels received N days before that were still on the shelf when the day began."""
    wanted = sorted(d for d in days if d <= today)
    if not wanted:
        return
    shift = datetime.timedelta(days=rule.return_days)
    wanted_set = set(wanted)
    for parcel in await ledger_reads.parcels_received_on(stations, [d - shift for d in wanted]):
        due = parcel.received_date + shift
        if due > today or due not in wanted_set:
            continue
        if parcel.closed_date is None or parcel.closed_date >= due:
            _add(figures[parcel.station], (due, OVERDUE_KIND), (1, 0, 0, 0, 0, 0, 0, 0))


async def _rule_and_state(
    county_id: uuid.UUID,
) -> tuple[CountyRule, rollup_state.RollupState | None]:
    """The county's rules as they are now, and what its rollups were counted with."""
    async with db.read_transaction():
        return await _county_rule(county_id), await rollup_state.state(county_id)


async def _save_state(county_id: uuid.UUID, rule: CountyRule, today: datetime.date) -> None:
    await rollup_state.save_state(
        county_id,
        today,
        rule.return_days,
        rule.households_hash,
        rule.products_hash,
        rule.not_farm.as_text(),
    )


# Refresh and rebuild --------------------------------------------------------------------------


async def _county_ids() -> list[uuid.UUID]:
    async with db.read_transaction():
        return await places.county_ids()


async def refresh(now: datetime.datetime | None = None) -> int:
    """Recompute the aggregates of the days that received events; returns days refreshed."""
    refreshed = 0
    for county_id in await _county_ids():
        refreshed += await refresh_county(county_id, now)
        await sale_months.catch_up(county_id)
    return refreshed


async def refresh_county(county_id: uuid.UUID, now: datetime.datetime | None = None) -> int:
    """One county: the (station, day) pairs recomputed. A changed rule means a rebuild, but for
    the catalogue's rule alone (catalogue_rule.py: the months of the sales it moved)."""
    return await _refresh_under_the_rule(county_id, may_rebuild=True, now=now)


async def _refresh_under_the_rule(
    county_id: uuid.UUID, may_rebuild: bool, now: datetime.datetime | None
) -> int:
    """The days behind recounted, a change of the catalogue's rule followed first (a page's
    read, `may_rebuild` False, leaves a large one to the job and counts nothing meanwhile)."""
    written = 0
    for _ in range(3):  # a catalogue change may land while this waits for the county's turn
        rule, state = await _rule_and_state(county_id)
        if state is None:
            shared_catch_up.begin_reading_behind()
            return written + await rebuild_county(county_id, now)
        if _rule_changed(state, rule):
            followed = await follow_catalogue(county_id, may_rebuild=may_rebuild, now=now)
            if followed is None:
                return written
            written += followed
            continue
        refreshed = await _refresh_days(county_id, rule, state, now)
        if refreshed is not None:
            return written + refreshed
    return written  # the catalogue kept changing: the next refresh counts the days behind


async def follow_catalogue(
    county_id: uuid.UUID,
    before: NotFarm | None = None,
    may_rebuild: bool = True,
    now: datetime.datetime | None = None,
) -> int | None:
    """The county's figures under the catalogue's rule as it is now (catalogue_rule.py): the
    months of the sales it moved recounted. `before`: the rule the rollups were counted with,
    when the caller knows it (else the one they kept). A rule of the rollups not known, another
    of their rules changed too, or a change in most of the county's months rebuilds it. With
    `may_rebuild` False (a page's read) only a little work is done here (a county's history is
    no work for a request): more is left to the rollup job, and None returned. Else the
    (station, day) pairs written."""
    async with _one_refresh_at_a_time(county_id):
        with db.on_primary():
            rule, state = await _rule_and_state(county_id)
            kept = before or (catalogue_rule.kept(state) if state else None)
            change = (county_id, state and state.products_hash, rule.products_hash)
            if not may_rebuild and change in _left_to_the_job():
                return None  # judged so already: every page read until the job's rebuild asks
            plan = None  # not known what moved: a rebuild
            if state and kept and not _rule_changed(state, _counted_with(rule, kept)):
                plan = await catalogue_rule.plan(county_id, kept, rule.not_farm)
            if not may_rebuild and (plan is None or plan.too_much_for_a_page()):
                _left_to_the_job().add(change)
                return None
            if state is None or plan is None or plan.rebuild:
                return await rebuild_county(county_id, now)
            counted = state.counted_through or rule.today(now)
            due = {
                station: catalogue_rule.days_of(firsts, counted)
                for station, firsts in plan.months.items()
            }
            return await _recount_days(county_id, rule, counted, {}, due)


def _left_to_the_job() -> set[tuple]:
    """The catalogue changes (county, rule counted with, rule now) a page's read found too much
    to follow itself (`catalogue_rule.plan` reads ~70–100 ms at 5 M entries to tell)."""
    try:
        return runtime.current().get("county-catalogue-changes-left-to-the-job", set)
    except RuntimeError:  # a script outside any app
        return set()


def _counted_with(rule: CountyRule, products: NotFarm) -> CountyRule:
    return dataclasses.replace(rule, not_farm=products)


# A page reads its county's figures several times (the month, the year, coverage…; the province
# page every county's): within one GET request the rollups are caught up once per county, so its
# reads agree with each other and the catching up's statements are not run four times over.
_caught_up_here: ContextVar[set[uuid.UUID] | None] = ContextVar("cunzhan_caught_up", default=None)


def catch_up_once_per_request(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        token = _caught_up_here.set(set())
        try:
            await app(scope, receive, send)
        finally:
            _caught_up_here.reset(token)

    return middleware


async def catch_up(county_id: uuid.UUID) -> int:
    done = _caught_up_here.get()
    if done is not None and county_id in done:
        return 0
    caught = await _shared_catch_up(county_id)
    if done is not None:
        done.add(county_id)
    return caught


async def _shared_catch_up(county_id: uuid.UUID) -> int:
    """A county's catch-ups in one app shared between the readers asking at once
    (shared_catch_up.py)."""
    if db.engine().current_transaction.get() is not None:
        return await _catch_up(county_id)  # inside the caller's transaction: its own
    try:
        shared = runtime.current().get(
            ("county-catch-up", county_id), shared_catch_up.SharedCatchUp
        )
    except RuntimeError:  # a script outside any app: nothing to share with
        return await _catch_up(county_id)
    return await shared.join(lambda: _catch_up(county_id))


async def _catch_up(county_id: uuid.UUID) -> int:
    """What every read of the county's figures runs first: the days behind recomputed (the first
    build of a county never rolled up included). A changed rule — the return days, the 脱贫户
    list — is left to the rollup job's rebuild: a county's whole history is no work for a page
    request, and until the job has run every reader sees the same figures all the same. It reads
    the primary even for a page read from a replica: what is behind decides what it writes."""
    with db.on_primary():
        return await _refresh_under_the_rule(county_id, may_rebuild=False, now=None)


async def moved_at(county_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime.datetime]:
    """When each county's rollups last moved (a refresh that finds nothing behind writes nothing
    and moves nothing). Left out: the counties never rolled up, and those with entries not yet
    rolled up (their figures are about to move)."""
    with db.on_primary():
        async with db.read_transaction():
            moved = await rollup_state.refreshed_at(county_ids)
            behind = await rollup_rows.counties_behind(list(moved))
    return {county: at for county, at in moved.items() if county not in behind}


def _rule_changed(state: rollup_state.RollupState, rule: CountyRule) -> bool:
    return (
        state.return_days != rule.return_days
        or state.households_hash != rule.households_hash
        or state.products_hash != rule.products_hash
    )


async def _refresh_days(
    county_id: uuid.UUID,
    rule: CountyRule,
    state: rollup_state.RollupState,
    now: datetime.datetime | None,
) -> int | None:
    """The days behind: those the stations' new events touch, and those come due since. The
    state is read again once the county's turn is taken: a catalogue change followed while this
    refresh waited moved it, and these days must be counted, and the state saved, under the rule
    it now names, not the one read before (None if that is not the county's rule any more: the
    caller follows the change first)."""
    async with _one_refresh_at_a_time(county_id):
        async with db.read_transaction():
            moved = await rollup_state.state(county_id) != state
        if moved:
            rule, now_state = await _rule_and_state(county_id)
            if now_state is None or _rule_changed(now_state, rule):
                return None
            state = now_state
        return await _refresh_behind(county_id, rule, state, now)


@contextlib.asynccontextmanager
async def _one_refresh_at_a_time(county_id: uuid.UUID) -> AsyncIterator[None]:
    """A county's refreshes in one process take turns: five staff opening pages at once would
    each recount the same busy days, and all but one throw their work away (the marks moved).
    The one that waited then finds little or nothing behind. (Across processes the marks keep
    them right, at the cost of the duplicated work.)"""
    try:
        turn = runtime.current().get(("county-refresh", county_id), asyncio.Lock)
    except RuntimeError:  # a script's refresh outside any app: nothing else runs beside it
        yield
        return
    async with turn:
        yield


async def _refresh_behind(
    county_id: uuid.UUID,
    rule: CountyRule,
    state: rollup_state.RollupState,
    now: datetime.datetime | None,
) -> int:
    today = rule.today(now)
    counted = state.counted_through
    if not state.products_rule:  # counted by a release that did not keep it: kept from now on
        async with db.write_transaction():
            await rollup_state.keep_products_rule(
                county_id, rule.products_hash, rule.not_farm.as_text()
            )
    shared_catch_up.begin_reading_behind()
    async with db.read_transaction():
        behind = await rollup_rows.stations_behind(county_id)
        due = await changed_days.days_come_due(county_id, rule.return_days, counted, today)
    if not behind and not due and counted == today:
        return 0  # up to date (every read of the figures asks): nothing is written
    work = {row.station: (row.rolled_seq, row.last_seq) for row in behind}
    return await _recount_days(county_id, rule, today, work, due)


async def _recount_days(
    county_id: uuid.UUID,
    rule: CountyRule,
    today: datetime.date,
    work: dict[uuid.UUID, tuple[int, int]],
    due: dict[uuid.UUID, set[datetime.date]],
) -> int:
    """The days of each station its events not yet rolled up (`work`: after, through] changed,
    and the days `due`, recounted from the log and written, a few stations per transaction; the
    stations' marks moved past `work`; then the county's sums of those days, and the state
    counted through `today` under `rule`. Returns the (station, day) pairs written."""
    stations = sorted(set(work) | set(due), key=str)
    touched_days: set[datetime.date] = set()
    pairs = 0
    for chunk in chunks(stations, STATIONS_PER_TRANSACTION):
        # The days are recounted in a read, and the write only puts the rows in: the single
        # writer is what the phones' pushes queue for, and a page's catch-up recounts whole days
        # of busy stations.
        async with db.read_transaction():
            seen = await rollup_rows.marks(chunk)
            ranges = changed_days.ranges_behind(chunk, work, seen)
            changed = (
                await changed_days.changed_days(ranges, rule.return_days, today) if ranges else {}
            )
            recounted = []
            for shared_days, members in changed_days.same_days(chunk, due, changed).items():
                served: rollup_households.Served = {}
                figures = await _figures(members, rule, set(shared_days), today, served)
                recounted.append((shared_days, members, figures, served))
        # One trip to SQLite's connection thread: between statements a write would wait for the
        # event loop, busy with staff pages, holding the writer the pushes queue for.
        days_written, pairs_written = await db.write_in_connection_thread(
            functools.partial(_write_recounted, county_id, chunk, seen, ranges, recounted)
        )
        touched_days |= days_written
        pairs += pairs_written
    await db.write_in_connection_thread(
        functools.partial(_write_county_sums, county_id, rule, today, touched_days)
    )
    return pairs


async def _write_recounted(
    county_id: uuid.UUID,
    chunk: list[uuid.UUID],
    seen: dict[uuid.UUID, int],
    ranges: dict[uuid.UUID, tuple[int, int]],
    recounted: list,
) -> tuple[set[datetime.date], int]:
    """Inside a write: the chunk's days as recounted, and its marks. Returns the days written
    and the (station, day) pairs."""
    await rollup_rows.serialise(county_id)
    # Another refresh may have moved a station's mark since the read: its days are that
    # refresh's (or the next one's) to write, not this read's.
    now_marked = await rollup_rows.marks(chunk)
    moved = {s for s in chunk if now_marked.get(s, 0) != seen.get(s, 0)}
    touched_days: set[datetime.date] = set()
    pairs = 0
    for shared_days, members, figures, served in recounted:
        members = [station for station in members if station not in moved]
        if not members:
            continue
        await frozen_rows.keep_frozen(members, set(shared_days), figures)
        await rollup_rows.replace_station_days(members, county_id, set(shared_days), figures)
        await rollup_households.replace(members, county_id, set(shared_days), served)
        touched_days |= shared_days
        pairs += len(shared_days) * len(members)
    await rollup_rows.set_marks(
        county_id, {s: through for s, (_, through) in ranges.items() if s not in moved}
    )
    return touched_days, pairs


async def _write_county_sums(
    county_id: uuid.UUID, rule: CountyRule, today: datetime.date, days: set[datetime.date]
) -> None:
    """Inside a write: the county's sums of these days, and the state counted through `today`."""
    await rollup_rows.serialise(county_id)
    await rollup_rows.write_totals(county_id, days)
    await rollup_households.write_county_months(county_id, days)
    await _save_state(county_id, rule, today)


async def rebuild(now: datetime.datetime | None = None) -> dict[str, int]:
    """Every county recomputed from the log alone."""
    totals = {"counties": 0, "days": 0}
    for county_id in await _county_ids():
        totals["counties"] += 1
        totals["days"] += await rebuild_county(county_id, now)
        await sale_months.rebuild_county(county_id)
    return totals


async def rebuild_county(county_id: uuid.UUID, now: datetime.datetime | None = None) -> int:
    """The whole county from the log, counted and written by the database a few stations per
    transaction (store/rollup_rebuild.py); the marks move with the rows they describe. Returns
    the station-days written."""
    async with db.read_transaction():
        rule = await _county_rule(county_id)
        stations = list(await ledger_reads.chain_heads(county_id))
    today = rule.today(now)
    for chunk in chunks(stations, STATIONS_PER_REBUILD):
        # Short writes: keepers keep syncing between them (SQLite has one writer).
        async with db.write_transaction():
            await rollup_rows.serialise(county_id)
            # The heads first: the rows include at least the events up to the marks, and any
            # later ones are recounted by the next refresh.
            heads = await ledger_reads.chain_heads_of(chunk)
            await _recount_whole(county_id, chunk, rule, today)
            await rollup_rows.set_marks(county_id, heads)
    async with db.write_transaction():
        await rollup_rows.serialise(county_id)
        await rollup_rows.write_totals(county_id, None)
        await rollup_households.write_county_months(county_id, None)
        await _save_state(county_id, rule, today)
        return await rollup_rows.station_day_count(county_id)


async def _recount_whole(
    county_id: uuid.UUID, stations: list[uuid.UUID], rule: CountyRule, today: datetime.date
) -> None:
    """Inside the write: the stations' rows of every day, their closed months as frozen, their
    month rows and the households they served."""
    await rollup_rows.delete_station_days("county_rollup_household", stations, None)
    await rollup_rebuild.start_recount()
    await rollup_rebuild.count_entries(
        county_id, stations, rule.not_farm.codes, rule.not_farm.texts
    )
    await rollup_rebuild.count_overdue(county_id, stations, rule.return_days, today)
    await rollup_rebuild.take_recount(stations)
    await frozen_rows.put_back(county_id, stations)
    await rollup_months.replace(stations, None)
