"""The monthly 台帐 workbook (written by workbook.py) and the same tables as CSV.

Sheets: 汇总 (the month's KPIs against the same month last year, growth in %, the year to date
against the same days last year and since the programme's start — the kpis API's figures —,
coverage, and the targets judged on the year to date), 考核指标 (the scorecard page's rows:
every target name with its actual, the county's target and met 是/否/未设目标; below them
the month's 县到村 48 h delivery as `GET …/delivery` answers it), one sheet
per kind with a row per station, 打卡 (weeks × stations), 调整 (entries dated in a closed month
and counted this month), 物流补贴 (claims per station), 补贴明细 (the parcels claimed), 培训台帐
(the month's training sessions with their 人次, then the year's training figures), 溯源 (the
county's trace batches with their scans in the month, the year to date and through the month's
end, and the county's 合计) and 近12个月 (the month and the eleven before it: trends_sheet.py).
Amounts are yuan with two decimals ('#,##0.00'), headers Chinese and frozen; days are date cells
('yyyy-mm-dd'). Nothing personal is exported: no table has a column for a
villager's phone, name, household code or account, nor for the free text one could be typed into
(a dispatch's destination). Masking is by field, never by a pattern over every cell: a tracking
number such as JDVA13912347777 is the courier's number and is written as recorded (API.md
Hardening).
"""

from __future__ import annotations

import asyncio
import csv
import datetime
import io
import operator
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from backend.county import definitions, figures, scorecard, service, training_sheet, trends_sheet
from backend.county.store.rollup_rows import StationSumLine
from backend.county.subsidies import sheet_claims
from backend.county.targets import TARGET_NAMES
from backend.county.workbook import (
    COVERAGE_HEADERS,
    DELIVERY_HEADERS,
    TARGET_HEADERS,
    build_workbook,
    is_formula_like,
)
from backend.delivery import service as delivery
from backend.delivery.schemas import CountyDelivery
from backend.errors import DomainError
from backend.i18n import translate
from backend.ledger.service import week_start
from backend.params import parse_month
from backend.trace import service as trace
from backend.web.format import Formatter

# Every kind a station records, in the order of the workbook; label = sheet name.
KIND_LABELS = {
    "parcel_received": "代收",
    "parcel_picked_up": "取件",
    "parcel_returned": "退回",
    "parcel_overdue": "滞留",
    "parcel_dispatched": "代发",
    "purchase_ordered": "代购",
    "purchase_delivered": "代购交付",
    "sale_recorded": "代销",
    "service_phone_topup": "话费充值",
    "service_electricity": "电费",
    "service_water": "水费",
    "service_broadband": "宽带",
    "service_ticket": "票务",
    "service_cash_withdrawal": "小额取现",
    "service_other": "其他缴费",
    "checkin_recorded": "打卡记录",
    "entry_reversed": "冲正",
}

# The 汇总's row of distinct 脱贫户 served: the kpis' `poor_households` (the month) and
# `year_to_date.poor_households`, and since the programme's start (figures.households_served).
HOUSEHOLDS = "poor_households"
# label, key, is money
KPI_ROWS = (
    ("网络零售额（元）", "retail_fen", True),
    ("农产品网络零售额（元）", "farm_retail_fen", True),
    ("农产品上行（代销）（元）", "upward_sales_fen", True),
    ("工业品下行（代购）（元）", "downward_sales_fen", True),
    ("代收快递（件）", "parcels_in", False),
    ("代发快递（件）", "parcels_out", False),
    ("其中农产品代发（件）", "farm_parcels_out", False),
    ("取件（件）", "parcels_picked_up", False),
    ("退回（件）", "parcels_returned", False),
    ("滞留超期（件）", "parcels_overdue", False),
    ("代购（笔）", "purchases", False),
    ("代销（笔）", "sales", False),
    ("便民缴费（笔）", "services", False),
    ("便民缴费金额（元）", "services_fen", True),
    ("站点收入（手续费与佣金，不含代发邮费）（元）", "income_fen", True),
    ("代发邮费（转付快递公司）（元）", "postage_fen", True),
    ("惠及脱贫户（笔）", "poverty_entries", False),
    ("惠及脱贫户（户）", HOUSEHOLDS, False),
    ("惠及脱贫户交易额（代销与代购）（元）", "poverty_amount_fen", True),
    ("其中脱贫户代销（元）", "poverty_sales_fen", True),
    ("其中脱贫户代购（元）", "poverty_purchases_fen", True),
    ("脱贫户代销所得（销售额减佣金）（元）", "poverty_payout_fen", True),
    ("打卡（次）", "checkins", False),
    ("冲正（笔）", "reversals", False),
)

