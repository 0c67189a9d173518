"""Reading a county's list file (建档立卡): an xlsx or csv file into rows of known fields.

The headers are Chinese (`COLUMNS`: the template's header first, then the synonyms accepted); the
reader is our own small one for xlsx (tests/test_registry_xlsx_reader.py holds it to openpyxl) so
that a 10 MiB upload is read within fixed limits of rows, columns and unpacked bytes. The import's
plan (imports.py) works on the `Table` this returns; `template_workbook` writes the blank template.
Other files with Chinese headers (the training sign-in sheet) are read by the same reader, given
their own columns (`read_table(body, columns, required)`).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from backend.errors import DomainError

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MAX_UNPACKED_BYTES = 128 * 1024 * 1024  # an xlsx is zipped: its parts unpacked
MAX_COLUMNS = 60  # a 建档立卡 export has many columns; only the known ones are read
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# field → the template's header first, then the synonyms accepted (compared without spaces, '*',
# brackets or case).
COLUMNS: dict[str, tuple[str, ...]] = {
    "township_code": ("乡镇代码", "乡镇编码", "乡镇编号", "乡代码", "township_code"),
    "township_name": ("乡镇", "乡镇名称", "乡镇名", "乡(镇)", "township", "township_name"),
    "township_poor": ("是否贫困乡镇", "贫困乡镇", "township_poor"),
    "village_code": ("村代码", "村编码", "村编号", "行政村代码", "行政村编码", "village_code"),
    "village_name": ("村", "村名", "村名称", "行政村", "行政村名称", "village", "village_name"),
    "village_poor": ("是否贫困村", "贫困村", "village_poor"),
    "household_code": ("户码", "户编号", "户号", "户编码", "household_code"),
    "head_name": ("户主", "户主姓名", "姓名", "head_name"),
    "phone": ("电话", "联系电话", "手机", "手机号", "手机号码", "电话号码", "phone"),
    "household_poor": ("是否脱贫户", "脱贫户", "是否贫困户", "贫困户", "household_poor"),
}
TEMPLATE_FIELDS = (
    "township_code",
    "township_name",
    "township_poor",
    "village_code",
    "village_name",
    "village_poor",
    "household_code",
    "head_name",
    "phone",
    "household_poor",
)
_HEADER_NOISE = re.compile(r"[\s*＊()（）]+")


def _header_key(text: str) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text)).lower()


def _headers(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Each accepted header, as compared, → its field."""
    return {_header_key(name): key for key, names in columns.items() for name in names}


# Reading the file ------------------------------------------------------------------------------


@dataclass
class Table:
    """The file's known columns (field → header as written) and its data rows, numbered as the
    spreadsheet numbers them (the header is row 1 when it is the first line)."""

    columns: dict[str, str]
    rows: list[tuple[int, dict[str, str]]]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone or code Excel took for a number
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value).strip()


def too_large() -> DomainError:
    """The one refusal of a file over MAX_BYTES or MAX_ROWS (413), for every import."""
    return DomainError("import_too_large", status=413, rows=MAX_ROWS, mib=MAX_BYTES // 2**20)


def _table(lines: Any, known: dict[str, tuple[str, ...]], required: str) -> Table:
    """Rows of cell values → the header (the first non-empty row; it must have the `required`
    field's column) and the data rows, of the `known` fields' columns."""
    headers = _headers(known)
    columns: dict[str, str] = {}
    positions: dict[str, int] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    header_seen = False
    for number, line in enumerate(lines, start=1):
        cells = [_cell_text(value) for value in list(line)[:MAX_COLUMNS]]
        if not any(cells):
            continue
        if not header_seen:
            header_seen = True
            for index, text in enumerate(cells):
                key = headers.get(_header_key(text))
                if key and key not in positions:
                    positions[key] = index
                    columns[key] = text
            if required not in positions:
                raise DomainError(
                    "import_missing_column", column=known[required][0], seen=_seen(cells)
                )
            continue
        values = {
            key: (cells[index] if index < len(cells) else "") for key, index in positions.items()
        }
        if not any(values.values()):
            continue  # a row with nothing in the known columns (a total, a note) is not data
        if len(rows) >= MAX_ROWS:
            raise too_large()
        rows.append((number, values))
    if not header_seen:
        raise DomainError("import_empty")
    return Table(columns=columns, rows=rows)


SEEN_CHARS = 60  # of the first row, quoted when it is not the header
# An old Excel workbook (.xls, and WPS's .et): the compound file's signature.
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _seen(cells: list[str]) -> str:
    """The first row as the refusal quotes it: what was read where the header should be (a
    text file renamed .xlsx, a title row above the header)."""
    text = " | ".join(cell for cell in cells if cell)
    return text if len(text) <= SEEN_CHARS else text[: SEEN_CHARS - 1] + "…"


def _decode(body: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (what Excel in China saves as "CSV")."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise DomainError("import_unreadable") from exc


def _read_csv(body: bytes, known: dict[str, tuple[str, ...]], required: str) -> Table:
    text = _decode(body)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        return _table(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), known, required
        )
    except csv.Error as exc:
        raise DomainError("import_unreadable") from exc


# The workbook's XML is parsed with the standard library: it resolves no external entities, and
# expat ≥ 2.4 (the one Python 3.11 ships) refuses entity expansion bombs, hence the S314 waivers.


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column_index(reference: str) -> int:
    index = 0
    for char in reference:
        if not char.isalpha():
            break
        index = index * 26 + (ord(char.upper()) - 64)
    return index - 1


def _first_sheet_path(book: zipfile.ZipFile) -> str:
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))  # noqa: S314
    sheet = next(el for el in workbook.iter() if _local(el.tag) == "sheet")
    rel_id = next(value for key, value in sheet.attrib.items() if _local(key) == "id")
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    target = next(el.get("Target", "") for el in rels.iter() if el.get("Id") == rel_id)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in book.namelist():
        return []
    strings: list[str] = []
    with book.open("xl/sharedStrings.xml") as stream:
        for _, element in ElementTree.iterparse(stream):  # noqa: S314
            if _local(element.tag) == "si":
                strings.append(
                    "".join(t.text or "" for t in element.iter() if _local(t.tag) == "t")
                )
                element.clear()
    return strings


