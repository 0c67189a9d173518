"""Training records (培训台帐, issue 15): sessions with trainees, 人次 and poor 人次 computed by
hand, the household's poor flag, the year filter, who may call, bad inputs, and the staff page."""

from __future__ import annotations

import datetime
import re

import pytest

from backend.accounts.tables import AuditEntry
from tests.test_county_pages import CSRF_FIELD, HTML, html_as, page_login


def trainings(county_id) -> str:
    return f"/api/v1/counties/{county_id}/trainings"


def session(**overrides) -> dict:
    body = {
        "title": "电商普及第一期",
        "held_on": "2025-03-10",
        "kind": "ecommerce_basics",
        "trainees": [{"name": "张三"}],
    }
    body.update(overrides)
    return body


async def record(client, world, body: dict, actor=None) -> dict:
    response = await client.post(
        trainings(world.county_id), json=body, headers=(actor or world.staff).headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def year(client, world, which: int | str | None = None, actor=None):
    query = "" if which is None else f"?year={which}"
    return await client.get(
        trainings(world.county_id) + query, headers=(actor or world.staff).headers
    )


async def three_sessions(client, world) -> None:
    """7 trainee visits in 2025: 张三 twice by the poor household's code (T-0001), 王五 marked poor
    by hand, 李四 by the non-poor household's code although marked poor; one session in 2024."""
    poor, not_poor = world.household_code, world.non_poverty_household_code
    await record(
        client,
        world,
        session(
            township_id=str(world.township_id),
            trainer="李老师",
            hours=2.5,
            trainees=[
                {"name": "张三", "household_code": poor},
                {"name": "李四", "household_code": not_poor, "poor": True},
                {"name": "王五", "poor": True},
                {"name": "赵六"},
            ],
        ),
    )
    await record(
        client,
        world,
        session(
            title="直播带货培训",
            held_on="2025-06-01",
            kind="livestream",
            trainees=[
                {"name": "张三", "household_code": poor.lower(), "poor": False},
                {"name": "孙七"},
            ],
        ),
    )
    await record(
        client,
        world,
        session(
            title="站长培训",
            held_on="2025-09-15",
            kind="station_keeper",
            trainees=[{"name": "周八"}],
        ),
    )
    await record(
        client,
        world,
        session(
            title="去年的创业培训",
            held_on="2024-11-20",
            kind="entrepreneurship",
            trainees=[{"name": "张三", "household_code": poor}, {"name": "吴九"}],
        ),
    )


async def test_a_years_sessions_and_totals_counted_by_hand(client, world):
    await three_sessions(client, world)
    answer = await year(client, world, 2025)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # 3 sessions, 4 + 2 + 1 = 7 visits; poor: 张三 ×2 (household) + 王五 (by hand) = 3; 3/7.
    # People (人数): 张三 twice by one household code is one person; 6 people, none followed up;
    # 2 of them poor (张三, 王五): the seeds' 「培训人数中贫困人口」 is 2 of 6, not 3 of 7.
    assert body["totals"] == {
        "sessions": 3,
        "trainee_visits": 7,
        "poor_trainee_visits": 3,
        "poor_share": 0.4286,
        "people": 6,
        "people_converted": 0,
        "conversion_rate": 0.0,
        "poor_people": 2,
        "poor_people_share": 0.3333,
    }
    sessions = body["sessions"]
    assert [s["held_on"] for s in sessions] == ["2025-09-15", "2025-06-01", "2025-03-10"]
    assert [s["trainee_visits"] for s in sessions] == [1, 2, 4]
    assert [s["poor_trainee_visits"] for s in sessions] == [0, 1, 2]
    first = sessions[2]
    assert first["kind"] == "ecommerce_basics" and first["trainer"] == "李老师"
    assert first["hours"] == 2.5 and first["township_id"] == str(world.township_id)
    assert first["township_name"] == "测试县镇"
    assert [(t["name"], t["household_code"], t["poor"]) for t in first["trainees"]] == [
        ("张三", "T-0001", True),
        ("李四", "T-0002", False),  # the household is not poor: its flag decides, not "poor"
        ("王五", None, True),
        ("赵六", None, False),
    ]
    # A code typed in lower case is the household's; its flag wins over "poor": false.
    zhang = sessions[1]["trainees"][0]
    assert (zhang["name"], zhang["household_code"], zhang["poor"]) == ("张三", "T-0001", True)
    assert zhang["outcome"] is None and zhang["outcome_on"] is None
    assert sessions[0]["hours"] is None and sessions[0]["trainer"] == ""


async def test_the_year_filter_and_the_current_year(client, world):
    await three_sessions(client, world)
    earlier = (await year(client, world, 2024)).json()
    assert [s["title"] for s in earlier["sessions"]] == ["去年的创业培训"]
    assert earlier["totals"] == {
        "sessions": 1,
        "trainee_visits": 2,
        "poor_trainee_visits": 1,
        "poor_share": 0.5,
        "people": 2,
        "people_converted": 0,
        "conversion_rate": 0.0,
        "poor_people": 1,
        "poor_people_share": 0.5,
    }
    empty = (await year(client, world, 2023)).json()
    assert empty["sessions"] == []
    assert empty["totals"] == {
        "sessions": 0,
        "trainee_visits": 0,
        "poor_trainee_visits": 0,
        "poor_share": 0.0,
        "people": 0,
        "people_converted": 0,
        "conversion_rate": 0.0,
        "poor_people": 0,
        "poor_people_share": 0.0,
    }
    # Without ?year=, the county's current year (Asia/Shanghai).
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
    await record(client, world, session(title="今天的培训", held_on=today.isoformat()))
    current = (await year(client, world)).json()
    assert current["year"] == today.year
    assert [s["title"] for s in current["sessions"]] == ["今天的培训"]
    for bad in ("2014", "abc", str(today.year + 2), "20255"):
        refused = await year(client, world, bad)
        assert refused.status_code == 400, bad
        assert refused.json()["code"] == "training_year_invalid"
        assert refused.json()["field"] == "year"


async def test_only_the_countys_own_staff(client, world):
    await record(client, world, session())
    for actor in (world.foreign_staff, world.keeper_a, world.foreign_keeper):
        for method, body in (("GET", None), ("POST", session(title="越权"))):
            response = await client.request(
                method, trainings(world.county_id), json=body, headers=actor.headers
            )
            assert response.status_code == 403, (actor.role, method)
            assert response.headers["content-type"].startswith("application/problem+json")
    anonymous = await client.get(trainings(world.county_id))
    assert anonymous.status_code == 401
    anonymous = await client.post(trainings(world.county_id), json=session(title="匿名"))
    assert anonymous.status_code == 401
    # Nothing of the refused posts was written; the foreign county's staff see their own county.
    assert [s["title"] for s in (await year(client, world, 2025)).json()["sessions"]] == [
        "电商普及第一期"
    ]
    theirs = await client.get(
        trainings(world.foreign_county_id) + "?year=2025", headers=world.foreign_staff.headers
    )
    assert theirs.status_code == 200 and theirs.json()["totals"]["sessions"] == 0


LONG = "字" * 81
BAD_INPUTS = [
    # (what is wrong, the body's changes, status, code, field)
    ("empty title", {"title": "  "}, 422, "training_title_invalid", "title"),
    ("long title", {"title": LONG}, 422, "training_title_invalid", "title"),
    ("NUL in title", {"title": "培训\x00"}, 422, "training_title_invalid", "title"),
    ("no such day", {"held_on": "2025-02-30"}, 422, "training_held_on_invalid", "held_on"),
    ("not a date", {"held_on": "10/03/2025"}, 422, "training_held_on_invalid", "held_on"),
    ("too early", {"held_on": "2014-12-31"}, 422, "training_held_on_invalid", "held_on"),
    ("far future", {"held_on": "2099-01-01"}, 422, "training_held_on_invalid", "held_on"),
    ("unknown kind", {"kind": "cooking"}, 422, "training_kind_invalid", "kind"),
    ("no trainees", {"trainees": []}, 422, "training_trainees_count", "trainees"),
    (
        "501 trainees",
        {"trainees": [{"name": f"学员{i}"} for i in range(501)]},
        422,
        "training_trainees_count",
        "trainees",
    ),
    (
        "empty name",
        {"trainees": [{"name": "张三"}, {"name": " "}]},
        422,
        "training_name_invalid",
        "name",
    ),
    ("long name", {"trainees": [{"name": "字" * 41}]}, 422, "training_name_invalid", "name"),
    (
        "override in name",
        {"trainees": [{"name": "张\u202e三"}]},
        422,
        "training_name_invalid",
        "name",
    ),
    (
        "foreign household",
        {"trainees": [{"name": "张三"}, {"name": "李四", "household_code": "F-0001"}]},
        422,
        "training_household_unknown",
        "household_code",
    ),
    (
        "unknown household",
        {"trainees": [{"name": "张三", "household_code": "T-9999"}]},
        422,
        "training_household_unknown",
        "household_code",
    ),
    ("long trainer", {"trainer": "字" * 41}, 422, "training_trainer_invalid", "trainer"),
    ("zero hours", {"hours": 0}, 422, "training_hours_invalid", "hours"),
    ("25 hours", {"hours": 25}, 422, "training_hours_invalid", "hours"),
    ("three decimals", {"hours": 2.555}, 422, "training_hours_invalid", "hours"),
    ("unknown field", {"teacher": "李"}, 400, "invalid_input", None),
    ("hours as text", {"hours": "two"}, 400, "invalid_input", "hours"),
]


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    client, world, changes, status, code, field
):
    response = await client.post(
        trainings(world.county_id), json=session(**changes), headers=world.staff.headers
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    if field:
        assert problem["field"] == field
    assert problem["detail"] and "problem." not in problem["detail"]
    assert (await year(client, world, 2025)).json()["totals"]["sessions"] == 0


async def test_missing_title_and_foreign_township_are_refused(client, world):
    body = session()
    del body["title"]
    missing = await client.post(trainings(world.county_id), json=body, headers=world.staff.headers)
    assert missing.status_code == 400 and missing.json()["code"] == "invalid_input"
    from backend.registry.tables import Township

    foreign = (
        await Township.select(Township.id).where(Township.county == world.foreign_county_id).first()
    )
    refused = await client.post(
        trainings(world.county_id),
        json=session(township_id=str(foreign["id"])),
        headers=world.staff.headers,
    )
    assert refused.status_code == 422 and refused.json()["code"] == "training_township_unknown"
    assert (await year(client, world, 2025)).json()["totals"]["sessions"] == 0


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", "第 2 位学员的户码 F-0001"),
        ("en", "Trainee 2: household code F-0001"),
        ("ug", "ئائىلە نومۇرى"),
    ],
)
async def test_problems_speak_the_callers_language(client, world, lang, words):
    body = session(trainees=[{"name": "张三"}, {"name": "李四", "household_code": "F-0001"}])
    response = await client.post(
        trainings(world.county_id),
        json=body,
        headers={**world.staff.headers, "accept-language": lang},
    )
    assert response.status_code == 422
    assert words in response.json()["detail"]