STATION_HEADERS = ["乡镇", "站点编号", "站点名称"]
# The kind and check-in sheets also say whether the station's village is a 贫困村 (today's flag,
# as the poor-village figures count it).
POOR_VILLAGE_HEADER = "贫困村"
KIND_HEADERS = [
    ("笔数", "count", False),
    ("金额（元）", "amount_fen", True),
    ("手续费/佣金（元）", "fee_fen", True),
    ("农产品（笔）", "farm_count", False),
    ("脱贫户（笔）", "poverty_count", False),
    ("脱贫户金额（元）", "poverty_amount_fen", True),
]
# A station's line of a kind's figures in KIND_HEADERS' order, and which of them are money.
KIND_FIGURES = operator.attrgetter(*(key for _, key, _ in KIND_HEADERS))
KIND_MONEY = tuple(money for _, _, money in KIND_HEADERS)
CSV_TABLES = (
    "summary",
    "scorecard",
    "checkins",
    "subsidies",
    "subsidy_parcels",
    "adjustments",
    "training",
    "trace",
    "trends",
    *KIND_LABELS,
)


def yuan(fen: int) -> Decimal:
    """Exact yuan for the cell (fen / 100 as a decimal with two places, never a float sum): the
    fen with the point moved, a third of dividing and rounding's cost (~20,000 cells)."""
    return Decimal(int(fen)).scaleb(-2)


# The month's tables, as plain rows (shared by the workbook and the CSV) ------------------------


class Table:
    def __init__(self, title: str, headers: list[str], money_columns: set[int] | None = None):
        self.title = title
        self.headers = headers
        self.rows: list[Sequence[Any]] = []
        self.money_columns = money_columns or set()
        self.percent_columns: set[int] = set()
        # Only some tables have these: the summary its money rows and coverage block, the
        # subsidies table its rule line.
        self.money_rows: set[int] = set()
        self.coverage: list[list[Any]] = []
        self.targets: list[list[Any]] = []
        self.rule = ""
        # The scorecard's 县到村 block (DELIVERY_HEADERS): its title line and rows.
        self.delivery_title = ""
        self.delivery: list[list[Any]] = []


async def month_tables(county_id: uuid.UUID, month: str) -> dict[str, Any]:
    first, last = parse_month(month)
    county = await service.county_row(county_id)
    kpis = await figures.month_kpis(county_id, month, every_target=True)
    coverage = await figures.coverage(county_id)
    rows = await figures.station_totals(county_id, first, last)
    # Weeks of the month up to today: a week still to come has no check-in to miss.
    shown_until = max(first, min(last, county.today()))
    stations = await figures.checkin_weeks(county_id, _weeks_in(first, shown_until), shown_until)
    claims = await sheet_claims(county_id, month)
    adjusted = await figures.adjustments(county_id, first, last)
    since = kpis["since_start"]
    served_since = await figures.households_served(county_id, since["start"], since["end"])
    tables: dict[str, Table] = {
        "summary": _summary(county, month, kpis, coverage, served_since),
        "scorecard": _scorecard_table(county, kpis),
    }
    _delivery_block(tables["scorecard"], await delivery.county_delivery(county_id, month))
    by_kind: dict[str, list[StationSumLine]] = {}
    for row in rows:  # one pass, not one per kind (300 stations × 17 kinds of lines)
        by_kind.setdefault(row.kind, []).append(row)
    for kind, label in KIND_LABELS.items():
        tables[kind] = _kind_table(label, kind, by_kind.get(kind, []), stations["stations"])
    tables["checkins"] = _checkin_table(stations)
    tables["subsidies"], tables["subsidy_parcels"] = _subsidy_tables(claims)
    tables["adjustments"] = _adjustment_table(adjusted, stations["stations"])
    tables["training"] = await _training_table(county, first, last)
    tables["trace"] = await _trace_table(county_id, first, last)
    tables["trends"] = Table(trends_sheet.TITLE, trends_sheet.HEADERS, trends_sheet.MONEY_COLUMNS)
    tables["trends"].rows.extend(trends_sheet.rows(kpis["months"]))
    return {"county": county, "month": month, "tables": tables}


