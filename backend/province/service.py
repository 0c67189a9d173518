"""The counties a province (or prefecture) officer reads, side by side: coverage, the targets each
county set and how many it meets, and its month's and year's activity. Every figure is the
county's own read model (county/figures.py: the same answers as the county's pages, kpis and
workbook), so the province never counts differently from the county it compares.

A line is counted once and kept with the moment it was counted (store.py; as DHIS2's analytics
tables are): the rollup job counts every county's current month every few minutes
(`refresh_lines`), and a read counts again only a line that is missing or older than
`STALE_AFTER`. The page and the API say when each line was counted. Counting one county reads its
rollups for the month, the year and the same days a year before (~80 statements): per request, a
province of 10 counties at 20 M events took seconds.

    compare(user, month | None) -> Comparison   (stored lines; counts the missing and stale)
    refresh_lines() -> int                       (the rollup job: every county's current month)
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
from backend.county import figures
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
# A stored line older than this is counted again when read; the rollup job (every 5 minutes)
# normally counts it before then.
STALE_AFTER = datetime.timedelta(minutes=10)


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


def _decoded(text: str, counted_at: datetime.datetime) -> CountyLine | None:
    try:
        line = msgspec.json.decode(text, type=CountyLine)
    except msgspec.ValidationError:
        return None  # kept by an older version of the line: counted again
    return msgspec.structs.replace(line, counted_at=counted_at)


async def _count_and_keep(county_id: uuid.UUID, month: str) -> CountyLine:
    line = await county_line(county_id, month)
    assert line.counted_at is not None
    await store.keep(county_id, line.month, msgspec.json.encode(line).decode(), line.counted_at)
    return line


async def _lines(counties: list[CountyOut], month: str | None) -> list[CountyLine]:
    """The counties' stored lines; the missing and the stale counted now, a few at a time."""
    keys = [(county.id, month or _own_month(county)) for county in counties]
    kept = await store.lines(keys)
    now = clock.utcnow()
    fresh: dict[uuid.UUID, CountyLine] = {}
    for key, (text, counted_at) in kept.items():
        line = _decoded(text, counted_at) if now - counted_at <= STALE_AFTER else None
        if line is not None:
            fresh[key[0]] = line
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
    """Every county's line of its current month, counted now and kept (the rollup job, after
    the rollups' refresh); how many were counted."""
    counties = await registry_store.counties()
    for county in counties:
        await _count_and_keep(county.id, _own_month(county))
    return len(counties)


async def create_officer(actor: CurrentUser | None, data: ProvinceUserCreate) -> UserOut:
    known = {county.id for county in await registry_store.counties()}
    for index, county_id in enumerate(data.county_ids):
        if county_id not in known:
            raise DomainError("unknown_county", field=f"county_ids[{index}]")
    return await accounts.create_province_user(actor, data)
