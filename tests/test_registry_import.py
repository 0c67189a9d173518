"""Staff import their county's 建档立卡 list (townships, villages, households) from xlsx or csv:
a dry run reports every row, an import writes all rows or none, the same file twice changes
nothing; the household list is searched and paged."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook, load_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["乡镇代码", "乡镇", "村代码", "村", "是否贫困村", "户码", "户主", "电话", "是否脱贫户"]
# The world has township 测试县镇 (no code) with villages 东村 (not poor) and 西村 (poor), both
# without codes, and households T-0001 (西村, poor) and T-0002 (东村, not poor).
ROWS = [
    ["510101", "新镇", "51010101", "新村", "是", "H-0001", "张三", "13912345678", "是"],
    ["510101", "", "51010101", "", "", "H-0002", "李四", "", "否"],
    ["510100", "测试县镇", "51010001", "东村", "否", "T-0002", "王五", "139 1234 0000", ""],
    ["", "", "51010101", "", "", "h-0003", "赵六", "+8613700001111", "1"],
]


def xlsx(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_file(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def upload(client, world, body, *, dry_run, content_type=XLSX, actor=None, language=None):
    headers = {**(actor or world.staff).headers, "content-type": content_type}
    if language:
        headers["accept-language"] = language
    return await client.post(
        f"/api/v1/counties/{world.county_id}/imports?dry_run={'true' if dry_run else 'false'}",
        content=body,
        headers=headers,
    )


async def households(client, world, query: str = "") -> dict[str, dict]:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/households?limit=500{query}",
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    return {row["code"]: row for row in answer.json()}


async def villages(client, world) -> dict[str, dict]:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/villages", headers=world.staff.headers
    )
    return {row["name"]: row for row in answer.json()}


async def test_dry_run_reports_every_row_and_writes_nothing(client, world):
    answer = await upload(client, world, xlsx(ROWS), dry_run=True)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["dry_run"] is True and report["written"] is False
    assert [(r["row"], r["action"], r["subject"]) for r in report["rows"]] == [
        (2, "create", "H-0001"),
        (3, "create", "H-0002"),
        (4, "update", "T-0002"),
        (5, "create", "H-0003"),
    ]
    assert report["totals"] == {"create": 3, "update": 1, "unchanged": 0, "error": 0}
    assert report["counts"] == {
        "townships": {"create": 1, "update": 1},
        "villages": {"create": 1, "update": 1},
        "households": {"create": 3, "update": 1},
    }
    assert "什么也没有写入" in report["message"]
    assert set(await households(client, world)) == {"T-0001", "T-0002"}
    assert set(await villages(client, world)) == {"东村", "西村"}


async def test_import_writes_everything_and_the_same_file_again_changes_nothing(client, world):
    answer = await upload(client, world, xlsx(ROWS), dry_run=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["written"] is True
    assert answer.json()["totals"] == {"create": 3, "update": 1, "unchanged": 0, "error": 0}
    rows = await households(client, world)
    assert set(rows) == {"T-0001", "T-0002", "H-0001", "H-0002", "H-0003"}
    assert rows["H-0001"]["poverty"] is True and rows["H-0001"]["phone"] == "139****5678"
    assert rows["H-0002"]["poverty"] is False and rows["H-0002"]["phone"] == ""
    assert rows["H-0003"]["poverty"] is True and rows["H-0003"]["phone"] == "137****1111"
    assert rows["T-0002"]["head_name"] == "王五" and rows["T-0002"]["phone"] == "139****0000"
    assert rows["T-0001"]["poverty"] is True  # not in the file: untouched
    places = await villages(client, world)
    assert places["新村"]["poor"] is True and places["新村"]["code"] == "51010101"
    assert places["东村"]["code"] == "51010001" and places["东村"]["poor"] is False
    assert rows["H-0001"]["village_id"] == places["新村"]["id"]
    townships = await client.get(
        f"/api/v1/counties/{world.county_id}/townships", headers=world.staff.headers
    )
    assert {(t["name"], t["code"]) for t in townships.json()} == {
        ("新镇", "510101"),
        ("测试县镇", "510100"),
    }

    again = await upload(client, world, xlsx(ROWS), dry_run=False)
    assert again.status_code == 200
    assert [r["action"] for r in again.json()["rows"]] == ["unchanged"] * 4
    assert again.json()["counts"]["households"] == {"create": 0, "update": 0}

    # H-0002 marked poor in a later list: that row is an update, the others stay.
    changed = [list(row) for row in ROWS]
    changed[1][8] = "是"
    third = await upload(client, world, xlsx(changed), dry_run=False)
    assert [r["action"] for r in third.json()["rows"]] == [
        "unchanged",
        "update",
        "unchanged",
        "unchanged",
    ]
    assert (await households(client, world))["H-0002"]["poverty"] is True


async def test_csv_in_utf8_with_and_without_bom_and_in_gb18030(client, world):
    for encoding in ("utf-8", "utf-8-sig", "gb18030"):
        answer = await upload(
            client, world, csv_file(ROWS, encoding=encoding), dry_run=True, content_type="text/csv"
        )
        assert answer.status_code == 200, (encoding, answer.text)
        assert answer.json()["totals"]["error"] == 0, (encoding, answer.json()["rows"])
    answer = await upload(
        client, world, csv_file(ROWS, encoding="gb18030"), dry_run=False, content_type="text/csv"
    )
    assert answer.status_code == 200
    assert (await households(client, world))["H-0001"]["head_name"] == "张三"
    assert "新村" in await villages(client, world)


async def test_each_kind_of_error_names_its_row_and_field_and_nothing_is_written(client, world):
    rows = [
        ["510101", "新镇", "51010101", "新村", "否", "H-0001", "张三", "13912345678", ""],  # 2 good
        ["", "", "51010101", "", "", "H-0002", "", "", ""],  # 3
        ["", "", "51010101", "", "", "H-0003", "李四", "12345", ""],  # 4
        ["", "", "51010101", "", "", "H-0004", "李四", "", "也许"],  # 5
        ["", "", "51010101", "", "", "H-0005", "张\u202e三", "", ""],  # 6
        ["", "", "99999", "", "", "H-0006", "王五", "", ""],  # 7
        ["777", "", "51010102", "北村", "", "", "", "", ""],  # 8
        ["", "", "51010101", "", "", "H!7", "王五", "", ""],  # 9
        ["", "", "1" * 17, "", "", "H-0008", "王五", "", ""],  # 10
        ["", "", "51010101", "", "", "H-0001", "张三", "", ""],  # 11
        ["510100", "测试县镇", "", "", "", "", "", "", ""],  # 12 good: adopts the township
        ["510199", "测试县镇", "", "", "", "", "", "", ""],  # 13
        ["", "", "", "", "", "H-0009", "王五", "", ""],  # 14
        ["510101", "新镇", "51010101", "新村", "是", "H-0010", "钱七", "", ""],  # 15
    ]
    answer = await upload(client, world, xlsx(rows), dry_run=False, language="en")
    assert answer.status_code == 422, answer.text
    report = answer.json()
    assert report["written"] is False
    assert "all or nothing" in report["message"]
    errors = {r["row"]: (r["error"], r["field"]) for r in report["rows"] if r["action"] == "error"}
    assert errors == {
        3: ("required", "head_name"),
        4: ("bad_phone", "phone"),
        5: ("bad_flag", "household_poor"),
        6: ("control_characters", "head_name"),
        7: ("unknown_village", "village_code"),
        8: ("unknown_township", "township_code"),
        9: ("bad_code", "household_code"),
        10: ("too_long", "village_code"),
        11: ("duplicate_household", "household_code"),
        13: ("name_taken", "township_name"),
        14: ("required", "village_code"),
        15: ("conflicts_with_row", "village_name"),
    }
    assert report["totals"] == {"create": 1, "update": 1, "unchanged": 0, "error": 12}
    phone_row = next(r for r in report["rows"] if r["row"] == 4)
    assert phone_row["column"] == "电话" and "11-digit" in phone_row["problem"]
    duplicate = next(r for r in report["rows"] if r["row"] == 11)
    assert "row 2" in duplicate["problem"]
    assert set(await households(client, world)) == {"T-0001", "T-0002"}
    assert set(await villages(client, world)) == {"东村", "西村"}
    zh = await upload(client, world, xlsx(rows), dry_run=True, language="zh-CN")
    assert zh.status_code == 200 and zh.json()["written"] is False
    assert "手机号码" in next(r for r in zh.json()["rows"] if r["row"] == 4)["problem"]


async def test_synonym_headers_numbers_as_cells_and_a_household_not_poor_unless_marked(
    client, world
):
    header = [
        "村编码",
        "行政村",
        "乡镇编码",
        "乡镇名称",
        "户编号",
        "户主姓名",
        "手机号码",
        "身份证号",
    ]
    rows = [
        ["51010101", "新村", "510101", "新镇", "H-0001", "张三", 13912345678, "6501..."],
        [None, None, None, None, None, None, None, "合计 1 户"],  # not data: no known column
    ]
    answer = await upload(client, world, xlsx(rows, header), dry_run=False)
    assert answer.status_code == 200, answer.text
    assert [(r["row"], r["action"]) for r in answer.json()["rows"]] == [(2, "create")]
    household = (await households(client, world))["H-0001"]
    assert household["poverty"] is False and household["phone"] == "139****5678"
    assert (await villages(client, world))["新村"]["poor"] is False


async def test_only_the_countys_own_staff_import(client, world):
    for actor in (world.foreign_staff, world.keeper_a):
        answer = await upload(client, world, xlsx(ROWS), dry_run=True, actor=actor)
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    anonymous = await client.post(
        f"/api/v1/counties/{world.county_id}/imports",
        content=xlsx(ROWS),
        headers={"content-type": XLSX},
    )
    assert anonymous.status_code == 401
    assert set(await households(client, world)) == {"T-0001", "T-0002"}


async def test_too_large_unreadable_and_headerless_files_are_problems(client, world):
    big = await upload(
        client, world, b"a" * (10 * 1024 * 1024 + 1), dry_run=True, content_type="text/csv"
    )
    assert big.status_code == 413 and big.json()["code"] == "import_too_large"
    many = csv_file([["", "", "51010101", "", "", "", "", "", ""]] * 100_001)
    too_many = await upload(client, world, many, dry_run=True, content_type="text/csv")
    assert too_many.status_code == 413 and too_many.json()["code"] == "import_too_large"
    broken = await upload(client, world, b"PK\x03\x04not a workbook", dry_run=True)
    assert broken.status_code == 422 and broken.json()["code"] == "import_unreadable"
    no_village = await upload(
        client, world, csv_file([["张三"]], header=["户主"]), dry_run=True, content_type="text/csv"
    )
    assert no_village.status_code == 422
    assert no_village.json()["code"] == "import_missing_column"
    assert "村代码" in no_village.json()["detail"]
    # The refusal quotes the first row read, where a title row or a text file's line stood.
    titled = "2025年建档立卡户名单（盖章版）\n村代码,户码\n".encode()
    title_row = await upload(client, world, titled, dry_run=True, content_type="text/csv")
    assert title_row.json()["code"] == "import_missing_column"
    assert "2025年建档立卡户名单（盖章版）" in title_row.json()["detail"]
    # An old .xls (the compound file's signature) was read as text and told it lacked 村代码.
    old_excel = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8
    xls = await upload(
        client, world, old_excel, dry_run=True, content_type="application/vnd.ms-excel"
    )
    assert xls.status_code == 422 and xls.json()["code"] == "import_old_excel"
    assert ".xlsx" in xls.json()["detail"] and "另存为" in xls.json()["detail"]
    picture = await upload(client, world, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", dry_run=True)
    assert picture.status_code == 422 and picture.json()["code"] == "import_unreadable"
    assert set(await households(client, world)) == {"T-0001", "T-0002"}  # nothing written


async def test_template_has_the_headers_and_imports_as_nothing(client, world):
    template = await client.get(
        f"/api/v1/counties/{world.county_id}/imports/template.xlsx", headers=world.staff.headers
    )
    assert template.status_code == 200
    assert template.headers["content-type"].startswith(XLSX)
    book = load_workbook(io.BytesIO(template.content))
    assert [cell.value for cell in book.worksheets[0][1]] == [
        *HEADER[:2],
        "是否贫困乡镇",
        *HEADER[2:],
    ]
    assert book.worksheets[1]["A1"].value  # the instructions sheet
    answer = await upload(client, world, template.content, dry_run=False)
    assert answer.status_code == 200 and answer.json()["rows"] == []


async def test_households_are_searched_and_paged_without_showing_phones(client, world):
    rows = [
        ["510101", "新镇", "51010101", "新村", "", f"H-{n:04d}", f"户主{n}", f"1391234{n:04d}", ""]
        for n in range(1, 13)
    ]
    rows[4][6] = "阿依古丽"
    assert (await upload(client, world, xlsx(rows), dry_run=False)).status_code == 200
    base = f"/api/v1/counties/{world.county_id}/households"
    page = await client.get(f"{base}?limit=5&offset=10", headers=world.staff.headers)
    assert page.status_code == 200
    assert page.headers["x-total-count"] == "14"
    assert [row["code"] for row in page.json()] == ["H-0011", "H-0012", "T-0001", "T-0002"]
    default = await client.get(base, headers=world.staff.headers)
    assert len(default.json()) == 14
    by_tail = await client.get(f"{base}?q=0007", headers=world.staff.headers)
    assert [row["code"] for row in by_tail.json()] == ["H-0007"]
    assert by_tail.json()[0]["phone"] == "139****0007"
    by_name = await client.get(f"{base}?q=阿依", headers=world.staff.headers)
    assert [row["code"] for row in by_name.json()] == ["H-0005"]
    by_code = await client.get(f"{base}?q=h-001", headers=world.staff.headers)
    assert [row["code"] for row in by_code.json()] == ["H-0010", "H-0011", "H-0012"]
    assert by_code.headers["x-total-count"] == "3"
    whole_phone = await client.get(f"{base}?q=13912340007", headers=world.staff.headers)
    assert whole_phone.json() == [] and whole_phone.headers["x-total-count"] == "0"
    wildcard = await client.get(f"{base}?q=%25", headers=world.staff.headers)
    assert wildcard.json() == []
    too_big = await client.get(f"{base}?limit=501", headers=world.staff.headers)
    assert too_big.status_code == 400


async def test_the_staff_page_shows_the_dry_run_errors_first_then_imports(client, world):
    from tests.test_county_pages import CSRF_FIELD, HTML, assert_no_full_phone, page_login

    await page_login(client, world.staff.phone)
    for language in ("zh-CN", "ug", "en"):
        page = await client.get(f"/county/registry/import?lang={language}", headers=HTML)
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text
        assert "registry_page." not in page.text and "import.template" not in page.text
    page = await client.get("/county/registry/import?lang=zh-CN", headers=HTML)
    token = CSRF_FIELD.search(page.text).group(1)

    bad = [*ROWS, ["", "", "51010101", "", "", "H-0009", "钱七", "12345", ""]]
    dry = await client.post(
        "/county/registry/import",
        data={"_csrf_token": token, "action": "dry_run"},
        files={"file": ("名单.xlsx", xlsx(bad), XLSX)},
        headers=HTML,
    )
    assert dry.status_code == 200, dry.text
    rows_table = dry.text.split('data-table="import-rows"', 1)[1]
    cells = re.findall(r'<tr(?: class="error")?><td><bdi dir="ltr">(\d+)</bdi>', rows_table)
    assert cells == ["6", "2", "3", "4", "5"]  # the error row first
    assert "不是 11 位手机号码" in dry.text
    assert_no_full_phone(dry.text)
    assert set(await households(client, world)) == {"T-0001", "T-0002"}

    good = await client.post(
        "/county/registry/import",
        data={"_csrf_token": token, "action": "import"},
        files={"file": ("名单.csv", csv_file(ROWS), "text/csv")},
        headers=HTML,
    )
    assert good.status_code == 200
    assert "已导入" in good.text
    assert "H-0003" in await households(client, world)
    nothing = await client.post(
        "/county/registry/import", data={"_csrf_token": token, "action": "import"}, headers=HTML
    )
    assert "请先选择一个文件" in nothing.text


async def test_the_household_page_searches_and_pages(client, world):
    from tests.test_county_pages import HTML, assert_no_full_phone, page_login

    rows = [
        ["510101", "新镇", "51010101", "新村", "", f"H-{n:04d}", f"户主{n}", f"1391234{n:04d}", ""]
        for n in range(1, 121)
    ]
    assert (await upload(client, world, xlsx(rows), dry_run=False)).status_code == 200
    await page_login(client, world.staff.phone)
    first = await client.get("/county/registry/households?lang=en", headers=HTML)
    assert first.status_code == 200
    assert "(122)" in first.text and "1–100 of 122" in first.text
    assert first.text.count('href="/county/registry/households/') == 100
    assert 'offset=100" rel="next"' in first.text
    second = await client.get("/county/registry/households?offset=100&lang=en", headers=HTML)
    assert "101–122 of 122" in second.text
    assert "T-0002" in second.text and "H-0001<" not in second.text
    found = await client.get("/county/registry/households?q=0117&lang=en", headers=HTML)
    assert found.text.count('href="/county/registry/households/') == 1
    assert "H-0117" in found.text and "139****0117" in found.text
    assert_no_full_phone(found.text)


async def test_the_poor_township_flag_comes_with_its_column_only(client, world):
    """是否贫困乡镇: read on rows naming the township; without the column flags stay as they are."""
    header = ["乡镇代码", "乡镇", "是否贫困乡镇", "村代码", "村"]
    rows = [
        ["620101", "山乡", "是", "62010101", "山村"],
        ["510100", "测试县镇", "否", "", ""],
    ]
    answer = await upload(client, world, xlsx(rows, header), dry_run=False)
    assert answer.status_code == 200, answer.text
    assert [r["action"] for r in answer.json()["rows"]] == ["create", "update"]

    async def flags() -> dict[str, bool]:
        listed = await client.get(
            f"/api/v1/counties/{world.county_id}/townships", headers=world.staff.headers
        )
        return {row["name"]: row["poor"] for row in listed.json()}

    assert await flags() == {"山乡": True, "测试县镇": False}
    again = await upload(client, world, xlsx(rows, header), dry_run=False)
    assert [r["action"] for r in again.json()["rows"]] == ["unchanged", "unchanged"]
    # A file without the column renames nothing and leaves the flag.
    without = await upload(
        client, world, xlsx([["620101", "山乡", "62010102", "新山村"]], header[:2] + header[3:]),
        dry_run=False,
    )  # fmt: skip
    assert without.status_code == 200, without.text
    assert (await flags())["山乡"] is True
    # One file may not say both of one township.
    torn = [["620101", "山乡", "是", "", ""], ["620101", "山乡", "否", "", ""]]
    refused = await upload(client, world, xlsx(torn, header), dry_run=True)
    errors = [r for r in refused.json()["rows"] if r["action"] == "error"]
    assert [(r["row"], r["field"]) for r in errors] == [(3, "township_name")]