async def _training_table(county, first: datetime.date, last: datetime.date) -> Table:
    """The month's sessions and the year's training figures (training_sheet.py)."""
    table = Table(training_sheet.TITLE, training_sheet.HEADERS)
    table.rows.extend(await training_sheet.rows(county, first, last))
    return table


async def _trace_table(county_id: uuid.UUID, first: datetime.date, last: datetime.date) -> Table:
    """The batches registered by the month's end with their scans by the county-local day of each
    scan: in the month, in the year to date (1 January through the month's end) and in all
    through the month's end; the 合计 row is the county's own (trace.scans_between, as the kpis'
    溯源扫码). No household: the origin is the village."""
    table = Table(
        "溯源",
        ["溯源码", "产品", "产地村", "服务站", "采收日期", "数量", "单位", "检测",
         "本月扫码（次）", "本年累计扫码（次）", "截至月末累计扫码（次）"],
    )  # fmt: skip
    periods = [(first, last), (first.replace(month=1), last), (datetime.date.min, last)]
    scans = await trace.batch_scans(county_id, periods)
    for batch in await trace.list_batches(county_id, ""):
        if batch.created_at.date() > last:
            continue
        table.rows.append(
            [batch.code, batch.product, batch.village_name, batch.station_name,
             batch.harvested_on, batch.quantity,
             translate(f"trace.unit.{batch.unit}", "zh-CN") if batch.unit else "",
             translate(f"trace.inspection.{batch.inspection or 'none'}", "zh-CN"),
             *scans.get(batch.id, [0, 0, 0])]
        )  # fmt: skip
    totals = [await trace.scans_between(county_id, start, end) for start, end in periods]
    table.rows.append(["合计", "", "", "", None, None, "", "", *totals])
    return table


def _weeks_in(first: datetime.date, last: datetime.date) -> int:
    return (week_start(last) - week_start(first)).days // 7 + 1


def _month_title(month: str) -> str:
    """A month as the sheets' Chinese titles say it, as the pages do: 2026年12月, not 2026-12 月."""
    return Formatter("zh-CN").month_name(month)


def _summary(county, month, kpis, coverage, served_since: int) -> Table:
    year, since = kpis["year_to_date"], kpis["since_start"]
    table = Table(
        f"{county.name} {_month_title(month)}电商服务站台帐汇总",
        ["指标", f"{month}", "去年同月", "同比增长（%）",
         f"本年累计（{year['start']:%m-%d} 至 {year['end']:%m-%d}）", "去年同期累计",
         "累计同比增长（%）", f"自项目开始（{since['start']:%Y-%m-%d} 起）"],
    )  # fmt: skip
    for label, key, money in KPI_ROWS:
        if key == HOUSEHOLDS:
            month_served, year_served = kpis[HOUSEHOLDS], year[HOUSEHOLDS]
            table.rows.append(
                [label, month_served["served"], month_served["last_year"],
                 month_served["growth_pct"], year_served["served"], year_served["last_year"],
                 year_served["growth_pct"], served_since]
            )  # fmt: skip
            continue
        values = [
            kpis["figures"][key],
            kpis["last_year"][key],
            year["figures"][key],
            year["last_year"][key],
            since["figures"][key],
        ]
        now, before, so_far, so_far_before, all_along = (
            [yuan(value) for value in values] if money else values
        )
        table.rows.append(
            [label, now, before, kpis["growth_pct"][key], so_far, so_far_before,
             year["growth_pct"][key], all_along]
        )  # fmt: skip
    table.money_rows = {i for i, (_, _, money) in enumerate(KPI_ROWS) if money}
    table.percent_columns = {3, 6}
    table.targets = [_target_row(target) for target in kpis["targets"]]
    table.coverage = [
        [label, c["total"], c["covered"], c["pct"], c["target_pct"], "是" if c["met"] else "否"]
        for label, c in (
            ("乡镇", coverage["townships"]),
            ("行政村", coverage["villages"]),
            ("贫困村", coverage["poor_villages"]),
            ("贫困乡镇", coverage["poor_townships"]),
        )
    ]
    return table


