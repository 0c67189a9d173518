"""Training's figures (issue 15): the follow-ups `sells_at_station` and `leader`, the poor villages
with an e-commerce leader, 人次 / 人数 / poor 人次 by kind, township and month, the totals since
the programme's start, the station keepers trained — each counted by hand, through the API, the
staff page, the scorecard's targets and the workbook, which must agree."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from tests.test_county_pages import html_as

Y = 2025


def trainings(world) -> str:
    return f"/api/v1/counties/{world.county_id}/trainings"


async def record(client, world, held_on: str, kind: str, trainees: list, township=True) -> None:
    body = {"title": f"培训{held_on}", "held_on": held_on, "kind": kind, "trainees": trainees}
    if township:
        body["township_id"] = str(world.township_id)
    made = await client.post(trainings(world), json=body, headers=world.staff.headers)
    assert made.status_code == 201, made.text


async def year_of(client, world, year: int = Y) -> dict:
    answer = await client.get(f"{trainings(world)}?year={year}", headers=world.staff.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def county(client, world) -> None:
    """A second poor village (南村) and a third station (C001, 东村); the programme started on
    2024-04-01. Sessions:
    2023-12-01 电商普及: 吴十 (before the start: in no figure here);
    2024-05-10 电商普及, the township: 张三 (T-0001, poor), 王五;
    2025-03-10 电商普及, the township: 张三 (T-0001), 李四 (T-0002), 赵六 (keeper of A001), 钱七
      (marked poor);
    2025-03-20 创业, no township: 张三 (T-0001), 孙八 (keeper of B001, its code in lower case);
    2025-07-01 站长, the township: 赵六 (A001), 周九."""
    staff = world.staff.headers
    village = await client.post(
        f"/api/v1/counties/{world.county_id}/villages",
        json={"township_id": str(world.township_id), "name": "南村", "poor": True},
        headers=staff,
    )
    assert village.status_code == 201, village.text
    station = await client.post(
        f"/api/v1/counties/{world.county_id}/stations",
        json={"village_id": str(world.village_id), "name": "C001服务站", "code": "C001"},
        headers=staff,
    )
    assert station.status_code == 201, station.text
    start = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"programme_start": "2024-04-01"},
        headers=staff,
    )
    assert start.status_code == 200, start.text
    poor, not_poor = world.household_code, world.non_poverty_household_code
    await record(client, world, "2023-12-01", "ecommerce_basics", [{"name": "吴十"}])
    await record(
        client,
        world,
        "2024-05-10",
        "ecommerce_basics",
        [{"name": "张三", "household_code": poor}, {"name": "王五"}],
    )
    await record(
        client,
        world,
        f"{Y}-03-10",
        "ecommerce_basics",
        [
            {"name": "张三", "household_code": poor},
            {"name": "李四", "household_code": not_poor},
            {"name": "赵六", "station_code": "A001"},
            {"name": "钱七", "poor": True},
        ],
    )
    await record(
        client,
        world,
        f"{Y}-03-20",
        "entrepreneurship",
        [{"name": "张三", "household_code": poor}, {"name": "孙八", "station_code": "b001"}],
        township=False,
    )
    await record(
        client,
        world,
        f"{Y}-07-01",
        "station_keeper",
        [{"name": "赵六", "station_code": "A001"}, {"name": "周九"}],
    )


async def note(client, world, name: str, held_on: str, outcome: str) -> None:
    figures = await year_of(client, world, int(held_on[:4]))
    trainee = next(
        t["id"]
        for s in figures["sessions"]
        if s["held_on"] == held_on
        for t in s["trainees"]
        if t["name"] == name
    )
    answer = await client.put(
        f"{trainings(world)}/trainees/{trainee}/outcome",
        json={"outcome": outcome, "noted_on": f"{Y}-09-01"},
        headers=world.staff.headers,
    )
    assert answer.status_code in (200, 204), answer.text


async def with_follow_ups(client, world) -> dict:
    """张三 (T-0001, of the poor 西村) became 西村's leader; 李四 (T-0002, of 东村, not poor) too,
    which no poor village counts; 孙八 sells through the station."""
    await county(client, world)
    await note(client, world, "张三", f"{Y}-03-10", "leader")
    await note(client, world, "李四", f"{Y}-03-10", "leader")
    await note(client, world, "孙八", f"{Y}-03-20", "sells_at_station")
    return await year_of(client, world)


def totals(sessions, visits, people, poor, share, poor_people, poor_people_share) -> dict:
    """None converted: the follow-ups here (leaders, selling through the station) are no 创业就业
    (tests/test_training_seed_measures.py counts those that are)."""
    return {"sessions": sessions, "trainee_visits": visits, "people": people,
            "poor_trainee_visits": poor, "poor_share": share, "people_converted": 0,
            "conversion_rate": 0.0, "poor_people": poor_people,
            "poor_people_share": poor_people_share}  # fmt: skip


async def test_the_years_figures_by_kind_township_month_and_since_the_start(client, world):
    figures = await with_follow_ups(client, world)
    # 8 人次 in 2025: 6 persons (张三 twice, 赵六 twice), 3 poor 人次 (张三 twice, 钱七) and 2
    # poor persons (张三, 钱七).
    assert figures["totals"] == totals(3, 8, 6, 3, 0.375, 2, 0.3333)
    assert [(row["key"], row["totals"]) for row in figures["by_kind"]] == [
        ("ecommerce_basics", totals(1, 4, 4, 2, 0.5, 2, 0.5)),
        ("entrepreneurship", totals(1, 2, 2, 1, 0.5, 1, 0.5)),
        ("station_keeper", totals(1, 2, 2, 0, 0.0, 0, 0.0)),
    ]
    township = str(world.township_id)
    assert [(r["key"], r["name"], r["totals"]) for r in figures["by_township"]] == [
        ("", "", totals(1, 2, 2, 1, 0.5, 1, 0.5)),
        (township, "测试县镇", totals(2, 6, 5, 2, 0.3333, 2, 0.4)),
    ]
    assert [(row["key"], row["totals"]) for row in figures["by_month"]] == [
        (f"{Y}-03", totals(2, 6, 5, 3, 0.5, 2, 0.4)),
        (f"{Y}-07", totals(1, 2, 2, 0, 0.0, 0, 0.0)),
    ]
    # Since 2024-04-01 through 2025-12-31: also 2024's session (张三 again, 王五), not 2023's.
    assert figures["since_start"] == {
        "start": "2024-04-01",
        "end": f"{Y}-12-31",
        "totals": totals(4, 10, 7, 4, 0.4, 2, 0.2857),
    }
    # 2023 is before the programme's start: no since-start figure for it.
    assert (await year_of(client, world, 2023))["since_start"] is None


async def test_leaders_of_the_poor_villages_and_the_keepers_trained(client, world):
    figures = await with_follow_ups(client, world)
    # 2 poor villages (西村, 南村); 西村 has its leader (张三); 李四's 东村 is not poor.
    assert figures["leaders"] == {
        "poor_villages": 2,
        "with_leader": 1,
        "share": 0.5,
        "villages": ["西村"],
    }
    keepers = figures["keepers"]
    assert [(k["code"], k["trainee_visits"]) for k in keepers["trained"]] == [
        ("A001", 2),
        ("B001", 1),
    ]
    assert (keepers["open_stations"], keepers["open_untrained"]) == (3, 1)  # C001
    march = next(s for s in figures["sessions"] if s["held_on"] == f"{Y}-03-20")
    sun = next(t for t in march["trainees"] if t["name"] == "孙八")
    assert (sun["station_code"], sun["station_name"], sun["outcome"]) == (
        "B001",
        "B001服务站",
        "sells_at_station",
    )
    # 2024's figures know no leader yet of 2025's sessions … but a leader stays one: by 2026's
    # end 西村 still has its leader.
    assert (await year_of(client, world, 2024))["leaders"]["with_leader"] == 0
    assert (await year_of(client, world, 2026))["leaders"]["with_leader"] == 1


async def test_an_unknown_station_is_refused_and_nothing_is_written(client, world):
    body = {"title": "站长培训", "held_on": f"{Y}-05-01", "kind": "station_keeper",
            "trainees": [{"name": "甲", "station_code": "A001"},
                         {"name": "乙", "station_code": "F001"}]}  # fmt: skip
    refused = await client.post(trainings(world), json=body, headers=world.staff.headers)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "training_station_unknown" and "F001" in problem["detail"]
    assert (await year_of(client, world))["totals"]["trainee_visits"] == 0


async def test_the_per_kind_and_leader_targets_on_the_scorecard(client, world):
    await with_follow_ups(client, world)
    targets = [
        {"name": "training_visits_ecommerce_basics", "target": 5000},
        {"name": "training_visits_entrepreneurship", "target": 2},
        {"name": "poor_village_leaders_pct", "target": 100},
    ]
    answer = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"targets": targets},
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={Y}-12", headers=world.staff.headers
    )
    judged = {t["name"]: (t["actual"], t["target"], t["met"]) for t in kpis.json()["targets"]}
    assert judged["training_visits_ecommerce_basics"] == (4, 5000, False)
    assert judged["training_visits_entrepreneurship"] == (2, 2, True)
    assert judged["poor_village_leaders_pct"] == (50.0, 100, False)  # 西村 of 西村 and 南村
    page = await client.get(f"/county/scorecard?month={Y}-12", headers=html_as(world.staff))
    row = re.search(r'<tr data-target="poor_village_leaders_pct" data-met="no">(.*?)</tr>',
                    page.text, re.S)  # fmt: skip
    assert row and "50%" in row[1] and "100%" in row[1]


def _table(text: str, name: str) -> list[list[str]]:
    body = text.split(f'data-table="training-{name}"')[1].split("</table>")[0]
    rows = re.findall(r"<tbody>(.*)</tbody>", body, re.S)[0]
    return [
        [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in re.findall(
            r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", rows, re.S)
    ]  # fmt: skip


async def test_the_page_and_the_workbook_agree_with_the_api(client, world):
    figures = await with_follow_ups(client, world)
    page = await client.get(f"/county/training?year={Y}&lang=zh-CN", headers=html_as(world.staff))
    assert page.status_code == 200
    text = page.text
    assert not re.findall(r"\b(?:county_page|field|problem|training)\.[a-z_.]+", text)

    def shown(rows, label) -> list:
        return [[label(row), str(row["totals"]["sessions"]), str(row["totals"]["trainee_visits"]),
                 str(row["totals"]["people"]), str(row["totals"]["poor_trainee_visits"]),
                 f"{round(row['totals']['poor_share'] * 100, 1):g}%"] for row in rows]  # fmt: skip

    kinds = {"ecommerce_basics": "电商普及", "entrepreneurship": "创业", "station_keeper": "站长"}
    assert _table(text, "by-kind") == shown(figures["by_kind"], lambda r: kinds[r["key"]])
    assert _table(text, "by-kind")[0] == ["电商普及", "1", "4", "4", "2", "50%"]
    assert _table(text, "by-township") == shown(
        figures["by_township"], lambda r: r["name"] or "未填乡镇"
    )
    assert _table(text, "by-month") == shown(figures["by_month"], lambda r: r["key"])
    assert _table(text, "since-start") == [
        ["培训场次", "4 场"], ["培训人次", "10 人次"], ["培训人数（去重）", "7 人"],
        ["贫困户人次", "4 人次"], ["贫困户人次占比", "40%"],
    ]  # fmt: skip
    assert "2024-04-01" in text and "1 / 2 个贫困村已有电商带头人（50%）" in text
    assert _table(text, "keepers") == [["A001", "A001服务站", "2"], ["B001", "B001服务站", "1"]]
    assert "3 个在营服务站中，1 个的站长今年还没有参加培训" in text

    response = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={Y}-03",
        headers=world.staff.headers,
    )
    assert response.status_code == 200
    sheet = [
        list(row)
        for row in load_workbook(io.BytesIO(response.content))["培训台帐"].iter_rows(
            min_row=2, values_only=True
        )
    ]
    blank = next(i for i, row in enumerate(sheet) if not any(c is not None for c in row))
    assert [row[1] for row in sheet[:blank]] == [f"培训{Y}-03-10", f"培训{Y}-03-20"]  # March's

    def block(title: str) -> list:
        at = next(i for i, row in enumerate(sheet) if row[0] == title)
        rows = []
        for row in sheet[at + 1 :]:
            if isinstance(row[1], str) or row[0] == "合计":
                break
            rows.append(list(row[:6]))
        return rows

    def expected(rows, label) -> list:
        return [[label(row), row["totals"]["sessions"], row["totals"]["trainee_visits"],
                 row["totals"]["people"], row["totals"]["poor_trainee_visits"],
                 round(row["totals"]["poor_share"] * 100, 1)] for row in rows]  # fmt: skip

    assert block(f"{Y} 年分类别") == expected(figures["by_kind"], lambda r: kinds[r["key"]])
    assert block(f"{Y} 年分乡镇") == expected(
        figures["by_township"], lambda r: r["name"] or "未填乡镇"
    )
    assert block(f"{Y} 年分月") == expected(figures["by_month"], lambda r: r["key"])
    since = next(row for row in sheet if str(row[0]).startswith("自项目开始"))
    assert since[:6] == ["自项目开始（2024-04-01 至 2025-12-31）", 4, 10, 7, 4, 40.0]
    leaders = sheet[next(i for i, r in enumerate(sheet) if r[0] == "贫困村电商带头人") + 1]
    assert leaders[1:4] == [1, 2, 50.0]
    keepers = next(row for row in sheet if row[0] == "在营站点（个）")
    assert keepers[:4] == ["在营站点（个）", 3, "其中站长未培训（个）", 1]


async def test_the_page_form_takes_a_keeper_by_the_station_code(client, world):
    from tests.test_county_pages import CSRF_FIELD, HTML, page_login

    await page_login(client, world.staff.phone)
    token = CSRF_FIELD.search((await client.get("/county/training", headers=HTML)).text)[1]
    form = {"_csrf_token": token, "title": "站长培训", "held_on": f"{Y}-06-01",
            "kind": "station_keeper",
            "trainees": "赵六,,a001\n钱七,T-0001,B001\n孙八,,Z999"}  # fmt: skip
    refused = await client.post("/county/training", data=form, headers=HTML)
    assert 'data-error-for="trainees"' in refused.text
    assert "第 3 位学员的站点编码 Z999 不是本县的服务站" in refused.text
    form["trainees"] = "赵六,,a001\n钱七,T-0001,B001"
    saved = await client.post("/county/training", data=form, headers=HTML)
    assert saved.status_code == 303
    (session,) = (await year_of(client, world))["sessions"]
    assert [(t["name"], t["household_code"], t["station_code"]) for t in session["trainees"]] == [
        ("赵六", None, "A001"),
        ("钱七", "T-0001", "B001"),
    ]
    page = await client.get(f"/county/training?year={Y}", headers=HTML)
    keepers = _table(page.text, "keepers")
    assert keepers == [["A001", "A001服务站", "1"], ["B001", "B001服务站", "1"]]