def _sheet_rows(book: zipfile.ZipFile, path: str, strings: list[str]) -> Any:
    """The sheet's rows as lists of cell values, gaps as None, streamed."""
    number = 0
    with book.open(path) as stream:
        for _, element in ElementTree.iterparse(stream):  # noqa: S314
            if _local(element.tag) != "row":
                continue
            at = int(element.get("r") or number + 1)
            while number < at - 1:  # rows Excel left out are empty
                number += 1
                yield []
            number = at
            cells: list[Any] = []
            for cell in element:
                if _local(cell.tag) != "c":
                    continue
                column = _column_index(cell.get("r") or "") if cell.get("r") else len(cells)
                if column >= MAX_COLUMNS:
                    continue
                kind = cell.get("t", "n")
                value: Any = None
                if kind == "inlineStr":
                    value = "".join(t.text or "" for t in cell.iter() if _local(t.tag) == "t")
                else:
                    raw = next((v.text for v in cell if _local(v.tag) == "v"), None)
                    if raw is not None:
                        if kind == "s":
                            value = strings[int(raw)]
                        elif kind == "n":
                            value = float(raw) if any(c in raw for c in ".eE") else int(raw)
                        elif kind == "b":
                            value = raw == "1"
                        else:
                            value = raw
                cells.extend([None] * (column - len(cells)))
                cells.append(value)
            element.clear()
            yield cells


def _read_xlsx(body: bytes, known: dict[str, tuple[str, ...]], required: str) -> Table:
    """The first sheet, read straight from its XML (openpyxl's reader takes ~25 µs a cell: five
    seconds for a county's 20,000 households)."""
    try:
        book = zipfile.ZipFile(io.BytesIO(body))
    except zipfile.BadZipFile as exc:
        raise DomainError("import_unreadable") from exc
    with book:
        if sum(info.file_size for info in book.infolist()) > MAX_UNPACKED_BYTES:
            raise too_large()
        try:
            strings = _shared_strings(book)
            return _table(_sheet_rows(book, _first_sheet_path(book), strings), known, required)
        except (KeyError, IndexError, StopIteration, ValueError, zipfile.BadZipFile) as exc:
            raise DomainError("import_unreadable") from exc
        except ElementTree.ParseError as exc:
            raise DomainError("import_unreadable") from exc


def read_table(
    body: bytes, known: dict[str, tuple[str, ...]] = COLUMNS, required: str = "village_code"
) -> Table:
    """An xlsx workbook (its first sheet) or a csv file, told apart by the zip signature: the
    columns of the `known` fields (the list file's by default), the `required` one present. An
    old .xls is told to be saved as .xlsx (read as text, it was told its header lacked a column)."""
    if not body.strip():
        raise DomainError("import_empty")
    if body.startswith(b"PK\x03\x04"):
        return _read_xlsx(body, known, required)
    if body.startswith(OLE2):
        raise DomainError("import_old_excel")
    if b"\x00" in body[:8192]:
        raise DomainError("import_unreadable")  # a picture, a PDF: no text to read as CSV
    return _read_csv(body, known, required)


def template_workbook(headers_note: list[str]) -> bytes:
    """The template: the headers on the first sheet, what each column takes on the second."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "导入"
    sheet.append([COLUMNS[key][0] for key in TEMPLATE_FIELDS])
    for index in range(len(TEMPLATE_FIELDS)):
        sheet.column_dimensions[chr(ord("A") + index)].width = 14
        sheet.cell(row=1, column=index + 1).number_format = "@"
    notes = book.create_sheet("说明")
    for line in headers_note:
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