COVERAGE_TARGET_LABELS = {
    "township_coverage_pct": "乡镇覆盖率（%）",
    "village_coverage_pct": "行政村覆盖率（%）",
    "poor_village_coverage_pct": "贫困村覆盖率（%）",
}


def _target_row(target: dict[str, Any]) -> list[Any]:
    """A judged target as the workbook shows it: amounts in 元, growth and coverage in %."""
    name = target["name"]
    unit = TARGET_NAMES.get(name, "pct")
    label = COVERAGE_TARGET_LABELS.get(name) or translate(f"field.target_{name}", "zh-CN")
    value, actual = target["target"], target["actual"]
    if unit == "fen":
        label += "（元）"
        value, actual = yuan(value), None if actual is None else yuan(actual)
    shown = _reason(target["reason"]) if actual is None else actual
    return [label, value, shown, "是" if target["met"] else "否"]


def _reason(reason: str | None) -> str:
    """Why a figure has no value, as the workbook writes it (empty when it has one)."""
    return translate(f"county_page.scorecard.reason.{reason}", "zh-CN") if reason else ""


# The scorecard page's units, as the sheet's row headers write them.
SCORECARD_UNITS = {"yuan": "元", "pct": "%", "stations": "个", "households": "户", "parcels": "件",
                   "visits": "人次", "people": "人", "scans": "次", "points": "个",
                   "sessions": "场"}  # fmt: skip
SCORECARD_MET = {True: "是", False: "否", None: "未设目标"}


def _scorecard_table(county, kpis: dict[str, Any]) -> Table:
    """考核指标: the scorecard page's rows (scorecard.rows of the same kpis), values only: 元 with
    two decimals, percent with one, counts whole; the unit in each row's header; 说明 says why a
    growth has no value (nothing a year before)."""
    year = kpis["year_to_date"]
    table = Table(
        f"{county.name} 考核指标（本年累计 {year['start']:%Y-%m-%d} 至 {year['end']:%Y-%m-%d}）",
        ["类别", "指标", "实际（本年累计）", "目标", "是否达标", "说明"],
    )
    for row in scorecard.rows(kpis):
        group = translate(f"county_page.scorecard.group.{row['group']}", "zh-CN")
        name = translate(f"county_page.scorecard.row.{row['name']}", "zh-CN", due=row.get("due"))
        label = f"{name}（{SCORECARD_UNITS[row['unit']]}）"
        actual, target = row["actual"], row["target"]
        if row["unit"] == "yuan":
            actual = None if actual is None else yuan(actual)
            target = None if target is None else yuan(target)
        met, note = SCORECARD_MET[row["met"]], _reason(row["reason"])
        if row.get("status") == "due":  # a milestone not yet due: its progress
            met = "未到期"
            note = translate("county_page.scorecard.milestone_due", "zh-CN", due=row["due"],
                             pct=f"{row['progress_pct']:g}%")  # fmt: skip
        table.rows.append([group, label, actual, target, met, note])
    return table


