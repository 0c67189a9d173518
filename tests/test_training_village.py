"""A training session's village (issue 15, "township/village"): given on the API, the county
page's form and the sign-in sheet import, checked to be the county's and in the township given,
a keeper's village session taking its station's village, and the year's figures by village on
the API, the page and the workbook."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from backend.registry import service as registry
from backend.registry.schemas import TownshipCreate, VillageCreate
from tests.support import event, push
from tests.test_county_pages import CSRF_FIELD, HTML, page_login
from tests.test_training_signin import XLSX, sheet


def trainings(world) -> str:
    return f"/api/v1/counties/{world.county_id}/trainings"


def body(**overrides) -> dict:
    answer = {"title": "村里的电商课", "held_on": "2025-03-10", "kind": "ecommerce_basics",
              "trainees": [{"name": "张三"}, {"name": "李四"}]}  # fmt: skip
    answer.update(overrides)
    return answer


async def year_2025(client, world) -> dict:
    answer = await client.get(trainings(world) + "?year=2025", headers=world.staff.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def other_township_village(world):
    """A village of another township of the same county."""
    township = await registry.create_township(None, world.county_id, TownshipCreate(name="北镇"))
    return await registry.create_village(
        None, world.county_id, VillageCreate(township_id=township.id, name="北村", poor=False)
    )


async def test_a_session_names_its_village_and_the_figures_count_by_village(client, world):
    made = await client.post(
        trainings(world), json=body(village_id=str(world.poor_village_id)),
        headers=world.staff.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    made = await client.post(
        trainings(world),
        json=body(township_id=str(world.township_id), village_id=str(world.village_id),
                  trainees=[{"name": "王五"}]),
        headers=world.staff.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    made = await client.post(trainings(world), json=body(), headers=world.staff.headers)
    assert made.status_code == 201, made.text
    figures = await year_2025(client, world)
    by_village = {
        s["village_name"]: (s["village_id"], s["township_id"]) for s in figures["sessions"]
    }
    # Without a township the session takes its village's.
    assert by_village == {
        "西村": (str(world.poor_village_id), str(world.township_id)),
        "东村": (str(world.village_id), str(world.township_id)),
        "": (None, None),
    }
    rows = [(r["key"], r["name"], r["totals"]["trainee_visits"]) for r in figures["by_village"]]
    assert rows == sorted(
        [("", "", 2), (str(world.village_id), "东村", 1), (str(world.poor_village_id), "西村", 2)]
    )

    await page_login(client, world.staff.phone)
    page = (await client.get("/county/training?year=2025", headers=HTML)).text
    table = page.split('data-table="training-by-village"', 1)[1].split("</table>")[0]
    assert f'data-key="{world.poor_village_id}"' in table and "西村" in table
    assert "未填村" in table
    assert page.count('<td class="village">西村</td>') == 1

    workbook = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month=2025-03",
        headers=world.staff.headers,
    )
    rows = [
        list(row)
        for row in load_workbook(io.BytesIO(workbook.content))["培训台帐"].iter_rows(
            values_only=True
        )
    ]
    assert rows[0][3:5] == ["乡镇", "村"]
    assert sorted(row[4] or "" for row in rows[1:4]) == ["", "东村", "西村"]
    at = next(i for i, row in enumerate(rows) if row[0] == "2025 年分村")
    assert sorted(row[:3] for row in rows[at + 1 : at + 4]) == [["东村", 1, 1], ["未填村", 1, 2],
                                                             ["西村", 1, 2]]  # fmt: skip


async def test_a_village_outside_the_county_or_the_township_is_refused(client, world):
    (foreign,) = [
        v for v in await registry.list_villages(world.foreign_county_id) if v.name == "东村"
    ]
    north = await other_township_village(world)
    cases = [
        (body(village_id=str(foreign.id)), "training_village_unknown", "本县没有这个村。"),
        (
            body(township_id=str(world.township_id), village_id=str(north.id)),
            "training_village_not_in_township",
            "这个村不在所选的乡镇。",
        ),
    ]
    for sent, code, message in cases:
        refused = await client.post(
            trainings(world), json=sent, headers={**world.staff.headers, "accept-language": "zh-CN"}
        )
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert (problem["code"], problem["field"], problem["detail"]) == (
            code,
            "village_id",
            message,
        )
    english = await client.post(
        trainings(world), json=cases[1][0], headers={**world.staff.headers, "accept-language": "en"}
    )
    assert english.json()["detail"] == "This village is not in the township chosen."
    assert (await year_2025(client, world))["sessions"] == []  # nothing written
    # Its own township is fine.
    made = await client.post(trainings(world), json=body(village_id=str(north.id)),
                             headers=world.staff.headers)  # fmt: skip
    assert made.status_code == 201, made.text


async def test_the_page_form_and_the_signin_sheet_take_the_village(client, world):
    north = await other_township_village(world)
    await page_login(client, world.staff.phone)
    page = (await client.get("/county/training", headers=HTML)).text
    assert 'name="village_id"' in page and "北镇 · 北村" in page
    token = CSRF_FIELD.search(page)[1]
    form = {"_csrf_token": token, "title": "电商普及", "held_on": "2025-04-01",
            "kind": "ecommerce_basics", "township_id": str(world.township_id),
            "village_id": str(north.id), "trainees": "张三"}  # fmt: skip
    refused = await client.post("/county/training", data=form, headers=HTML)
    assert refused.status_code == 200
    assert 'data-error-for="village_id"' in refused.text
    assert "这个村不在所选的乡镇。" in refused.text
    form["village_id"] = str(world.village_id)
    assert (await client.post("/county/training", data=form, headers=HTML)).status_code == 303

    imported = await client.post(
        "/county/training/import",
        data={"_csrf_token": token, "action": "import", "title": "签到表导入",
              "held_on": "2025-04-02", "kind": "entrepreneurship", "village_id": str(north.id)},
        files={"file": ("签到表.xlsx", sheet([["赵六", "", ""]]), XLSX)},
        headers=HTML,
    )  # fmt: skip
    assert imported.status_code == 303, imported.text
    sessions = {s["title"]: s for s in (await year_2025(client, world))["sessions"]}
    assert sessions["电商普及"]["village_name"] == "东村"
    assert (sessions["签到表导入"]["village_name"], sessions["签到表导入"]["township_name"]) == (
        "北村", "北镇"
    )  # fmt: skip


async def test_a_keepers_village_session_takes_its_stations_village(client, world):
    entry = event(
        "training.attended",
        {"title": "村里的直播课", "kind": "livestream", "trainees": [{"name": "张三"}]},
        occurred_at="2025-05-06T10:00:00+08:00",
    )
    assert [r["status"] for r in await push(client, world.keeper_b, [entry])] == ["accepted"]
    figures = await year_2025(client, world)
    (session,) = figures["sessions"]
    assert (session["station_code"], session["village_id"], session["village_name"]) == (
        "B001", str(world.poor_village_id), "西村"
    )  # fmt: skip
    assert [(r["key"], r["totals"]["sessions"]) for r in figures["by_village"]] == [
        (str(world.poor_village_id), 1)
    ]
