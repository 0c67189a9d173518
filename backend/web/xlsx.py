"""A minimal XLSX writer: each sheet's XML is written as strings and streamed into its zip member.

openpyxl spends ~20–30 µs of CPU on each cell's XML, also in write-only mode; a month's workbook
holds a row per parcel (30,000 rows × 11 cells), so the county's workbook is written here, a row
a few string joins. What it writes is what openpyxl's write-only mode wrote for the same cells
(inline strings, the same parts, styles and sheet XML), so openpyxl, Excel, LibreOffice and WPS
read it as before. Only what the workbooks use: values (text, numbers, days, booleans), a style
per cell (number format, bold and size, a solid fill, alignment, the quote prefix), column
widths, rows frozen under a header, the creator and title.

Text is escaped for XML and beyond it: a character XML 1.0 cannot hold (control characters other
than tab, LF and CR; lone surrogates; U+FFFE and U+FFFF) is written the way Excel itself writes
it, `_xHHHH_`, and text that already reads like such an escape gets its underscore escaped
(`_x005F_`), so Excel and LibreOffice show what was recorded; CR is a character reference
(a literal CR would be read back as LF). A value is never a formula: text is always text.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple
from xml.sax.saxutils import quoteattr

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Excel's built-in number formats the workbooks use (any other gets an id from 164 on).
BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4}
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"  # what openpyxl gives a moment without a format
EPOCH = datetime.datetime(1899, 12, 30)
ROWS_PER_WRITE = 512

# What XML 1.0 cannot hold (tab, LF and CR it can; CR is kept apart: a parser reads it as LF),
# the markup characters, and text that Excel would read as an `_xHHHH_` escape.
_SPECIAL = re.compile(
    "[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_"
)
_MARKUP = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}


class Style(NamedTuple):
    """How a cell looks; the default (all unset) is the workbook's normal style."""

    number_format: str | None = None
    bold: bool = False
    size: float | None = None
    fill: str | None = None  # a solid fill's ARGB, e.g. "00E8F5E9"
    horizontal: str | None = None
    vertical: str | None = None
    wrap: bool = False
    quote_prefix: bool = False  # typed text, also after an edit (a name starting with "=")


# A sheet's look for its plain text and day cells, asked once for each distinct value: a style,
# or None for the normal one (e.g. days in a date format, formula-like text as typed text).
Look = Callable[[Any], Style | None]


class Styled(NamedTuple):
    """A cell's value with its style (a plain value takes the normal style)."""

    value: Any
    style: Style


def escape_text(text: str) -> str:
    """Element text as Excel reads it back to `text`."""
    if _SPECIAL.search(text) is None:
        return text
    return _SPECIAL.sub(_escape_match, text)