def _delivery_rate(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _delivery_block(table: Table, month: CountyDelivery) -> None:
    """The month's 县到村 48 h under the scorecard's rows: the county's total, each carrier, each
    route with legs (the logistics page's and `GET …/delivery`'s figures), then the legs still
    open past 48 h. Rate in percent with one decimal, median in hours."""
    table.delivery_title = f"县到村 48 小时配送（{_month_title(month.month)}，与县乡村物流页相同）"

    def line(scope: str, name: str, figures: Any) -> list[Any]:
        return [scope, name, figures.legs, figures.within_48h, _delivery_rate(figures.rate),
                figures.median_hours]  # fmt: skip

    table.delivery.append(line("全县合计", "", month.totals))
    for carrier in month.carriers:
        name = translate(f"delivery.carrier.{carrier.carrier}", "zh-CN")
        table.delivery.append(line("快递公司", name, carrier))
    for route in month.stations:
        if route.legs:
            name = f"{route.station_code} {route.station_name}"
            table.delivery.append(line("站点线路", name, route))
    table.delivery.append(
        ["超过 48 小时仍未送达（件）", "", month.totals.late_open, None, None, None]
    )


def _kind_table(label: str, kind: str, rows: list[StationSumLine], stations: list[dict]) -> Table:
    headers = [*STATION_HEADERS, POOR_VILLAGE_HEADER] + [h for h, _, _ in KIND_HEADERS]
    if kind == definitions.POSTAGE_KIND:  # a dispatch's fee is the postage, passed on
        headers[headers.index("手续费/佣金（元）")] = "代发邮费（元）"
    money = {len(STATION_HEADERS) + 1 + i for i, (_, _, m) in enumerate(KIND_HEADERS) if m}
    table = Table(label, headers, money)
    sums: dict[uuid.UUID, list[int]] = {}
    for row in rows:  # the kind's lines (one per station: station_totals sums the month)
        values = KIND_FIGURES(row)
        line = sums.get(row.station)
        if line is None:
            sums[row.station] = list(values)
        else:
            line[:] = map(operator.add, line, values)
    total = [0] * len(KIND_HEADERS)
    nothing = [0] * len(KIND_HEADERS)
    for station in stations:
        own = sums.get(station["station_id"], nothing)
        total = list(map(operator.add, total, own))
        table.rows.append((*_station_cells(station), *_cells(own)))
    table.rows.append(("合计", "", "", "", *_cells(total)))
    return table


def _station_cells(station: dict) -> list[Any]:
    """乡镇, 站点编号, 站点名称 and 贫困村 (是/否) of a station of the check-in grid."""
    poor = "是" if station["poor_village"] else "否"
    return [station["township"], station["code"], station["name"], poor]


def _cells(line: Sequence[int]) -> list[Any]:
    return [yuan(v) if m else v for v, m in zip(line, KIND_MONEY, strict=True)]


def _checkin_table(weeks: dict[str, Any]) -> Table:
    weeks_shown = [f"{monday:%m-%d}周" for monday in weeks["weeks"]]
    headers = [*STATION_HEADERS, POOR_VILLAGE_HEADER, *weeks_shown, "打卡周数"]
    table = Table("打卡", headers)
    for station in weeks["stations"]:
        marks = ["✓" if checked else "✗" for checked in station["checked"]]
        table.rows.append([*_station_cells(station), *marks, sum(station["checked"])])
    compliance = ["" if pct is None else pct for pct in weeks["compliance_pct"]]
    table.rows.append(["打卡率（%）", "", "", "", *compliance, ""])
    return table


def _adjustment_table(adjusted: list, stations: list[dict]) -> Table:
    """调整: entries dated in a closed month, counted this month (already in every sheet)."""
    table = Table(
        "调整",
        ["站点编号", "站点名称", "业务日期", "所属月份（已关账）", "计入日期", "类型", "金额（元）",
         "手续费/佣金（元）"],
        {6, 7},
    )  # fmt: skip
    names = {station["station_id"]: (station["code"], station["name"]) for station in stations}
    for entry in adjusted:
        code, name = names.get(entry.station_id, ("", ""))
        label = KIND_LABELS.get(entry.kind) or {
            "cash_counted": "日结",
            "entry_reversed": "冲正",
        }.get(entry.kind, entry.kind)
        table.rows.append(
            [code, name, entry.own_date, entry.month, entry.counted_on, label,
             yuan(entry.amount_fen), yuan(entry.fee_fen)]
        )  # fmt: skip
    return table


def _subsidy_tables(claims: dict[str, Any]) -> tuple[Table, Table]:
    rule = claims["rule"]
    summary = Table(
        "物流补贴",
        [*STATION_HEADERS, "符合条件（件）", "重复申报（件）", "检测不合格取消（件）",
         "超出上限（件）", "申报金额（元）", "应付金额（元）"],
        {7, 8},
    )  # fmt: skip
    failures = rule.get("withdraw_after_failures", 0)
    inspection = (
        translate("county_page.subsidy.inspection_rule", "zh-CN", n=failures)
        if failures
        else translate("county_page.subsidy.inspection_rule_off", "zh-CN")
    )
    summary.rule = (
        f"规则：每件 {yuan(rule['fen_per_parcel'])} 元，"
        f"{'仅农产品' if rule['farm_only'] else '全部代发'}，"
        f"每站每月上限 {yuan(rule['monthly_cap_fen'])} 元；{inspection}"
    )
    parcels = Table(
        "补贴明细",
        ["站点编号", "站点名称", "日期", "快递公司", "运单号", "重量（克）", "农产品", "户码",
         "状态", "重复于站点", "补报（原属月份）"],
    )  # fmt: skip
    status_labels = {
        "paid": "计补",
        "duplicate": "重复（不计）",
        "withdrawn": "检测不合格，取消资格（不计）",
        "over_cap": "超出上限",
    }
    farm = {True: "是", False: "否"}
    lines = parcels.rows
    for station in claims["stations"]:
        code, name = station["code"], station["name"]
        summary.rows.append(
            [
                station["township"], code, name, station["qualifying"],
                station["duplicates"], station["withdrawn"], station["over_cap"],
                yuan(station["claimed_fen"]), yuan(station["payable_fen"]),
            ]
        )  # fmt: skip
        # subsidies.SheetParcel tuples, nothing looked up by name; a row is a tuple, not a list:
        # the garbage collector stops following a tuple of plain values, and a month's 30,000
        # lists made it sweep the whole heap again and again.
        for day, carrier, number, weight, farm_product, household, status, of, late in station[
            "parcels"
        ]:
            lines.append(
                (code, name, day, carrier, number, weight, farm[bool(farm_product)], household,
                 status_labels[status], of or "", late or "")
            )  # fmt: skip
    totals = claims["totals"]
    summary.rows.append(
        ["合计", "", "", totals["qualifying"], totals["duplicates"], totals["withdrawn"],
         totals["over_cap"], yuan(totals["claimed_fen"]), yuan(totals["payable_fen"])]
    )  # fmt: skip
    return summary, parcels


async def workbook_bytes(county_id: uuid.UUID, month: str) -> tuple[bytes, str]:
    tables = await month_tables(county_id, month)
    data = await asyncio.to_thread(build_workbook, tables, list(KIND_LABELS))
    return data, f"{tables['county'].name}-{month}-电商服务站台帐.xlsx"


async def csv_bytes(county_id: uuid.UUID, month: str, table: str) -> tuple[bytes, str]:
    parse_month(month)
    if table not in CSV_TABLES:
        raise DomainError("county_unknown_table", status=400, field="table")
    tables = await month_tables(county_id, month)
    chosen = tables["tables"][table]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_value(value) for value in chosen.headers])
    for row in chosen.rows:
        writer.writerow([_csv_value(value) for value in row])
    if table == "summary":
        writer.writerow([])
        writer.writerow(COVERAGE_HEADERS)
        for row in chosen.coverage:
            writer.writerow([_csv_value(value) for value in row])
        writer.writerow([])
        writer.writerow(TARGET_HEADERS)
        for row in chosen.targets:
            writer.writerow([_csv_value(value) for value in row])
    if table == "scorecard":  # the month's 县到村 block, as under the sheet's rows
        writer.writerow([])
        writer.writerow([chosen.delivery_title])
        writer.writerow(DELIVERY_HEADERS)
        for row in chosen.delivery:
            writer.writerow([_csv_value(value) for value in row])
    # The BOM makes Excel read the file as UTF-8 (Chinese headers intact).
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    label = KIND_LABELS.get(table) or chosen.title
    return data, f"{tables['county'].name}-{month}-{label}.csv"


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if is_formula_like(value):
        return "'" + value  # the spreadsheet's own mark for "this is text"
    return value


def content_disposition(filename: str) -> str:
    """An ASCII fallback and the real (Chinese) name per RFC 5987/6266."""
    fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "-._" else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
