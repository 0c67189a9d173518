"""The counties a province (or prefecture) officer reads, side by side: coverage, the targets each
county set and how many it meets, and its month's and year's activity. Every figure is the
county's own read model (county/figures.py: the same answers as the county's pages, kpis and
workbook), so the province never counts differently from the county it compares.

A line is counted once and kept with the moment it was counted and the moment its county's
rollups had last moved (store.py; as DHIS2's analytics tables are). A kept line holds while it is
younger than `STALE_AFTER`, or while its county is unchanged: its rollups have not moved since
(a refresh that finds nothing new moves nothing), it is still the county's same day, and it is
younger than `UNCHANGED_AT_MOST` (registry and target edits move no rollup). The rollup job counts
again only the current months' lines that do not hold (`refresh_lines`; every county's, every
5 minutes, was ~16 s at 20.7 M events), and a read counts the missing and those that no longer
hold. The page and the API say when each line was counted. Counting one county reads its rollups
for the month, the year and the same days a year before (~80 statements): per request, a
province of 10 counties at 20 M events took seconds.

    compare(user, month | None) -> Comparison   (stored lines; counts those that do not hold)
    refresh_lines() -> int                       (the rollup job: the current months' lines that
                                                  changed; how many were counted)
    create_officer(actor, data) -> UserOut   (admin: the counties must exist)
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
import zoneinfo

import msgspec

from backend import clock
from backend.accounts import service as accounts
from backend.accounts.schemas import CurrentUser, ProvinceUserCreate, UserOut
from backend.county import figures, rollups
from backend.county import service as county_service
from backend.errors import DomainError
from backend.params import parse_month
from backend.province import store
from backend.registry import store as registry_store
from backend.registry.schemas import CountyOut

# Counties read side by side: their queries wait on the database, not on Python, so a province
# page takes about as long as its slowest few counties instead of all of them in a row; bounded
# so one page does not take every pooled connection from the phones.
COUNTIES_AT_ONCE = 4
# A stored line younger than this holds whatever moved since; the rollup job (every 5 minutes)
# normally counts a changed county's line before then.
STALE_AFTER = datetime.timedelta(minutes=10)
# An unchanged county's line holds until this old (what moves no rollup: stations built, targets).
UNCHANGED_AT_MOST = datetime.timedelta(hours=1)


class CountyLine(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    month: str  # YYYY-MM: the month asked for, else the county's own current month
    today: datetime.date  # the county's own calendar day
    stations_built: int  # 乡级服务站 + 村级服务点 open today
    stations_active: int  # of them with an entry (check-ins aside) in the last 30 days
    township_pct: float | None  # townships covered by a 乡级服务站; None without townships
    village_pct: float | None
    poor_village_pct: float | None
    targets_set: int  # the coverage targets and those the county set, judged on the year to date
    targets_met: int
    retail_fen: int  # the month's 网络零售额
    upward_sales_fen: int  # the month's 农产品上行
    parcels_in: int
    parcels_out: int
    year_upward_sales_fen: int  # 农产品上行, 1 January through the month's end (or today)
    year_upward_growth_pct: float | None  # on the same days a year before; None: no base
    year_retail_fen: int
    year_retail_growth_pct: float | None
    # When these figures were counted (UTC): they include every entry synced before it.
    counted_at: datetime.datetime | None = None


class Comparison(msgspec.Struct):
    counties: list[CountyLine]


def _pct(part: dict) -> float | None:
    return part["pct"] if part["total"] else None


async def county_line(county_id: uuid.UUID, month: str | None) -> CountyLine:
    """The county's line counted now, from its own read model."""
    counted_at = clock.utcnow()
    county = await county_service.county_row(county_id)
    today = county.today()
    chosen = month or f"{today:%Y-%m}"
    kpis = await figures.month_kpis(county_id, chosen)
    covered = await figures.coverage(county_id, today)
    levels = covered["stations"].values()
    month_figures, year = kpis["figures"], kpis["year_to_date"]
    return CountyLine(
        id=county.id,
        code=county.code,
        name=county.name,
        month=chosen,
        today=today,
        stations_built=sum(level["built"] for level in levels),
        stations_active=sum(level["active"] for level in levels),
        township_pct=_pct(covered["townships"]),
        village_pct=_pct(covered["villages"]),
        poor_village_pct=_pct(covered["poor_villages"]),
        targets_set=len(kpis["targets"]),
        targets_met=sum(1 for target in kpis["targets"] if target["met"]),
        retail_fen=month_figures["retail_fen"],
        upward_sales_fen=month_figures["upward_sales_fen"],
        parcels_in=month_figures["parcels_in"],
        parcels_out=month_figures["parcels_out"],
        year_upward_sales_fen=year["figures"]["upward_sales_fen"],
        year_upward_growth_pct=year["growth_pct"]["upward_sales_fen"],
        year_retail_fen=year["figures"]["retail_fen"],
        year_retail_growth_pct=year["growth_pct"]["retail_fen"],
        counted_at=counted_at,
    )


