"""The import reads xlsx sheets with its own streaming reader (openpyxl's took five seconds for a
county's 20,000 households): held to openpyxl by reading the same workbooks both ways — shared and
rich-text strings, phone numbers typed as numbers, decimals, booleans, gaps and empty rows, and a
sheet that is not the first in the file's own order; shared strings as Excel and WPS store them."""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from backend.registry import list_file

HEADER = ["乡镇代码", "乡镇", "村代码", "村", "是否贫困村", "户码", "户主", "电话", "是否脱贫户"]


def workbook_bytes(build) -> bytes:
    book = Workbook()
    build(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def by_openpyxl(body: bytes) -> list_file.Table:
    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    rows = [[cell if cell is not None else None for cell in row] for row in sheet.values]
    return list_file._table(rows, list_file.COLUMNS, "village_code")


def both_ways(body: bytes) -> tuple[list_file.Table, list_file.Table]:
    return list_file.read_table(body), by_openpyxl(body)


def test_cells_of_every_kind_read_as_openpyxl_reads_them():
    def build(book):
        sheet = book.active
        sheet.append(HEADER)
        sheet.append(["T01", "城关镇", "V001", "东村", "是", "H-0001", "张三", 13912345678, True])
        sheet.append([])  # an empty row in the middle
        sheet.append(["T01", None, "V001", None, None, "H-0002", "李四", "139 1234 5679", False])
        bold = InlineFont(b=True)
        sheet.append(
            ["T02", CellRichText([TextBlock(bold, "新"), "城镇"]), "V002", "西村", 1, "H-0003"]
        )
        sheet.cell(row=6, column=9, value=0)  # a row holding one cell after a gap
        sheet.append(["T02", "新城镇", "V003", "南村", "否", "H-0004", "王五", 1.5, "N"])

    first, second = both_ways(workbook_bytes(build))
    assert first.columns == second.columns
    assert first.rows == second.rows
    assert [number for number, _ in first.rows] == [2, 4, 5, 6, 7]


def test_the_first_sheet_is_the_first_tab_whatever_the_order_it_was_made_in():
    def build(book):
        notes = book.active
        notes.title = "说明"
        data = book.create_sheet("户籍", 0)  # made second, shown first
        data.append(HEADER)
        data.append(["T01", "城关镇", "V001", "东村", "是", "H-0001", "张三", None, "是"])
        notes.append(["这里是说明"])

    first, second = both_ways(workbook_bytes(build))
    assert first.rows == second.rows and len(first.rows) == 1


SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS_SS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
CT_SS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
INLINE = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*) t="inlineStr"><is><t>([^<]*)</t></is></c>')


def as_excel_stores_it(body: bytes, runs: dict[str, str]) -> bytes:
    """The workbook with its strings moved into a shared-string table, as Excel and WPS write
    every workbook (openpyxl writes them inline); a text in `runs` becomes that rich-text XML."""
    source, out = zipfile.ZipFile(io.BytesIO(body)), io.BytesIO()
    table: list[str] = []

    def shared(match: re.Match) -> str:
        text = match.group(3)
        if text not in table:
            table.append(text)
        return f'<c r="{match.group(1)}"{match.group(2)} t="s"><v>{table.index(text)}</v></c>'

    sheet = INLINE.sub(shared, source.read("xl/worksheets/sheet1.xml").decode())
    items = "".join(runs.get(text, f"<si><t>{text}</t></si>") for text in table)
    strings = (
        f'<sst xmlns="{SHEET_NS}" count="{len(table)}" uniqueCount="{len(table)}">{items}</sst>'
    )
    with zipfile.ZipFile(out, "w") as rewritten:
        for item in source.infolist():
            data = source.read(item.filename).decode()
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet
            elif item.filename == "xl/_rels/workbook.xml.rels":
                link = f'<Relationship Type="{RELS_SS}" Target="sharedStrings.xml" Id="rIdSS" />'
                data = data.replace("</Relationships>", link + "</Relationships>")
            elif item.filename == "[Content_Types].xml":
                part = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT_SS}" />'
                data = data.replace("</Types>", part + "</Types>")
            rewritten.writestr(item, data)
        rewritten.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()


def test_shared_and_rich_text_strings_as_excel_writes_them():
    def build(book):
        sheet = book.active
        sheet.append(HEADER)
        sheet.append(["T02", "新城镇", "V002", "西村", "否", "H-0003", "赵六", None, "否"])
        sheet.append(["T02", "新城镇", "V003", "北村", "是", "H-0004", "钱七", 13912345678, "是"])

    bold_runs = "<si><r><rPr><b/></rPr><t>新</t></r><r><t>城镇</t></r></si>"
    body = as_excel_stores_it(workbook_bytes(build), {"新城镇": bold_runs})
    assert (
        "inlineStr"
        not in zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode()
    )
    first, second = both_ways(body)
    assert first.columns == second.columns
    assert first.rows == second.rows
    assert [row["township_name"] for _, row in first.rows] == ["新城镇", "新城镇"]