@pytest.mark.parametrize("lang", ["zh-CN", "ug", "en"])
async def test_the_page_shows_the_years_figures_with_units(client, world, lang):
    await three_sessions(client, world)
    page = await client.get(f"/county/training?year=2025&lang={lang}", headers=html_as(world.staff))
    assert page.status_code == 200
    text = page.text
    assert f'<html lang="{lang}"' in text
    assert not re.findall(r"\b(?:county_page|field|problem|training)\.[a-z_.]+", text)
    assert 'href="/county/training" aria-current="page"' in text  # in the county navigation
    totals = text.split('data-table="training-totals"')[1].split("</table>")[0]
    figures = {
        name: re.search(rf'data-total="{name}">.*?class="num">(.*?)</td>', totals, re.S)[1]
        for name in ("sessions", "trainee_visits", "poor_trainee_visits", "poor_share")
    }
    units = {
        "zh-CN": ("3 场", "7 人次", "3 人次"),
        "en": ("3 sessions", "7 trainee visits", "3 trainee visits"),
        "ug": ("\u20663\u2069 مەيدان", "\u20667\u2069 ئادەم-قېتىم", "\u20663\u2069 ئادەم-قېتىم"),
    }[lang]
    assert (figures["sessions"], figures["trainee_visits"], figures["poor_trainee_visits"]) == units
    assert "42.9%" in figures["poor_share"]
    rows = text.split('data-table="training-sessions"')[1].split("</table>")[0]
    visits = re.findall(r'class="num visits">(\d+)<', rows)
    poor = re.findall(r'class="num poor">(\d+)<', rows)
    assert (visits, poor) == (["1", "2", "4"], ["0", "1", "2"])
    assert "去年的创业培训" not in text


