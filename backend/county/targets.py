"""The county's programme settings: the day its programme started and the targets it has set.

    programme(county_id) -> {"programme_start", "targets": [{"name", "target"}], "names"}
    set_programme(user, county_id, start | None, targets) -> the same, after the change
    programme_start(county) -> date   (default: the day the county was created, local)
    programme_start_of(county_id) -> date   (the same, by the county's id)
    township_targets(township_id) / set_township_targets(user, county_id, township_id, targets)

Target names come from a fixed list (TARGET_NAMES, documented in docs/api.md); each is judged in
the kpis' `targets` against the year to date (figures.py defines the actuals). The coverage
targets in percent stay the registry's county settings and are judged beside them. The targets
the county sets for one township (TOWNSHIP_TARGET_NAMES) are judged in the township's overview.
"""

from __future__ import annotations

import datetime
import math
import uuid
from typing import Any

from backend import clock, db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.county.store import places, programme_rows
from backend.county.store.programme_rows import TargetRow
from backend.errors import DomainError

# name → unit. Amounts are fen and counts whole numbers; growth and coverage are percent.
TARGET_NAMES: dict[str, str] = {
    "stations_township": "count",  # 乡级服务站 built today
    "stations_village": "count",  # 村级服务点 built today
    "online_retail_fen": "fen",  # 网络零售额, year to date
    "online_retail_growth_pct": "pct",  # 网络零售额 growth on the same days a year before
    "upward_sales_fen": "fen",  # 农产品上行 (代销), year to date
    "upward_sales_growth_pct": "pct",
    "downward_sales_fen": "fen",  # 工业品下行 (代购), year to date
    "downward_sales_growth_pct": "pct",
    "farm_parcels_out": "count",  # 农产品代发 parcels, year to date
    # 脱贫户 (today's registry flag) named on a sale, purchase or dispatch, year to date
    "poor_households_served": "count",
    # what the 脱贫户 were paid out for their produce (their 代销 less the commission), year to
    # date, and its growth on the same days a year before (岳普湖: up 20 % a year)
    "poverty_payout_fen": "fen",
    "poverty_payout_growth_pct": "pct",
    # 贫困村: 网络零售额, 农产品上行 and 惠及脱贫户金额 (sold, bought or paid for 脱贫户) of the
    # stations whose village is a 贫困村, year to date, and their growth on the same days a year
    # before (the seeds: up 20 % a year)
    "poor_village_retail_fen": "fen",
    "poor_village_sales_growth_pct": "pct",
    "poor_village_upward_sales_fen": "fen",
    "poor_village_upward_growth_pct": "pct",
    "poor_village_poverty_amount_fen": "fen",
    "poor_village_poverty_growth_pct": "pct",
    "training_visits": "count",  # 培训人次, year to date (a person trained twice is two)
    # 培训人次 since the programme's start through the period's end: a milestone across years
    # (「累计培训不低于4000人次」, 「2018年10月底前完成50%」) is this target read for its month
    "training_visits_since_start": "count",
    "poor_training_visits": "count",  # of them from 脱贫户
    # 脱贫户's share of the 培训人数, persons not 人次 (「培训人数中贫困人口占30%以上」, seed 000)
    "poor_training_share_pct": "pct",
    "training_people": "count",  # 培训人数: distinct persons trained, year to date
    # persons who found work, opened an online shop or started a business (training's
    # CONVERSIONS) of the persons trained, in percent
    "training_conversion_pct": "pct",
    # 人次 of the sessions of one kind (大冶: 5,000 电商普及 and 4,000 创业), year to date
    "training_visits_ecommerce_basics": "count",
    "training_visits_entrepreneurship": "count",
    # 贫困村 with an e-commerce leader (电商带头人) by the period's end, in percent (岳普湖: one per
    # poor village; training/figures.py leaders_by)
    "poor_village_leaders_pct": "pct",
    "trace_scans": "count",  # 溯源扫码, scans of the county's labels in the year to date
    # 溯源点: the distinct origins (household, else station, else village) of the trace batches
    # registered by the period's end (trace/points.py; cumulative, as 「建设溯源点5家以上」)
    "trace_points": "count",
    # 县到村 legs dispatched in the year to date delivered within 48 h, in percent (delivery's own
    # month figures: within_48h of the legs decided, closed or open past 48 h)
    "delivery_48h_pct": "pct",
    # 快递进村 (delivery/reach.py), year to date: the stations open today (the period's end) and
    # the townships that any courier delivered a parcel to, in percent
    "courier_station_reach_pct": "pct",
    "courier_township_reach_pct": "pct",
    # 六统一: the stations open today with 监控、货架、电脑、打印机 all on file, and with the
    # programme's sign, in percent (county/standards.py; the station files as last saved)
    "stations_equipped_pct": "pct",
    "stations_signage_pct": "pct",
    # 月结: station-months of the year's judged months (deadline past) submitted / closed by the
    # county's month_close_day, in percent (county/month_close.py)
    "months_submitted_on_time_pct": "pct",
    "months_closed_on_time_pct": "pct",
}
# What the county may set for one township: judged in township.township_overview against the
# township's coverage today and its year to date (the overview's own figures).
TOWNSHIP_TARGET_NAMES: dict[str, str] = {
    "stations_village": "count",  # 村级服务点 built today
    "village_pct": "pct",  # villages covered by a 村级服务点, percent
    "poor_village_pct": "pct",  # poor villages covered, percent
    "online_retail_fen": "fen",  # 网络零售额 of the township's stations, year to date
    "upward_sales_fen": "fen",  # 农产品上行 (代销), year to date
    "farm_parcels_out": "count",  # 农产品代发 parcels, year to date
    "training_visits": "count",  # 培训人次 of the sessions held in the township, year to date
}
# Judged beside them, their targets being the registry's county settings (PATCH the county).
COVERAGE_TARGETS = ("township_coverage_pct", "village_coverage_pct", "poor_village_coverage_pct")
MAX_TARGET = 10**15


