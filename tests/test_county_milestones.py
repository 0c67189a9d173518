"""The county's milestones (中期目标, issue 15: 鲁甸's 「2018年10月底前完成50%」): a since-start
training figure by a due month, set through the API and the settings page (audited, bad input
refused as a localized problem that changes nothing), judged on the scorecard's training group
(page, kpis API, workbook): before the due month `due` with its progress, from it on met or not
met on the figure counted through the due month's end."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from backend.accounts.tables import AuditEntry
from tests.test_county_pages import CSRF_FIELD, HTML, html_as, page_login


def url(world, what: str) -> str:
    return f"/api/v1/counties/{world.county_id}/{what}"


async def session(client, world, held_on: str, names: list[str]) -> None:
    made = await client.post(
        url(world, "trainings"),
        json={"title": f"培训{held_on}", "held_on": held_on, "kind": "ecommerce_basics",
              "trainees": [{"name": name} for name in names]},
        headers=world.staff.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text


async def setup(client, world) -> None:
    """Programme from 2025-01-01; 3 人次 in March 2025 and 2 more in September 2025 (张三 twice:
    one person); a session of 2024 (before the start) is not counted."""
    answer = await client.put(
        url(world, "targets"), json={"programme_start": "2025-01-01"}, headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    await session(client, world, "2024-12-20", ["早到者"])
    await session(client, world, "2025-03-10", ["张三", "李四", "王五"])
    await session(client, world, "2025-09-01", ["张三", "赵六"])


MILESTONES = [
    {"figure": "trainee_visits", "target": 5, "due": "2025-12"},
    {"figure": "trainee_visits", "target": 4, "due": "2025-06"},
    {"figure": "people", "target": 4, "due": "2025-12"},
]


async def test_milestones_are_set_audited_and_judged_on_the_scorecard(client, world):
    await setup(client, world)
    answer = await client.put(
        url(world, "milestones"), json={"milestones": MILESTONES}, headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    expected = [MILESTONES[1], MILESTONES[2], MILESTONES[0]]  # soonest due first
    assert answer.json()["milestones"] == expected
    assert "trainee_visits" in answer.json()["figures"]
    got = await client.get(url(world, "milestones"), headers=world.staff.headers)
    assert got.json()["milestones"] == expected
    audited = await AuditEntry.select(AuditEntry.action).where(
        AuditEntry.action == "county.milestones_set"
    )
    assert len(audited) == 1

    async def judged(month: str) -> list[tuple]:
        kpis = await client.get(url(world, f"kpis?month={month}"), headers=world.staff.headers)
        assert kpis.status_code == 200, kpis.text
        return [
            (m["figure"], m["due"], m["status"], m["actual"], m["progress_pct"])
            for m in kpis.json()["milestones"]
        ]

    # May 2025: both due later; progress on what was held by May's end (3 人次, 3 people).
    assert await judged("2025-05") == [
        ("trainee_visits", "2025-06", "due", 3, 75.0),
        ("people", "2025-12", "due", 3, 75.0),
        ("trainee_visits", "2025-12", "due", 3, 60.0),
    ]
    # June 2025, the due month: 3 of 4 by June's end, not met.
    assert (await judged("2025-06"))[0] == ("trainee_visits", "2025-06", "not_met", 3, 75.0)
    # January 2026: the June milestone stays judged on June's count (September's 2 are after
    # it); December's are met: 5 人次, 4 people (张三 once).
    assert await judged("2026-01") == [
        ("trainee_visits", "2025-06", "not_met", 3, 75.0),
        ("people", "2025-12", "met", 4, 100.0),
        ("trainee_visits", "2025-12", "met", 5, 100.0),
    ]

    page = await client.get(
        "/county/scorecard?month=2025-05&lang=zh-CN", headers=html_as(world.staff)
    )
    assert page.status_code == 200
    training = page.text.split('data-group="training"', 1)[1].split("</tbody>")[0]
    assert 'data-target="milestone_trainee_visits" data-met="none" data-due="2025-06"' in training
    assert "中期目标：累计培训人次（2025-06 底前）" in training
    assert "2025-06 到期，已完成 75%" in training
    # The milestone rows follow the since-start row, in the training group only.
    assert training.index("training_visits_since_start") < training.index("milestone_")
    assert page.text.count('data-target="milestone_') == 3
    assert "中期目标未到期 3 项" in page.text  # not counted as met, not met or without a target
    later = await client.get(
        "/county/scorecard?month=2026-01&lang=en", headers=html_as(world.staff)
    )
    row = later.text.split('data-due="2025-06"', 1)[1].split("</tr>")[0]
    assert 'data-status="not_met"' in later.text and "✗" in row
    assert "Milestone: trainee visits since the start (by the end of 2025-06)" in later.text

    book = await client.get(url(world, "export.xlsx?month=2025-05"), headers=world.staff.headers)
    rows = [list(r) for r in load_workbook(io.BytesIO(book.content))["考核指标"].values]
    (june,) = [r for r in rows if r[1] == "中期目标：累计培训人次（2025-06 底前）（人次）"]
    assert june[:6] == ["电商培训", june[1], 3, 4, "未到期", "2025-06 到期，已完成 75%"]
    book = await client.get(url(world, "export.xlsx?month=2026-01"), headers=world.staff.headers)
    rows = [list(r) for r in load_workbook(io.BytesIO(book.content))["考核指标"].values]
    judged_rows = {r[1]: (r[2], r[3], r[4]) for r in rows if str(r[1]).startswith("中期目标")}
    assert judged_rows == {
        "中期目标：累计培训人次（2025-06 底前）（人次）": (3, 4, "否"),
        "中期目标：累计培训人数（2025-12 底前）（人）": (4, 4, "是"),
        "中期目标：累计培训人次（2025-12 底前）（人次）": (5, 5, "是"),
    }


async def test_bad_milestones_are_refused_and_change_nothing(client, world):
    put = await client.put(
        url(world, "milestones"), json={"milestones": MILESTONES[:1]}, headers=world.staff.headers
    )
    assert put.status_code == 200
    cases = [
        ({"figure": "parcels", "target": 5, "due": "2025-12"}, "county_milestone_figure_invalid",
         "milestones[0].figure"),
        ({"figure": "people", "target": 0, "due": "2025-12"}, "county_milestone_target_invalid",
         "milestones[0].target"),
        ({"figure": "people", "target": 3, "due": "2025-13"}, "county_milestone_due_invalid",
         "milestones[0].due"),
        ({"figure": "people", "target": 3, "due": "2014-12"}, "county_milestone_due_invalid",
         "milestones[0].due"),
    ]  # fmt: skip
    for milestone, code, field in cases:
        refused = await client.put(
            url(world, "milestones"),
            json={"milestones": [milestone]},
            headers={**world.staff.headers, "accept-language": "zh-CN"},
        )
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["field"]) == (code, field)
    duplicate = await client.put(
        url(world, "milestones"),
        json={"milestones": [MILESTONES[0], {**MILESTONES[0], "target": 9}]},
        headers={**world.staff.headers, "accept-language": "zh-CN"},
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["detail"] == "同一指标在同一个月只能有一个中期目标。"
    assert duplicate.json()["field"] == "milestones[1].due"
    got = await client.get(url(world, "milestones"), headers=world.staff.headers)
    assert got.json()["milestones"] == MILESTONES[:1]
    foreign = await client.put(
        url(world, "milestones"), json={"milestones": []}, headers=world.foreign_staff.headers
    )
    assert foreign.status_code in (403, 404)
    keeper = await client.get(url(world, "milestones"), headers=world.keeper_a.headers)
    assert keeper.status_code == 403


async def test_the_settings_page_sets_the_milestones(client, world):
    await page_login(client, world.staff.phone)
    page = await client.get("/county/registry/county?lang=zh-CN", headers=HTML)
    assert 'data-form="milestones"' in page.text and 'type="month"' in page.text
    assert "累计培训人次" in page.text
    token = CSRF_FIELD.search(page.text)[1]
    form = {"_csrf_token": token,
            "milestone_figure_0": "trainee_visits", "milestone_target_0": "1750",
            "milestone_due_0": "2025-10",
            "milestone_figure_1": "people", "milestone_target_1": "-3",
            "milestone_due_1": "2025-12",
            "milestone_figure_2": "sessions"}  # fmt: skip
    refused = await client.post("/county/registry/county/milestones", data=form, headers=HTML)
    assert refused.status_code == 200
    assert 'data-error-for="milestone_target_1"' in refused.text
    assert "中期目标的目标值必须是 1 以上的整数。" in refused.text
    assert 'value="1750"' in refused.text  # kept as typed
    got = await client.get(url(world, "milestones"), headers=world.staff.headers)
    assert got.json()["milestones"] == []
    form["milestone_target_1"] = "300"
    saved = await client.post("/county/registry/county/milestones", data=form, headers=HTML)
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("?saved=milestones#milestones")
    got = await client.get(url(world, "milestones"), headers=world.staff.headers)
    assert got.json()["milestones"] == [
        {"figure": "trainee_visits", "target": 1750, "due": "2025-10"},
        {"figure": "people", "target": 300, "due": "2025-12"},
    ]  # the third row, without value or month, is not kept
    shown = (await client.get("/county/registry/county", headers=HTML)).text
    assert 'name="milestone_due_1" type="month" value="2025-12"' in shown
    # Clearing every row clears them.
    cleared = {"_csrf_token": token, "milestone_figure_0": "trainee_visits"}
    assert (
        await client.post("/county/registry/county/milestones", data=cleared, headers=HTML)
    ).status_code == 303
    got = await client.get(url(world, "milestones"), headers=world.staff.headers)
    assert got.json()["milestones"] == []