def _escape_match(match: re.Match[str]) -> str:
    found = match.group()
    if len(found) > 1:  # "_xHHHH_" as typed: its underscore escaped
        return "_x005F_" + found[1:]
    return _MARKUP.get(found) or f"_x{ord(found):04X}_"


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _serial(value: datetime.date) -> float:
    """Days since Excel's epoch, as openpyxl counts them (the 1900 leap-year bug included)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            raise TypeError("Excel has no time zones: write a naive datetime")
        moment = value
    else:
        moment = datetime.datetime.combine(value, datetime.time())
    delta = moment - EPOCH
    days = delta.days - (1 if 0 < delta.days <= 60 else 0)
    return days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


class _Styles:
    """The cell formats used, each numbered when first used; written last as xl/styles.xml."""

    def __init__(self) -> None:
        self.cell_formats: dict[Style, int] = {Style(): 0}
        self.fonts: dict[tuple[bool, float | None], int] = {}
        self.fills: dict[str, int] = {}
        self.number_formats: dict[str, int] = {}  # the custom ones

    def attribute(self, style: Style) -> str:
        """The cell's ` s="N"` (empty for the normal style)."""
        index = self.cell_formats.setdefault(style, len(self.cell_formats))
        return f' s="{index}"' if index else ""

    def xml(self) -> str:
        formats = [self._cell_format(style) for style in self.cell_formats]
        custom = "".join(
            f"<numFmt numFmtId={quoteattr(str(i))} formatCode={quoteattr(code)}/>"
            for code, i in self.number_formats.items()
        )
        fonts = "".join(
            "<font>" + ('<b val="1"/>' if bold else "")
            + (f'<sz val="{size:g}"/>' if size else "") + "</font>"
            for bold, size in self.fonts
        )  # fmt: skip
        fills = "".join(
            f'<fill><patternFill patternType="solid"><fgColor rgb="{rgb}"/></patternFill></fill>'
            for rgb in self.fills
        )
        count = len(self.number_formats)
        return (
            f'<styleSheet xmlns="{MAIN_NS}">'
            + (f'<numFmts count="{count}">{custom}</numFmts>' if custom else "")
            + f'<fonts count="{len(self.fonts) + 1}"><font><name val="Calibri"/>'
            '<family val="2"/><color theme="1"/><sz val="11"/><scheme val="minor"/></font>'
            + fonts
            + f'</fonts><fills count="{len(self.fills) + 2}"><fill><patternFill/></fill>'
            '<fill><patternFill patternType="gray125"/></fill>' + fills + "</fills>"
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
            f'borderId="0"/></cellStyleXfs><cellXfs count="{len(formats)}">'
            + "".join(formats)
            + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"
        )

    def _cell_format(self, style: Style) -> str:
        number_format = 0
        code = style.number_format
        if code in BUILTIN_FORMATS:
            number_format = BUILTIN_FORMATS[code]
        elif code is not None:
            number_format = self.number_formats.setdefault(code, 164 + len(self.number_formats))
        font = 0
        if style.bold or style.size:
            font = self.fonts.setdefault((style.bold, style.size), len(self.fonts) + 1)
        fill = self.fills.setdefault(style.fill, len(self.fills) + 2) if style.fill else 0
        alignment = "".join(
            f" {name}={quoteattr(str(value))}"
            for name, value in (("horizontal", style.horizontal), ("vertical", style.vertical))
            if value
        ) + (' wrapText="1"' if style.wrap else "")
        attributes = (
            f'numFmtId="{number_format}" fontId="{font}" fillId="{fill}" borderId="0" '
            f'quotePrefix="{int(style.quote_prefix)}" xfId="0"'
        )
        if alignment:
            return f'<xf {attributes} applyAlignment="1"><alignment{alignment}/></xf>'
        return f"<xf {attributes}/>"


class Sheet:
    """One worksheet being written: rows are appended in order and streamed into the zip."""

    def __init__(
        self,
        stream,
        styles: _Styles,
        widths: Sequence[float],
        frozen_rows: int,
        frozen_columns: int = 0,
        look: Look | None = None,
    ) -> None:
        self._stream = stream
        self._styles = styles
        self._row = 0
        self._pending: list[str] = []
        # A plain text's or day's XML after the cell's reference (its look's style first),
        # computed once for each; and a Styled value's, after its style.
        self._known: dict[str | datetime.date, str] = {}
        self._contents: dict[str | datetime.date, str] = {}
        self._look = look
        self._letters: list[str] = []
        self._write(_sheet_head(widths, frozen_rows, frozen_columns))

    def append(self, cells: list[Any]) -> None:
        """A row: each cell a value (None: no cell) or a Styled value."""
        self._row += 1
        number = str(self._row)
        letters = self._letters
        while len(letters) < len(cells):
            letters.append(column_letter(len(letters) + 1))
        known = self._known
        parts = [f'<row r="{number}">']
        add = parts.append
        for letter, value in zip(letters, cells, strict=False):  # letters: as many as cells or more
            kind = type(value)
            if kind is str or kind is datetime.date:  # the long tables' most cells: seen before
                content = known.get(value)
                if content is None:
                    content = known[value] = self._plain_content(value)
                add(f'<c r="{letter}{number}"{content}')
            elif kind is int or kind is float or kind is Decimal:
                add(f'<c r="{letter}{number}" t="n"><v>{_number(value)}</v></c>')
            elif kind is Styled:
                style = self._styles.attribute(value.style)
                add(f'<c r="{letter}{number}"{style}{self._content(value.value)}')
            elif value is not None:
                add(f'<c r="{letter}{number}"{self._content(value)}')
        add("</row>")
        self._pending.append("".join(parts))
        if len(self._pending) >= ROWS_PER_WRITE:
            self._flush()

    def _content(self, value: Any) -> str:
        """The cell's type and value, closing its element."""
        kind = type(value)
        if kind is int or kind is float or kind is Decimal:
            return f' t="n"><v>{_number(value)}</v></c>'
        if kind is bool:
            return f' t="b"><v>{int(value)}</v></c>'
        if value is None:
            return ' t="n"/>'
        if kind is not str and not isinstance(value, datetime.date):
            raise TypeError(f"no cell for a {kind.__name__}")
        content = self._contents.get(value)
        if content is None:
            content = self._contents[value] = (
                _text_content(value)
                if kind is str
                else f' t="n"><v>{_number(_serial(value))}</v></c>'
            )
        return content

    def _plain_content(self, value: str | datetime.date) -> str:
        """A plain text's or day's XML: in the sheet's look for it, if it has one."""
        if isinstance(value, str):
            content = _text_content(value)
        else:
            content = f' t="n"><v>{_number(_serial(value))}</v></c>'
        style = self._look(value) if self._look is not None else None
        return content if style is None else self._styles.attribute(style) + content

    def close(self) -> None:
        self._pending.append("</sheetData>" + PAGE_MARGINS + "</worksheet>")
        self._flush()
        self._stream.close()

    def _flush(self) -> None:
        self._write("".join(self._pending))
        self._pending.clear()

    def _write(self, text: str) -> None:
        self._stream.write(text.encode("utf-8"))