async def programme_start(county: places.CountyRow) -> datetime.date:
    """The day the county's programme started: its setting, else the day it was created."""
    async with db.read_transaction():
        start = await programme_rows.programme_start(county.id)
    return start or county.created_at.astimezone(county.zone).date()


async def programme_start_of(county_id: uuid.UUID) -> datetime.date:
    """The programme start of the county of that id (app.py hands it to the training figures,
    which sit below this capability, for their totals since the start)."""
    return await programme_start(await _county(county_id))


async def programme(county_id: uuid.UUID) -> dict[str, Any]:
    async with db.read_transaction():
        county = await places.county(county_id)
        rows = await programme_rows.targets(county_id)
    order = list(TARGET_NAMES)
    rows.sort(key=lambda row: order.index(row.name) if row.name in order else len(order))
    return {
        "programme_start": await programme_start(county),
        "targets": [{"name": row.name, "target": target_number(row.target)} for row in rows],
        "names": list(TARGET_NAMES),
    }


def target_number(value: float) -> float | int:
    """A target as written: a whole number without its `.0`."""
    return int(value) if float(value).is_integer() else value


def check_targets(
    targets: list[tuple[str, float]], names: dict[str, str] = TARGET_NAMES
) -> list[TargetRow]:
    seen: set[str] = set()
    rows = []
    for index, (name, value) in enumerate(targets):
        field = f"targets[{index}]"
        if name not in names:
            raise DomainError("county_unknown_target", field=f"{field}.name", name=name)
        if name in seen:
            raise DomainError("county_duplicate_target", field=f"{field}.name", name=name)
        seen.add(name)
        number = float(value)
        if not math.isfinite(number) or abs(number) > MAX_TARGET:
            raise DomainError("county_invalid_target", field=f"{field}.target")
        if names[name] != "pct" and (number < 0 or not number.is_integer()):
            raise DomainError("county_invalid_target", field=f"{field}.target")
        if names[name] == "pct" and not _possible_percent(name, number):
            raise DomainError("county_invalid_target", field=f"{field}.target")
        rows.append(TargetRow(name, number))
    return rows


def _possible_percent(name: str, number: float) -> bool:
    """A share (coverage, equipped stations, 48 h delivery) lies in 0–100 %; a growth may pass
    100 % but no fall passes -100 %. A typo (-3, 250) was saved and then judged met: the printed
    scorecard read "-3% ✓ 已达标"."""
    if "growth" in name:
        return number >= -100
    return 0 <= number <= 100


async def set_programme(
    user: CurrentUser,
    county_id: uuid.UUID,
    start: datetime.date | None,
    targets: list[tuple[str, float]] | None,
) -> dict[str, Any]:
    """Set the programme start (when given) and the county's targets (when given: they replace
    the ones set before)."""
    rows = check_targets(targets) if targets is not None else None
    county = await _county(county_id)
    if start is not None and not datetime.date(2000, 1, 1) <= start <= county.today():
        raise DomainError("county_invalid_programme_start", field="programme_start")
    async with db.write_transaction():
        if start is not None:
            await programme_rows.set_programme_start(county_id, start, clock.utcnow())
        if rows is not None:
            await programme_rows.replace_targets(county_id, rows)
        await audit(
            user,
            "county.programme_set",
            "county",
            county_id,
            county_id=county_id,
            programme_start=start.isoformat() if start else None,
            targets={row.name: row.target for row in rows} if rows is not None else None,
        )
    return await programme(county_id)


async def township_targets(township_id: uuid.UUID) -> list[TargetRow]:
    """The targets the county has set for the township, in TOWNSHIP_TARGET_NAMES' order."""
    async with db.read_transaction():
        rows = await programme_rows.township_targets(township_id)
    order = list(TOWNSHIP_TARGET_NAMES)
    return sorted(rows, key=lambda row: order.index(row.name) if row.name in order else len(order))


async def set_township_targets(
    user: CurrentUser,
    county_id: uuid.UUID,
    township_id: uuid.UUID,
    targets: list[tuple[str, float]],
) -> list[TargetRow]:
    """The township's targets become these (checked first; audited)."""
    rows = check_targets(targets, TOWNSHIP_TARGET_NAMES)
    async with db.write_transaction():
        await programme_rows.replace_township_targets(county_id, township_id, rows)
        await audit(
            user,
            "township.targets_set",
            "township",
            township_id,
            county_id=county_id,
            targets={row.name: row.target for row in rows},
        )
    return await township_targets(township_id)


async def set_programme_start(county_id: uuid.UUID, start: datetime.date) -> None:
    """For the demo loader: its county's programme starts on the first day of its history."""
    async with db.write_transaction():
        await programme_rows.set_programme_start(county_id, start, clock.utcnow())


async def _county(county_id: uuid.UUID) -> places.CountyRow:
    async with db.read_transaction():
        return await places.county(county_id)
