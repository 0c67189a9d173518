"""The monthly 台帐 workbook written from export.py's tables through backend/web/xlsx.py: each
sheet streamed row by row (a month's 补贴明细 is one row per parcel, tens of thousands), with the
formats known before a row is written. The formats: amounts '#,##0.00', days 'yyyy-mm-dd',
percent '0.0', bold green headers and frozen panes below them, widths from the longest value.
Cell for cell what openpyxl's write-only mode wrote before (tests/test_county_workbook.py compares
the two), at a fraction of its CPU: openpyxl spent ~25 µs on each cell's XML.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import zip_longest
from typing import Any

from backend.web.xlsx import Style, Styled, Workbook

YUAN = "#,##0.00"
DAY = "yyyy-mm-dd"
PERCENT = "0.0"
PLAIN = Style()
HEADER = Style(bold=True, fill="00E8F5E9", horizontal="center", vertical="center", wrap=True)
TITLE_FONT = Style(bold=True, size=14)
SECTION_FONT = Style(bold=True)
COVERAGE_TITLE = "站点覆盖（乡镇按乡级服务站、村按村级服务点计）"
COVERAGE_HEADERS = ["类别", "总数", "已覆盖", "覆盖率（%）", "目标（%）", "是否达标"]
TARGETS_TITLE = "考核目标"
TARGET_HEADERS = ["目标", "目标值", "实际（本年累计）", "是否达标"]
DELIVERY_HEADERS = ["范围", "名称", "交接包裹（件）", "48 小时内送达（件）", "48 小时送达率（%）",
                    "送达时长中位数（小时）"]  # fmt: skip

# A text cell starting with one of these is a formula to Excel, LibreOffice and WPS (OWASP "CSV
# injection"): a station named "=HYPERLINK(…)" must stay a name. Such text is written as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Which number format a cell of a table takes: (column index from 0, value) → format or None.
Formats = Callable[[int, Any], str | None]


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _is_day(value: Any) -> bool:
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


def _cell(value: Any, number_format: str | None = None, font: Style | None = None) -> Any:
    """A cell holding a value, never a formula; a plain value when it needs nothing else (the
    cheap path for the long tables)."""
    day = _is_day(value)
    formula_like = is_formula_like(value)
    if number_format is None and font is None and not formula_like and not day:
        return value
    if number_format is None and day:
        number_format = DAY  # a day, not a moment: no 00:00:00
    return Styled(value, _style(font or PLAIN, number_format, formula_like))


@functools.lru_cache(maxsize=64)
def _style(base: Style, number_format: str | None, formula_like: bool) -> Style:
    """One Style object per look (a month's parcels are 30,000 day cells alike)."""
    # Excel shows a formula-like text as typed text, also after an edit.
    return base._replace(number_format=number_format, quote_prefix=formula_like)


def _title(sheet, text: str, font: Style) -> None:
    sheet.append([_cell(text, font=font)])


def _header(sheet, headers: list[str]) -> None:
    sheet.append([Styled(text, HEADER._replace(quote_prefix=is_formula_like(text)))
                  for text in headers])  # fmt: skip


def _plain_look(value: str | datetime.date) -> Style | None:
    """Every sheet's look for a plain cell (xlsx.Look, asked once per distinct text or day): a
    day in the date format, formula-like text as typed text (_cell's choices)."""
    if type(value) is datetime.date:
        return _style(PLAIN, DAY, False)
    return _style(PLAIN, None, True) if is_formula_like(value) else None


def _rows(sheet, rows: Sequence[Sequence[Any]], formats: Formats | None = None) -> None:
    """The rows, each cell in its format; without formats every cell as it is (the sheet's look
    styles days and formula-like text: nothing to do per cell, the long tables' path)."""
    if formats is None:
        for row in rows:
            sheet.append(row)
        return
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            number_format = formats(index, value)
            cells.append(value if number_format is None else _cell(value, number_format))
        sheet.append(cells)


def _money_rows(sheet, table) -> None:
    """The table's rows with the amounts of its money columns in yuan's format (a column at a
    time: 17 kind sheets of 300 stations)."""
    money = sorted(table.money_columns)
    if not money:
        _rows(sheet, table.rows)
        return
    in_yuan = _style(PLAIN, YUAN, False)
    for row in table.rows:
        cells = list(row)
        for index in money:
            if index < len(cells) and isinstance(cells[index], Decimal):
                cells[index] = Styled(cells[index], in_yuan)
        sheet.append(cells)


def _widths(headers: list[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """Each column's width from its longest value, header or row: measured once per distinct
    text (a month's 补贴明细 repeats its stations, days and carriers on 30,000 rows)."""
    columns = list(zip_longest(*rows)) if rows else []
    widths = []
    for index, header in enumerate(headers):
        texts = set(map(str, columns[index])) if index < len(columns) else set()
        # An empty cell (None) has no width; a text "None" is narrower than the least width.
        texts.discard("None")
        texts.add(header)
        width = max(_text_width(text) for text in texts)
        widths.append(min(max(width + 2, 8), 40))
    return widths


def _text_width(text: str) -> int:
    return len(text) if text.isascii() else _wide_text_width(text)


@functools.lru_cache(maxsize=4096)
def _wide_text_width(text: str) -> int:
    """A CJK character takes two columns (station and township names repeat on every row)."""
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


def _table_sheet(
    workbook: Workbook, name: str, table, title: tuple[str, Style] | None = None
) -> None:
    """A sheet of one table: an optional title line, the header (frozen below it), the rows."""
    widths = _widths(table.headers, table.rows)
    with workbook.sheet(name, widths, 2 if title else 1, look=_plain_look) as sheet:
        if title:
            _title(sheet, *title)
        _header(sheet, table.headers)
        _money_rows(sheet, table)


def _summary_formats(index: int, value: Any) -> str | None:
    if index in (1, 2, 4, 5, 7) and isinstance(value, Decimal):
        return YUAN
    return PERCENT if index in (3, 6) else None


def _coverage_formats(index: int, value: Any) -> str | None:
    return PERCENT if index == 3 else None


def _target_formats(index: int, value: Any) -> str | None:
    return YUAN if isinstance(value, Decimal) else None


def _scorecard_formats(index: int, value: Any) -> str | None:
    if index in (2, 3) and isinstance(value, Decimal):
        return YUAN
    if index in (2, 3) and isinstance(value, float):
        return PERCENT
    return None


def _delivery_formats(index: int, value: Any) -> str | None:
    return PERCENT if index in (4, 5) and isinstance(value, float) else None


def _scorecard_sheet(workbook: Workbook, table) -> None:
    """考核指标: the title, the scorecard's rows, then the month's 县到村 48 h block."""
    widths = _widths(table.headers, [*table.rows, *table.delivery])
    with workbook.sheet("考核指标", widths, 2, look=_plain_look) as sheet:
        _title(sheet, table.title, TITLE_FONT)
        _header(sheet, table.headers)
        _rows(sheet, table.rows, _scorecard_formats)
        if table.delivery:
            sheet.append([])
            _title(sheet, table.delivery_title, SECTION_FONT)
            _header(sheet, DELIVERY_HEADERS)
            _rows(sheet, table.delivery, _delivery_formats)


def _summary_sheet(workbook: Workbook, table) -> None:
    """汇总: the title, the KPI table, then the coverage and the targets, a blank row between."""
    widths = _widths(table.headers, [*table.rows, *table.coverage, *table.targets])
    with workbook.sheet("汇总", widths, 2, look=_plain_look) as sheet:
        _title(sheet, table.title, TITLE_FONT)
        _header(sheet, table.headers)
        _rows(sheet, table.rows, _summary_formats)
        sheet.append([])
        _title(sheet, COVERAGE_TITLE, SECTION_FONT)
        _header(sheet, COVERAGE_HEADERS)
        _rows(sheet, table.coverage, _coverage_formats)
        sheet.append([])
        _title(sheet, TARGETS_TITLE, SECTION_FONT)
        _header(sheet, TARGET_HEADERS)
        _rows(sheet, table.targets, _target_formats)


def build_workbook(tables: dict[str, Any], kinds: list[str]) -> bytes:
    """The sheets in their order: 汇总, 考核指标, one per kind, 打卡, 调整, 物流补贴, 补贴明细,
    培训台帐, 溯源, 近12个月."""
    parts = tables["tables"]
    workbook = Workbook(creator="村站通", title=parts["summary"].title)
    _summary_sheet(workbook, parts["summary"])
    _scorecard_sheet(workbook, parts["scorecard"])
    for kind in kinds:
        _table_sheet(workbook, parts[kind].title, parts[kind])
    _table_sheet(workbook, "打卡", parts["checkins"])
    _table_sheet(workbook, "调整", parts["adjustments"])
    subsidies = parts["subsidies"]
    _table_sheet(workbook, "物流补贴", subsidies, (subsidies.rule, SECTION_FONT))
    _table_sheet(workbook, "补贴明细", parts["subsidy_parcels"])
    _table_sheet(workbook, "培训台帐", parts["training"])
    _table_sheet(workbook, "溯源", parts["trace"])
    _table_sheet(workbook, "近12个月", parts["trends"])
    return workbook.finish()