PAGE_MARGINS = (
    '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
)


def _number(value: float | int | Decimal) -> str:
    """As openpyxl writes a number: 16 significant digits; NaN and infinity as no value."""
    text = f"{float(value):.16g}"  # a Decimal too: openpyxl's "%.16g" made it a float
    return "" if text[-1] in "nf" else text  # nan, inf, -inf


def _text_content(text: str) -> str:
    if text == "":
        return ' t="inlineStr"/>'  # openpyxl's empty text: a cell without a value
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f' t="inlineStr"><is><t{space}>{escape_text(text)}</t></is></c>'


def _sheet_head(widths: Sequence[float], frozen_rows: int, frozen_columns: int = 0) -> str:
    if frozen_rows and frozen_columns:
        top = f"{column_letter(frozen_columns + 1)}{frozen_rows + 1}"
        view = (
            f'<pane xSplit="{frozen_columns}" ySplit="{frozen_rows}" topLeftCell="{top}" '
            'activePane="bottomRight" state="frozen"/><selection pane="topRight"/>'
            '<selection pane="bottomLeft"/>'
            '<selection pane="bottomRight" activeCell="A1" sqref="A1"/>'
        )
    elif frozen_rows:
        top = f"A{frozen_rows + 1}"
        view = (
            f'<pane ySplit="{frozen_rows}" topLeftCell="{top}" activePane="bottomLeft" '
            'state="frozen"/><selection pane="bottomLeft" activeCell="A1" sqref="A1"/>'
        )
    else:
        view = '<selection activeCell="A1" sqref="A1"/>'
    columns = "".join(
        f'<col width="{width:g}" customWidth="1" min="{index}" max="{index}"/>'
        for index, width in enumerate(widths, start=1)
    )
    return (
        f'<worksheet xmlns="{MAIN_NS}"><sheetPr><outlinePr summaryBelow="1" summaryRight="1"/>'
        f'<pageSetUpPr/></sheetPr><sheetViews><sheetView workbookViewId="0">{view}</sheetView>'
        '</sheetViews><sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>'
        + (f"<cols>{columns}</cols>" if columns else "")
        + "<sheetData>"
    )