async def test_the_page_form_records_a_session_and_keeps_input_on_error(client, world):
    await page_login(client, world.staff.phone)
    page = await client.get("/county/training", headers=HTML)
    assert page.status_code == 200
    token = CSRF_FIELD.search(page.text).group(1)
    lines = "张三,T-0001\n李四，t-0002\n\n王五\n"
    form = {
        "_csrf_token": token,
        "title": "电商普及夜校",
        "held_on": "2025-04-01",
        "kind": "ecommerce_basics",
        "township_id": str(world.township_id),
        "trainer": "李老师",
        "hours": "1.5",
        "trainees": lines + "赵六,F-0001",
    }
    refused = await client.post("/county/training", data=form, headers=HTML)
    assert refused.status_code == 200
    assert 'data-error-for="trainees"' in refused.text
    assert "第 4 位学员的户码 F-0001" in refused.text
    assert "电商普及夜校" in refused.text and "赵六,F-0001" in refused.text  # input kept
    assert (await year(client, world, 2025)).json()["totals"]["sessions"] == 0
    no_township = await client.post(
        "/county/training", data={**form, "township_id": "nonsense"}, headers=HTML
    )
    assert 'data-error-for="township_id"' in no_township.text
    assert (await year(client, world, 2025)).json()["totals"]["sessions"] == 0
    saved = await client.post("/county/training", data={**form, "trainees": lines}, headers=HTML)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/county/training?year=2025&saved=1"
    body = (await year(client, world, 2025)).json()
    assert body["totals"] == {
        "sessions": 1,
        "trainee_visits": 3,
        "poor_trainee_visits": 1,
        "poor_share": 0.3333,
        "people": 3,
        "people_converted": 0,
        "conversion_rate": 0.0,
        "poor_people": 1,
        "poor_people_share": 0.3333,
    }
    recorded = body["sessions"][0]
    assert recorded["hours"] == 1.5 and recorded["trainer"] == "李老师"
    assert [(t["name"], t["household_code"]) for t in recorded["trainees"]] == [
        ("张三", "T-0001"),
        ("李四", "T-0002"),
        ("王五", None),
    ]
    shown = await client.get("/county/training?year=2025&saved=1", headers=HTML)
    assert "培训已登记" in shown.text and "电商普及夜校" in shown.text


