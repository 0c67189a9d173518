"""The reference for the county's workbook: how backend/county/workbook.py wrote it through
openpyxl's write-only mode until it wrote the XML itself (backend/web/xlsx.py). The parity test
(test_county_workbook.py) and scripts/bench_workbook.py build both from the same tables; every
cell, style, width, freeze pane and property must read back the same.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from copy import copy
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from backend.county.workbook import (
    COVERAGE_HEADERS,
    COVERAGE_TITLE,
    DELIVERY_HEADERS,
    TARGET_HEADERS,
    TARGETS_TITLE,
    is_formula_like,
)

YUAN = "#,##0.00"
DAY = "yyyy-mm-dd"
PERCENT = "0.0"
HEADER_FILL = PatternFill("solid", fgColor="E8F5E9")
HEADER_FONT = Font(bold=True)
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True)

# Which number format a cell of a table takes: (column index from 0, value) → format or None.
Formats = Callable[[int, Any], str | None]


def _is_day(value: Any) -> bool:
    return isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)


def _cell(sheet, value: Any, number_format: str | None = None, font: Font | None = None):
    """A cell holding a value, never a formula; a plain value when it needs nothing else (the
    cheap path for the long tables)."""
    formula_like = is_formula_like(value)
    if number_format is None and font is None and not formula_like and not _is_day(value):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if _is_day(value):
        cell.number_format = DAY  # a day, not a moment: no 00:00:00
    if formula_like:
        cell.data_type = "s"
        cell.quotePrefix = True  # Excel shows it as typed text, also after an edit
    if number_format is not None:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell


def _title(sheet, text: str, font: Font) -> None:
    sheet.append([_cell(sheet, text, font=font)])


def _header(sheet, headers: list[str]) -> None:
    cells = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        if is_formula_like(text):
            cell.data_type = "s"
            cell.quotePrefix = True
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGNMENT
        cells.append(cell)
    sheet.append(cells)


def _rows(sheet, rows: list[list[Any]], formats: Formats) -> None:
    for row in rows:
        sheet.append(
            [_cell(sheet, value, formats(index, value)) for index, value in enumerate(row)]
        )


def _widths(sheet, headers: list[str], rows: list[list[Any]]) -> None:
    """Set before the first row: a streamed sheet writes its columns first."""
    for index, header in enumerate(headers, start=1):
        values = [header, *(row[index - 1] for row in rows if len(row) >= index)]
        width = max(_display_width(value) for value in values)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 40)


def _display_width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


def _money_formats(table) -> Formats:
    def formats(index: int, value: Any) -> str | None:
        return YUAN if index in table.money_columns and isinstance(value, Decimal) else None

    return formats


def _table_sheet(workbook, name: str, table, title: tuple[str, Font] | None = None,
                 formats: Formats | None = None) -> None:  # fmt: skip
    """A sheet of one table: an optional title line, the header (frozen below it), the rows."""
    sheet = workbook.create_sheet(name)
    first_row = 2 if title else 1
    sheet.freeze_panes = f"A{first_row + 1}"
    _widths(sheet, table.headers, table.rows)
    if title:
        _title(sheet, *title)
    _header(sheet, table.headers)
    _rows(sheet, table.rows, formats or _money_formats(table))


def _summary_formats(index: int, value: Any) -> str | None:
    if index in (1, 2, 4, 5, 7) and isinstance(value, Decimal):
        return YUAN
    return PERCENT if index in (3, 6) else None


def _coverage_formats(index: int, value: Any) -> str | None:
    return PERCENT if index == 3 else None


def _target_formats(index: int, value: Any) -> str | None:
    return YUAN if isinstance(value, Decimal) else None


def _scorecard_formats(table) -> Formats:
    money = _money_formats(table)

    def formats(index: int, value: Any) -> str | None:
        if index in (2, 3) and isinstance(value, Decimal):
            return YUAN
        if index in (2, 3) and isinstance(value, float):
            return PERCENT
        return money(index, value)

    return formats


def _delivery_formats(index: int, value: Any) -> str | None:
    return PERCENT if index in (4, 5) and isinstance(value, float) else None


def _scorecard_sheet(workbook, table) -> None:
    """考核指标: the title, the scorecard's rows, then the month's 县到村 48 h block."""
    sheet = workbook.create_sheet("考核指标")
    sheet.freeze_panes = "A3"
    _widths(sheet, table.headers, [*table.rows, *table.delivery])
    _title(sheet, table.title, TITLE_FONT)
    _header(sheet, table.headers)
    _rows(sheet, table.rows, _scorecard_formats(table))
    if table.delivery:
        sheet.append([])
        _title(sheet, table.delivery_title, SECTION_FONT)
        _header(sheet, DELIVERY_HEADERS)
        _rows(sheet, table.delivery, _delivery_formats)


def _summary_sheet(workbook, table) -> None:
    """汇总: the title, the KPI table, then the coverage and the targets, a blank row between."""
    sheet = workbook.create_sheet("汇总")
    sheet.freeze_panes = "A3"
    _widths(sheet, table.headers, [*table.rows, *table.coverage, *table.targets])
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
    workbook = Workbook(write_only=True)
    parts = tables["tables"]
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
    workbook.properties.creator = "村站通"
    workbook.properties.title = parts["summary"].title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def differences(expected: bytes, actual: bytes) -> list[str]:
    """What differs between two workbooks as openpyxl reads them: sheet names and order, the
    document's creator and title, each sheet's freeze pane and column widths, and every cell's
    value, type, number format, font, fill, alignment and quote prefix (empty when none)."""
    from openpyxl import load_workbook

    old, new = load_workbook(io.BytesIO(expected)), load_workbook(io.BytesIO(actual))
    found: list[str] = []
    if old.sheetnames != new.sheetnames:
        return [f"sheets {old.sheetnames} != {new.sheetnames}"]
    for field in ("creator", "title"):
        if getattr(old.properties, field) != getattr(new.properties, field):
            found.append(f"properties.{field}")
    for name in old.sheetnames:
        a, b = old[name], new[name]
        if a.freeze_panes != b.freeze_panes:
            found.append(f"{name}: freeze {a.freeze_panes} != {b.freeze_panes}")
        widths = [{k: d.width for k, d in s.column_dimensions.items()} for s in (a, b)]
        if widths[0] != widths[1]:
            found.append(f"{name}: widths {widths[0]} != {widths[1]}")
        if (a.max_row, a.max_column) != (b.max_row, b.max_column):
            found.append(f"{name}: size {(a.max_row, a.max_column)} != {(b.max_row, b.max_column)}")
        for row_a, row_b in zip(a.iter_rows(), b.iter_rows(), strict=False):
            for x, y in zip(row_a, row_b, strict=False):
                facts = zip(FACTS, _cell_facts(x), _cell_facts(y), strict=True)
                found += [f"{name}!{x.coordinate} {what}: {a!r} != {b!r}"
                          for what, a, b in facts if a != b]  # fmt: skip
        if len(found) > 20:
            break
    return found


FACTS = ("value", "type", "data_type", "number_format", "font", "fill", "alignment", "quotePrefix",
         "protection", "border")  # fmt: skip


def _cell_facts(cell) -> tuple:
    # A cell's style attributes are proxies, equal only to themselves: compare their copies.
    styles = [copy(getattr(cell, name)) for name in FACTS[4:7] + FACTS[8:]]
    return (cell.value, type(cell.value).__name__, cell.data_type, cell.number_format, *styles[:3],
            cell.quotePrefix, *styles[3:])  # fmt: skip
