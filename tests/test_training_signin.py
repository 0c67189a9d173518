"""The sign-in sheet (签到表) import on /county/training/import (issue 15): an xlsx with the
headers 姓名, 户编码, 站点, a dry run's row-by-row report, an import that records the session with
every row or nothing, in three languages; the figures then count the imported trainees."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook

from tests.test_county_pages import CSRF_FIELD, HTML, page_login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SESSION = {"title": "村级电商培训", "held_on": "2025-04-02", "kind": "ecommerce_basics",
           "trainer": "县电商中心", "hours": "3"}  # fmt: skip


def sheet(rows: list[list]) -> bytes:
    book = Workbook()
    book.active.append(["序号", "姓名", "户编码", "站点", "签名"])  # extra columns are ignored
    for number, row in enumerate(rows, start=1):
        book.active.append([number, *row, "✓"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def post(client, token: str, action: str, body: bytes | None, lang="zh-CN", **fields):
    return await client.post(
        f"/county/training/import?lang={lang}",
        data={"_csrf_token": token, "action": action, **SESSION, **fields},
        files={"file": ("签到表.xlsx", body, XLSX)} if body is not None else None,
        headers=HTML,
    )


def report_rows(html: str) -> list[tuple[str, str, str]]:
    table = html.split('data-table="signin-rows"', 1)[1].split("</table>")[0]
    return [
        (number, poor, re.sub(r"<[^>]+>", "", problem).strip())
        for number, poor, problem in re.findall(
            r'<tr data-row="(\d+)"[^>]*>.*?<td class="poor">(.*?)</td>'
            r'<td class="problem">(.*?)</td>',
            table,
            re.S,
        )
    ]


async def year_2025(client, world) -> dict:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/trainings?year=2025", headers=world.staff.headers
    )
    return answer.json()


async def login(client, world) -> str:
    await page_login(client, world.staff.phone)
    page = await client.get("/county/training/import?lang=zh-CN", headers=HTML)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    return CSRF_FIELD.search(page.text).group(1)


async def test_a_dry_run_reports_each_row_and_writes_nothing(client, world):
    token = await login(client, world)
    rows = [
        ["张三", world.household_code, ""],  # row 2: poor by the household
        ["李四", "", "A001"],  # row 3: A001's keeper
        ["王五", "X-9999", ""],  # row 4: no such household
        ["赵六", "", "F001"],  # row 5: another county's station
    ]
    dry = await post(client, token, "dry_run", sheet(rows))
    assert dry.status_code == 200, dry.text
    assert report_rows(dry.text) == [
        ("2", "脱贫户", ""),
        ("3", "—", ""),
        ("4", "—", "第 4 位学员的户码 X-9999 不是本县登记的户。"),
        ("5", "—", "第 5 位学员的站点编码 F001 不是本县的服务站。"),
    ]
    assert "4 行中有 2 行有问题" in dry.text
    assert 'value="村级电商培训"' in dry.text  # the session's fields are kept
    refused = await post(client, token, "import", sheet(rows))
    assert refused.status_code == 200 and "什么都没有导入" in refused.text
    assert (await year_2025(client, world))["totals"]["trainee_visits"] == 0


async def test_the_import_records_the_session_with_every_row(client, world):
    token = await login(client, world)
    rows = [["张三", world.household_code.lower(), ""], ["李四", "", "a001"], ["王五", "", ""]]
    dry = await post(client, token, "dry_run", sheet(rows))
    assert "3 行都可以导入" in dry.text
    done = await post(client, token, "import", sheet(rows))
    assert (
        done.status_code == 303 and done.headers["location"] == "/county/training?year=2025&saved=1"
    )
    figures = await year_2025(client, world)
    (session,) = figures["sessions"]
    assert (session["title"], session["held_on"], session["kind"], session["hours"]) == (
        "村级电商培训", "2025-04-02", "ecommerce_basics", 3.0
    )  # fmt: skip
    assert [(t["name"], t["household_code"], t["poor"], t["station_code"])
            for t in session["trainees"]] == [
        ("张三", "T-0001", True, None), ("李四", None, False, "A001"), ("王五", None, False, None)
    ]  # fmt: skip
    assert (
        figures["totals"]["trainee_visits"] == 3 and figures["totals"]["poor_trainee_visits"] == 1
    )
    assert [k["code"] for k in figures["keepers"]["trained"]] == ["A001"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "请选择签到表文件"),
        (b"\xff\xfe not a workbook \x00", "读不出这个文件"),
    ],
)
async def test_a_missing_or_unreadable_file_is_a_clear_message(client, world, body, words):
    token = await login(client, world)
    answer = await post(client, token, "dry_run", body or None)
    assert answer.status_code == 200 and words in answer.text


async def test_a_sheet_without_the_name_column_and_a_bad_session_change_nothing(client, world):
    token = await login(client, world)
    book = Workbook()
    book.active.append(["户编码", "站点"])
    book.active.append(["T-0001", ""])
    out = io.BytesIO()
    book.save(out)
    no_name = await post(client, token, "dry_run", out.getvalue())
    assert "表头里没有“姓名”这一列" in no_name.text
    bad_day = await post(client, token, "import", sheet([["张三", "", ""]]), held_on="2025-02-30")
    assert bad_day.status_code == 200 and 'data-error-for="held_on"' in bad_day.text
    assert (await year_2025(client, world))["totals"]["sessions"] == 0


@pytest.mark.parametrize("lang", ["zh-CN", "ug", "en"])
async def test_the_import_page_speaks_each_language(client, world, lang):
    token = await login(client, world)
    page = await post(client, token, "dry_run", sheet([["张三", "X-1", ""]]), lang=lang)
    assert page.status_code == 200 and f'<html lang="{lang}"' in page.text
    assert not re.findall(r"\b(?:county_page|field|problem|training)\.[a-z_.]+", page.text)
    assert "X-1" in page.text


async def test_a_person_signed_twice_is_one_visit_and_the_sheet_says_which_rows(client, world):
    """人次 counts a person once per session: a sheet signed twice by 张三 (same name, same 户编码)
    was recorded as two visits. Two 王芳 of different households are two persons."""
    token = await login(client, world)
    code, other = world.household_code, world.non_poverty_household_code
    rows = [["张三", code, ""], ["王芳", code, ""], ["王芳", other, ""]]
    rows.append(["张三 ", code.lower(), ""])  # signed again
    refused = await post(client, token, "import", sheet(rows))
    assert refused.status_code == 200
    assert report_rows(refused.text)[3] == (
        "5", "—",
        "第 5 位学员“张三”与第 2 位是同一人（同名同户码），一场培训每人只记一次；"
        "如是同名的两个人，请填写各自的户码。",
    )  # fmt: skip
    assert [row[2] for row in report_rows(refused.text)[:3]] == ["", "", ""]
    assert (await year_2025(client, world))["totals"]["sessions"] == 0  # nothing written

    api = await client.post(
        f"/api/v1/counties/{world.county_id}/trainings",
        json={**SESSION, "hours": 3, "trainees": [{"name": "李四"}, {"name": "李四"}]},
        headers=world.staff.headers,
    )
    assert api.status_code == 422, api.text
    problem = api.json()
    assert (problem["code"], problem["field"]) == ("training_trainee_repeated", "name")
    assert problem["detail"].startswith("第 2 位学员“李四”与第 1 位是同一人")

    recorded = await post(client, token, "import", sheet(rows[:3]))
    assert recorded.status_code in (200, 303)
    totals = (await year_2025(client, world))["totals"]
    assert (totals["sessions"], totals["trainee_visits"], totals["people"]) == (1, 3, 3)