async def test_the_page_refuses_keepers_and_sends_strangers_to_login(client, world):
    keeper = await client.get("/county/training", headers=html_as(world.keeper_a))
    assert keeper.status_code == 403
    stranger = await client.get("/county/training", headers=HTML)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/county/login")


# Follow-up (培训转化) ----------------------------------------------------------------------------


def outcome_path(world, trainee_id) -> str:
    return f"{trainings(world.county_id)}/trainees/{trainee_id}/outcome"


async def trainee_ids(client, world, which: int = 2025) -> dict[tuple[str, str], str]:
    """(session title, trainee name) → trainee id."""
    body = (await year(client, world, which)).json()
    return {(s["title"], t["name"]): t["id"] for s in body["sessions"] for t in s["trainees"]}


async def test_follow_up_counts_people_converted_once_and_is_audited(client, world):
    await three_sessions(client, world)
    ids = await trainee_ids(client, world)
    noted = [
        (("电商普及第一期", "张三"), {"outcome": "online_shop", "noted_on": "2025-05-01"}),
        (("直播带货培训", "张三"), {"outcome": "business"}),  # the same person: counted once
        (("电商普及第一期", "王五"), {"outcome": "employed"}),
    ]
    for key, body in noted:
        answer = await client.put(
            outcome_path(world, ids[key]), json=body, headers=world.staff.headers
        )
        assert answer.status_code == 200, answer.text
    totals = (await year(client, world, 2025)).json()["totals"]
    # 6 people; 张三 and 王五 converted: 2 of 6.
    assert (totals["people"], totals["people_converted"], totals["conversion_rate"]) == (
        6,
        2,
        0.3333,
    )
    first = next(
        s
        for s in (await year(client, world, 2025)).json()["sessions"]
        if s["title"] == "电商普及第一期"
    )
    zhang = next(t for t in first["trainees"] if t["name"] == "张三")
    assert (zhang["outcome"], zhang["outcome_on"]) == ("online_shop", "2025-05-01")

    cleared = await client.put(
        outcome_path(world, ids[("电商普及第一期", "王五")]),
        json={"outcome": None},
        headers=world.staff.headers,
    )
    assert cleared.status_code == 200
    totals = (await year(client, world, 2025)).json()["totals"]
    assert (totals["people_converted"], totals["conversion_rate"]) == (1, 0.1667)
    audited = await AuditEntry.select(AuditEntry.action, AuditEntry.details).where(
        AuditEntry.action == "training.outcome"
    )
    assert len(audited) == 4
    assert "online_shop" in str(audited[0]["details"]) or "online_shop" in str(audited)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"outcome": "rich"}, 422, "training_outcome_invalid"),
        ({"outcome": "employed", "noted_on": "2999-01-01"}, 422, "training_outcome_day_invalid"),
        ({"outcome": "employed", "noted_on": "2025-02-30"}, 422, "training_outcome_day_invalid"),
    ],
)
async def test_a_bad_follow_up_is_a_problem_and_changes_nothing(client, world, body, status, code):
    await three_sessions(client, world)
    ids = await trainee_ids(client, world)
    before = (await year(client, world, 2025)).json()
    answer = await client.put(
        outcome_path(world, ids[("电商普及第一期", "赵六")]), json=body, headers=world.staff.headers
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert (await year(client, world, 2025)).json() == before


async def test_another_countys_trainee_is_not_found(client, world):
    await three_sessions(client, world)
    ids = await trainee_ids(client, world)
    stranger = await client.put(
        f"/api/v1/counties/{world.foreign_county_id}/trainings/trainees/"
        f"{ids[('电商普及第一期', '赵六')]}/outcome",
        json={"outcome": "employed"},
        headers=world.foreign_staff.headers,
    )
    assert stranger.status_code == 404, stranger.text
    assert (await year(client, world, 2025)).json()["totals"]["people_converted"] == 0


async def test_the_page_notes_a_follow_up(client, world):
    await three_sessions(client, world)
    ids = await trainee_ids(client, world)
    await page_login(client, world.staff.phone)
    page = await client.get("/county/training?year=2025", headers=HTML)
    token = CSRF_FIELD.search(page.text).group(1)
    trainee = ids[("站长培训", "周八")]
    assert f'data-trainee="{trainee}" data-outcome=""' in page.text
    session_id = next(
        s["id"]
        for s in (await year(client, world, 2025)).json()["sessions"]
        if s["title"] == "站长培训"
    )
    saved = await client.post(
        f"/county/training/trainees/{trainee}/outcome",
        data={"_csrf_token": token, "outcome": "employed", "year": "2025", "session": session_id},
        headers=HTML,
    )
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/county/training?year=2025&saved=outcome")
    shown = await client.get(saved.headers["location"].split("#")[0], headers=HTML)
    assert f'data-trainee="{trainee}" data-outcome="employed"' in shown.text
    assert "转化情况已保存" in shown.text
    totals = re.search(
        r'data-total="people_converted"><th>[^<]*</th><td class="num">([^<]*)<', shown.text
    )
    assert totals and totals.group(1) == "1 人"


async def test_the_page_follow_up_takes_the_day_noted(client, world):
    """The follow-up form carries the day staff learnt of the outcome (`noted_on`), today by
    default and at most today; a day ahead is refused on the page and nothing changes. A trainee
    a keeper signed in at a village session has the same form."""
    from tests.support import event, push

    await three_sessions(client, world)
    village = event(
        "training.attended",
        {"title": "村里的直播课", "kind": "livestream", "trainees": [{"name": "孙村民"}]},
        occurred_at="2025-05-06T10:00:00+08:00",
    )
    assert [r["status"] for r in await push(client, world.keeper_a, [village])] == ["accepted"]
    ids = await trainee_ids(client, world)
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
    await page_login(client, world.staff.phone)
    page = await client.get("/county/training?year=2025&lang=zh-CN", headers=HTML)
    token = CSRF_FIELD.search(page.text).group(1)
    box = f'name="noted_on" value="{today}" max="{today}"'
    assert page.text.count(box) == 8  # every trainee's form, the village session's one too
    assert (
        f'action="/county/training/trainees/{ids[("村里的直播课", "孙村民")]}/outcome"' in page.text
    )

    async def note(key, noted_on: str | None):
        form = {"_csrf_token": token, "outcome": "online_shop", "year": "2025"}
        if noted_on is not None:
            form["noted_on"] = noted_on
        return await client.post(
            f"/county/training/trainees/{ids[key]}/outcome", data=form, headers=HTML
        )

    assert (await note(("站长培训", "周八"), "2025-10-02")).status_code == 303
    assert (await note(("村里的直播课", "孙村民"), "2025-06-01")).status_code == 303
    assert (await note(("直播带货培训", "孙七"), None)).status_code == 303  # today
    ahead = (today + datetime.timedelta(days=1)).isoformat()
    refused = await note(("电商普及第一期", "赵六"), ahead)
    assert refused.status_code == 200
    # The message in the trainee's own row, which keeps what was chosen and typed (it came back
    # reset to "no outcome" and today, the message above all the sessions).
    row = refused.text.split(f'data-trainee="{ids[("电商普及第一期", "赵六")]}"')[1].split("</tr>")[
        0
    ]
    error = re.search(r'data-error-for="noted_on">([^<]*)</p>', row)
    assert error and "登记日期须是" in error.group(1) and today.isoformat() in error.group(1)
    assert '<option value="online_shop" selected>' in row
    assert f'name="noted_on" value="{ahead}"' in row and 'aria-invalid="true"' in row
    assert refused.text.count("data-error-for=") == 1  # no other row marked
    trainees = {
        (s["title"], t["name"]): (t["outcome"], t["outcome_on"])
        for s in (await year(client, world, 2025)).json()["sessions"]
        for t in s["trainees"]
    }
    assert trainees[("站长培训", "周八")] == ("online_shop", "2025-10-02")
    assert trainees[("村里的直播课", "孙村民")] == ("online_shop", "2025-06-01")
    assert trainees[("直播带货培训", "孙七")] == ("online_shop", today.isoformat())
    assert trainees[("电商普及第一期", "赵六")] == (None, None)  # refused: unchanged


async def test_a_session_entered_ahead_of_its_day_is_listed_but_counted_from_that_day(
    client, world, monkeypatch
):
    """On 2026-06-15 staff record a session held that day and one planned for 2026-06-20: the
    year's page and API list both, the planned one marked, but 场次 and 人次 (totals, per kind,
    per month) count only the one held; on the 20th the planned one counts too."""
    import backend.clock as clock

    def at(day: str) -> None:
        moment = datetime.datetime.fromisoformat(f"{day}T04:00:00+00:00")  # noon in Shanghai
        monkeypatch.setattr(clock, "utcnow", lambda: moment)

    at("2026-06-15")
    held = await record(client, world, session(held_on="2026-06-15", trainees=[{"name": "张三"}]))
    planned = await record(
        client,
        world,
        session(title="直播课", held_on="2026-06-20", kind="livestream",
                trainees=[{"name": "李四"}, {"name": "王五"}]),
    )  # fmt: skip
    answer = (await year(client, world, 2026)).json()
    listed = {s["id"]: s["planned"] for s in answer["sessions"]}
    assert listed == {held["id"]: False, planned["id"]: True}
    assert (answer["totals"]["sessions"], answer["totals"]["trainee_visits"]) == (1, 1)
    assert [(k["key"], k["totals"]["trainee_visits"]) for k in answer["by_kind"]] == [
        ("ecommerce_basics", 1)
    ]
    await page_login(client, world.staff.phone)
    page = (await client.get("/county/training?year=2026&lang=zh-CN", headers=HTML)).text
    assert re.search(r'data-total="trainee_visits"><th>[^<]*</th><td class="num">1 人次', page)
    assert f'data-session="{planned["id"]}" data-planned="1"' in page
    assert "另有 1 场培训日期在今天" in page

    at("2026-06-20")
    answer = (await year(client, world, 2026)).json()
    assert [s["planned"] for s in answer["sessions"]] == [False, False]
    assert (answer["totals"]["sessions"], answer["totals"]["trainee_visits"]) == (2, 3)