class Workbook:
    """Sheets written one after another (`with book.sheet(…) as sheet`), then `finish()`."""

    # Deflate level 3: November's workbook (17.7 MB of XML) compresses in ~90 ms to 2.1 MB, where
    # openpyxl's level 6 took ~210 ms for 1.8 MB.
    def __init__(self, creator: str, title: str, compression_level: int = 3) -> None:
        self._buffer = io.BytesIO()
        self._zip = zipfile.ZipFile(
            self._buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=compression_level
        )
        self._styles = _Styles()
        self._names: list[str] = []
        self._creator, self._title = creator, title

    def sheet(
        self,
        name: str,
        widths: Sequence[float],
        frozen_rows: int = 0,
        frozen_columns: int = 0,
        look: Look | None = None,
    ) -> _SheetContext:
        """A sheet; `look`: the style of its plain text and day cells (Look)."""
        self._names.append(name)
        stream = self._zip.open(f"xl/worksheets/sheet{len(self._names)}.xml", "w")
        return _SheetContext(Sheet(stream, self._styles, widths, frozen_rows, frozen_columns, look))

    def finish(self, now: datetime.datetime | None = None) -> bytes:
        now = now or datetime.datetime.now(datetime.UTC)
        parts = {
            "docProps/app.xml": APP_XML,
            "docProps/core.xml": _core_xml(self._creator, self._title, now),
            "xl/theme/theme1.xml": _theme_xml(),
            "xl/styles.xml": self._styles.xml(),
            "_rels/.rels": ROOT_RELS,
            "xl/workbook.xml": _workbook_xml(self._names),
            "xl/_rels/workbook.xml.rels": _workbook_rels(len(self._names)),
            "[Content_Types].xml": _content_types(len(self._names)),
        }
        for name, text in parts.items():
            self._zip.writestr(name, text.encode("utf-8"))
        self._zip.close()
        return self._buffer.getvalue()


def _theme_xml() -> str:
    """The default Office theme the default font names, as openpyxl writes it: imported here,
    not at start-up, where openpyxl (and lxml) held ~16 MB of every app process."""
    from openpyxl.writer.theme import theme_xml

    return theme_xml


class _SheetContext:
    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet

    def __enter__(self) -> Sheet:
        return self.sheet

    def __exit__(self, *exc: object) -> None:
        self.sheet.close()


APP_XML = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel Compatible</Application></Properties>"
)
ROOT_RELS = (
    f'<Relationships xmlns="{PACKAGE_REL_NS}">'
    f'<Relationship Type="{REL_NS}/officeDocument" Target="xl/workbook.xml" Id="rId1"/>'
    f'<Relationship Type="{PACKAGE_REL_NS}/metadata/core-properties" '
    'Target="docProps/core.xml" Id="rId2"/>'
    f'<Relationship Type="{REL_NS}/extended-properties" Target="docProps/app.xml" Id="rId3"/>'
    "</Relationships>"
)


def _core_xml(creator: str, title: str, now: datetime.datetime) -> str:
    moment = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{escape_text(creator)}</dc:creator><dc:title>{escape_text(title)}</dc:title>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{moment}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{moment}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _workbook_xml(names: list[str]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i}" state="visible" r:id="rId{i}"/>'
        for i, name in enumerate(names, start=1)
    )
    return (
        f'<workbook xmlns:r="{REL_NS}" xmlns="{MAIN_NS}"><workbookPr/><bookViews>'
        '<workbookView visibility="visible" minimized="0" showHorizontalScroll="1" '
        'showVerticalScroll="1" showSheetTabs="1" tabRatio="600" firstSheet="0" activeTab="0" '
        f'autoFilterDateGrouping="1"/></bookViews><sheets>{sheets}</sheets>'
        '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )


def _workbook_rels(sheets: int) -> str:
    links = "".join(
        f'<Relationship Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml" Id="rId{i}"/>'
        for i in range(1, sheets + 1)
    )
    return (
        f'<Relationships xmlns="{PACKAGE_REL_NS}">{links}'
        f'<Relationship Type="{REL_NS}/styles" Target="styles.xml" Id="rId{sheets + 1}"/>'
        f'<Relationship Type="{REL_NS}/theme" Target="theme/theme1.xml" Id="rId{sheets + 2}"/>'
        "</Relationships>"
    )


OFFICE_TYPE = "application/vnd.openxmlformats-officedocument"


def _content_types(sheets: int) -> str:
    overrides = [
        ("/xl/workbook.xml", f"{OFFICE_TYPE}.spreadsheetml.sheet.main+xml"),
        ("/xl/styles.xml", f"{OFFICE_TYPE}.spreadsheetml.styles+xml"),
        ("/xl/theme/theme1.xml", f"{OFFICE_TYPE}.theme+xml"),
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ("/docProps/app.xml", f"{OFFICE_TYPE}.extended-properties+xml"),
        *(
            (f"/xl/worksheets/sheet{i}.xml", f"{OFFICE_TYPE}.spreadsheetml.worksheet+xml")
            for i in range(1, sheets + 1)
        ),
    ]
    return (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
        + "</Types>"
    )
