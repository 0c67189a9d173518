"""The counties a province (or prefecture) officer reads, side by side: coverage, the targets each
county set and how many it meets, and its month's and year's activity. Every figure is the
county's own read model (county/figures.py: the same answers as the county's pages, kpis and
workbook), so the province never counts differently from the county it compares.

    compare(user, month | None) -> Comparison
    create_officer(actor, data) -> UserOut   (admin: the counties must exist)
"""

from __future__ import annotations

import asyncio
import datetime
import uuid

import msgspec

from backend.accounts import service as accounts
from backend.accounts.schemas import CurrentUser, ProvinceUserCreate, UserOut
from backend.county import figures
from backend.county import service as county_service
from backend.errors import DomainError
from backend.params import parse_month
from backend.registry import store as registry_store

# Counties read side by side: their queries wait on the database, not on Python, so a province
# page takes about as long as its slowest few counties instead of all of them in a row; bounded
# so one page does not take every pooled connection from the phones.
COUNTIES_AT_ONCE = 4


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


class Comparison(msgspec.Struct):
    counties: list[CountyLine]


def _pct(part: dict) -> float | None:
    return part["pct"] if part["total"] else None


async def county_line(county_id: uuid.UUID, month: str | None) -> CountyLine:
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
    )


async def compare(user: CurrentUser, month: str | None) -> Comparison:
    """The officer's counties (an admin: every county), by code."""
    if month:
        parse_month(month)  # 400 `invalid_month` before any county is read
    readable = await accounts.readable_counties(user)
    counties = await registry_store.counties()
    chosen = [c for c in counties if readable is None or c.id in readable]
    side_by_side = asyncio.Semaphore(COUNTIES_AT_ONCE)

    async def line_of(county_id: uuid.UUID) -> CountyLine:
        async with side_by_side:
            return await county_line(county_id, month)

    lines = await asyncio.gather(*(line_of(county.id) for county in chosen))
    return Comparison(counties=sorted(lines, key=lambda line: line.code))


async def create_officer(actor: CurrentUser | None, data: ProvinceUserCreate) -> UserOut:
    known = {county.id for county in await registry_store.counties()}
    for index, county_id in enumerate(data.county_ids):
        if county_id not in known:
            raise DomainError("unknown_county", field=f"county_ids[{index}]")
    return await accounts.create_province_user(actor, data)
