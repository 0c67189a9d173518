"""The monthly workbook as backend/web/xlsx.py writes it: the same cells (values and types,
number formats, fonts, fills, alignment, quote prefix), widths, frozen panes, sheets and
properties as openpyxl's write-only writer gave for the same tables (tests/workbook_openpyxl.py);
a package Excel and LibreOffice open; any text a name can hold, written to read back as typed."""

from __future__ import annotations

import datetime
import io
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from backend.county import export
from backend.web import xlsx
from tests import workbook_openpyxl
from tests.support import event, push, tracking
from tests.test_county_export import SHANGHAI, _month_of_activity

# What Excel reads back as one character (ECMA-376 ST_Xstring); openpyxl leaves it as written.
EXCEL_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")


def _as_excel_reads(text: str) -> str:
    return EXCEL_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


async def _export(client, world, month: str) -> bytes:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    assert response.status_code == 200, response.text
    return response.content


async def _rename_station(client, world, name: str) -> None:
    answer = await client.patch(
        f"/api/v1/stations/{world.station_a}", json={"name": name}, headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text


async def _rename_township(client, world, name: str) -> None:
    answer = await client.patch(
        f"/api/v1/townships/{world.township_id}", json={"name": name}, headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text


async def _training_and_trace(client, world, today: datetime.date) -> None:
    made = await client.post(
        f"/api/v1/counties/{world.county_id}/trainings",
        json={"title": "直播带货 & <营销>", "held_on": today.isoformat(), "kind": "livestream",
              "trainer": " 县电商中心 ", "hours": 2.5,
              "trainees": [{"name": "甲", "household_code": world.household_code}]},
        headers=world.staff.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    batch = await client.post(
        f"/api/v1/counties/{world.county_id}/trace-batches",
        json={"product": "核桃", "household_code": world.household_code, "quantity": 12.5,
              "unit": "kg", "inspection": "passed", "harvested_on": today.isoformat()},
        headers=world.staff.headers,
    )  # fmt: skip
    assert batch.status_code == 201, batch.text


async def test_the_workbook_reads_back_as_openpyxls_did(client, world):
    """A month with every sheet filled (sales, a farm parcel claimed, a training session, a trace
    batch) and names holding markup, quotes, a tab, spaces around and a formula's start: the
    download and openpyxl's writer on the same tables read back alike, cell for cell; so does
    the month before (nearly empty)."""
    today = datetime.datetime.now(SHANGHAI).date()
    await _rename_station(client, world, '=站 & <b>"甲"\t乙')
    await _rename_township(client, world, "  东乡 ")
    month = await _month_of_activity(client, world)
    await push(
        client,
        world.keeper_b,
        [event("parcel.dispatched", {"tracking_no": tracking("JD"), "carrier": "JD",
                                     "weight_g": 800, "fee_fen": 900, "destination": "广州",
                                     "farm_product": True})],
    )  # fmt: skip
    await _training_and_trace(client, world, today)
    previous = f"{today.replace(day=1) - datetime.timedelta(days=1):%Y-%m}"
    for chosen in (month, previous):
        downloaded = await _export(client, world, chosen)
        tables = await export.month_tables(world.county_id, chosen)
        reference = workbook_openpyxl.build_workbook(tables, list(export.KIND_LABELS))
        assert workbook_openpyxl.differences(reference, downloaded) == []

    book = load_workbook(io.BytesIO(downloaded := await _export(client, world, month)))
    parcels = list(book["补贴明细"].iter_rows(min_row=2))
    assert {type(row[5].value) for row in parcels} == {int}  # 重量（克）: numbers
    assert all(row[2].is_date and row[2].number_format == "yyyy-mm-dd" for row in parcels)
    sales = {row[1].value: row for row in book["代销"].iter_rows(min_row=2)}
    assert isinstance(sales["A001"][5].value, float) and sales["A001"][5].value == 1234.56
    assert sales["A001"][2].value == '=站 & <b>"甲"\t乙' and sales["A001"][2].quotePrefix
    assert sales["A001"][0].value == "  东乡 "
    assert book.properties.creator == "村站通"
    year, number = month.split("-")
    assert book.properties.title == f"测试县 {year}年{int(number)}月电商服务站台帐汇总"
    assert book["汇总"]["A1"].value == book.properties.title
    _assert_a_sound_package(downloaded)


async def test_any_character_a_name_can_hold_is_written_as_excel_reads_it(client, world):
    """A station renamed with control characters, a noncharacter and text that reads like
    Excel's own escape: the workbook is still a workbook (openpyxl refused such a cell and the
    download failed), every part is well-formed XML, and each name reads back as typed under
    Excel's rule (`_xHHHH_` is one character)."""
    name = "站\x01点\x1f_x0041_\ufffe&\r"
    await _rename_station(client, world, name)
    await _rename_township(client, world, "乡\x0b镇")
    month = await _month_of_activity(client, world)
    downloaded = await _export(client, world, month)
    _assert_a_sound_package(downloaded)
    book = load_workbook(io.BytesIO(downloaded))
    for sheet in ("代销", "打卡"):
        rows = {row[1].value: row for row in book[sheet].iter_rows(min_row=2)}
        assert _as_excel_reads(rows["A001"][2].value) == name
        assert _as_excel_reads(rows["A001"][0].value) == "乡\x0b镇"


def _assert_a_sound_package(data: bytes) -> None:
    """What a spreadsheet needs to open the file: a valid zip, every part well-formed XML and
    given a content type, every relationship's target present."""
    package = zipfile.ZipFile(io.BytesIO(data))
    assert package.testzip() is None
    names = set(package.namelist())
    assert {"[Content_Types].xml", "_rels/.rels", "docProps/core.xml", "docProps/app.xml",
            "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"} <= names  # fmt: skip
    # The app's own download, parsed to check it is well-formed (no untrusted XML here).
    parsed = {name: ElementTree.fromstring(package.read(name)) for name in names}  # noqa: S314
    types = {
        element.get("PartName"): element.get("ContentType")
        for element in parsed["[Content_Types].xml"]
        if element.get("PartName")
    }
    for name in names - {"[Content_Types].xml"}:
        assert name.endswith(".rels") or f"/{name}" in types, name
    targets = [element.get("Target") for element in parsed["xl/_rels/workbook.xml.rels"]]
    assert all(f"xl/{target}" in names for target in targets), targets
    sheets = [name for name in names if name.startswith("xl/worksheets/")]
    assert len(sheets) == len(parsed["xl/workbook.xml"].find(f"{{{xlsx.MAIN_NS}}}sheets"))


# The writer on its own ---------------------------------------------------------------------


def test_text_is_escaped_for_xml_and_for_excel():
    assert xlsx.escape_text("站点 A-01") == "站点 A-01"
    assert xlsx.escape_text("a&b<c>d") == "a&amp;b&lt;c&gt;d"
    assert xlsx.escape_text("\t\n") == "\t\n"  # XML holds them as they are
    assert xlsx.escape_text("\r") == "&#13;"  # a raw CR reads back as LF
    assert xlsx.escape_text("\x00\x01\x1f\ufffe\uffff") == "_x0000__x0001__x001F__xFFFE__xFFFF_"
    assert xlsx.escape_text("\ud800") == "_xD800_"  # a lone surrogate: no UTF-8 for it
    assert xlsx.escape_text("_x0041_ and _x12") == "_x005F_x0041_ and _x12"
    for text in ("_x0041_", "\x01_x00410_", "a_x005F_b"):
        assert _as_excel_reads(xlsx.escape_text(text)) == text


def test_cells_are_numbers_days_and_text_and_nothing_else():
    book = xlsx.Workbook(creator="c", title="t")
    with book.sheet("S", [10, 12], frozen_rows=1) as sheet:
        sheet.append(["=1+1", 3, 2.5, Decimal("1234.50"), True, None, ""])
        day = xlsx.Style(number_format="yyyy-mm-dd")
        sheet.append([xlsx.Styled(datetime.date(2026, 12, 4), day), float("nan"),
                      xlsx.Styled(None, xlsx.Style(number_format="0.0"))])  # fmt: skip
        with pytest.raises(TypeError):
            sheet.append([object()])
        with pytest.raises(TypeError):
            sheet.append([datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)])
    loaded = load_workbook(io.BytesIO(book.finish()))["S"]
    assert [c.value for c in loaded[1]] == ["=1+1", 3, 2.5, 1234.5, True, None, None]
    assert loaded["A1"].data_type == "s"  # text, never a formula
    assert loaded["A2"].value == datetime.datetime(2026, 12, 4) and loaded["A2"].is_date
    assert loaded["B2"].value is None and loaded["C2"].number_format == "0.0"
    assert loaded.freeze_panes == "A2"
    assert (loaded.column_dimensions["A"].width, loaded.column_dimensions["B"].width) == (10, 12)
    assert xlsx.column_letter(1) == "A" and xlsx.column_letter(28) == "AB"