def _own_month(county: CountyOut) -> str:
    """The county's current month on its own calendar."""
    return f"{clock.utcnow().astimezone(zoneinfo.ZoneInfo(county.timezone)):%Y-%m}"


def _decoded(kept: store.Kept) -> CountyLine | None:
    try:
        line = msgspec.json.decode(kept.line, type=CountyLine)
    except msgspec.ValidationError:
        return None  # kept by an older version of the line: counted again
    return msgspec.structs.replace(line, counted_at=kept.counted_at)


def _holding(
    kept: store.Kept | None,
    moved_at: datetime.datetime | None,
    county: CountyOut,
    now: datetime.datetime,
    margin: datetime.timedelta = datetime.timedelta(0),
) -> CountyLine | None:
    """The kept line if it still holds at `now` (and `margin` later), else None."""
    line = _decoded(kept) if kept is not None else None
    if line is None or kept is None:
        return None
    age = now - kept.counted_at + margin
    if age <= STALE_AFTER:
        return line
    unchanged = (
        kept.rollups_as_of is not None
        and kept.rollups_as_of == moved_at
        and line.today == now.astimezone(zoneinfo.ZoneInfo(county.timezone)).date()
    )
    return line if unchanged and age <= UNCHANGED_AT_MOST else None


async def _count_and_keep(county_id: uuid.UUID, month: str) -> CountyLine:
    # The rollups caught up first, then when they last moved, then the line: any refresh that
    # lands after that moment moves them again, and the line is counted again.
    await rollups.catch_up(county_id)
    as_of = (await rollups.moved_at([county_id])).get(county_id)
    line = await county_line(county_id, month)
    assert line.counted_at is not None
    text = msgspec.json.encode(line).decode()
    await store.keep(county_id, line.month, store.Kept(text, line.counted_at, as_of))
    return line


async def _lines(counties: list[CountyOut], month: str | None) -> list[CountyLine]:
    """The counties' stored lines; those that no longer hold counted now, a few at a time."""
    keys = [(county.id, month or _own_month(county)) for county in counties]
    kept = await store.lines(keys)
    moved = await rollups.moved_at([county.id for county in counties])
    now = clock.utcnow()
    fresh: dict[uuid.UUID, CountyLine] = {}
    for county, key in zip(counties, keys, strict=True):
        line = _holding(kept.get(key), moved.get(county.id), county, now)
        if line is not None:
            fresh[county.id] = line
    side_by_side = asyncio.Semaphore(COUNTIES_AT_ONCE)

    async def line_of(county_id: uuid.UUID, chosen: str) -> CountyLine:
        if county_id in fresh:
            return fresh[county_id]
        async with side_by_side:
            return await _count_and_keep(county_id, chosen)

    return list(await asyncio.gather(*(line_of(county, chosen) for county, chosen in keys)))


async def compare(user: CurrentUser, month: str | None) -> Comparison:
    """The officer's counties (an admin: every county), by code."""
    if month:
        parse_month(month)  # 400 `invalid_month` before any county is read
    readable = await accounts.readable_counties(user)
    counties = await registry_store.counties()
    chosen = [c for c in counties if readable is None or c.id in readable]
    lines = await _lines(chosen, month)
    return Comparison(counties=sorted(lines, key=lambda line: line.code))


async def refresh_lines() -> int:
    """The counties' lines of their current month that would not hold until the next run (the
    rollup job, after the rollups' refresh: a county whose rollups did not move keeps its line),
    counted now and kept; how many were counted."""
    counties = await registry_store.counties()
    keys = [(county.id, _own_month(county)) for county in counties]
    kept = await store.lines(keys)
    moved = await rollups.moved_at([county.id for county in counties])
    now, counted = clock.utcnow(), 0
    for county, key in zip(counties, keys, strict=True):
        if _holding(kept.get(key), moved.get(county.id), county, now, margin=STALE_AFTER):
            continue
        await _count_and_keep(county.id, key[1])
        counted += 1
    return counted


async def create_officer(actor: CurrentUser | None, data: ProvinceUserCreate) -> UserOut:
    known = {county.id for county in await registry_store.counties()}
    for index, county_id in enumerate(data.county_ids):
        if county_id not in known:
            raise DomainError("unknown_county", field=f"county_ids[{index}]")
    return await accounts.create_province_user(actor, data)
