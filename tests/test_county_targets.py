"""The kpis' year to date, since the programme's start and the county's targets: a small county
with entries over two years, every expectation computed by hand."""

from __future__ import annotations

import datetime
import io

from openpyxl import load_workbook

from backend import clock
from tests.support import event, push, tracking

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
UTC = datetime.UTC
Y = datetime.datetime.now(SHANGHAI).year - 1  # a finished year: its June is the month asked


def _at(year: int, month: int, day: int) -> str:
    return datetime.datetime(year, month, day, 10, tzinfo=SHANGHAI).isoformat()


def _sale(amount: int, when: str) -> dict:
    data = {"product": "核桃", "quantity": 1, "unit": "kg", "amount_fen": amount,
            "commission_fen": 0, "channel": "微信"}  # fmt: skip
    return event("sale.recorded", data, when)


def _purchase(amount: int, when: str) -> dict:
    data = {"platform": "taobao", "item": "电饭锅", "amount_fen": amount, "commission_fen": 0}
    return event("purchase.ordered", data, when)


def _dispatch(farm: bool, when: str) -> dict:
    data = {"tracking_no": tracking(), "carrier": "SF", "weight_g": 500, "fee_fen": 800,
            "destination": "广州", "farm_product": farm}  # fmt: skip
    return event("parcel.dispatched", data, when)


def _checkin(when: str) -> dict:
    return event("checkin.recorded", {"note": "开门"}, when)


async def _history(client, world) -> None:
    a = [
        # The ledger's first day: the year before's days are all in it (else no growth, see
        # test_county_baseline.py's partly measured year).
        _checkin(_at(Y - 1, 1, 1)),
        _purchase(5000, _at(Y - 1, 4, 1)),  # last year, before the programme start
        _sale(20000, _at(Y - 1, 5, 1)),
        _dispatch(True, _at(Y, 2, 1)),
        _dispatch(False, _at(Y, 2, 2)),
        _sale(30000, _at(Y, 3, 10)),
        _purchase(5000, _at(Y, 6, 6)),
        _sale(99999, _at(Y, 7, 1)),  # after the month asked: in no block
    ]
    results = await push(client, world.keeper_a, a)
    assert {r["status"] for r in results} == {"accepted"}
    await push(client, world.keeper_b, [_sale(10000, _at(Y, 6, 5))])


async def _put(client, world, body: dict):
    return await client.put(
        f"/api/v1/counties/{world.county_id}/targets", json=body, headers=world.staff.headers
    )


async def _kpis(client, world) -> dict:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={Y}-06", headers=world.staff.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_year_to_date_since_start_and_targets_judged_on_the_year(client, world):
    await _history(client, world)
    # Until set, the programme starts on the day the county was created (today): nothing since.
    setting = await client.get(
        f"/api/v1/counties/{world.county_id}/targets", headers=world.staff.headers
    )
    today = datetime.datetime.now(SHANGHAI).date()
    assert setting.json()["programme_start"] == today.isoformat()
    assert setting.json()["targets"] == [] and "upward_sales_growth_pct" in setting.json()["names"]
    assert (await _kpis(client, world))["since_start"]["figures"]["retail_fen"] == 0

    answer = await _put(
        client,
        world,
        {
            "programme_start": f"{Y - 1}-04-15",
            "targets": [
                {"name": "upward_sales_growth_pct", "target": 20},
                {"name": "stations_village", "target": 3},
                {"name": "online_retail_growth_pct", "target": 90.5},
                {"name": "downward_sales_growth_pct", "target": 5},
                {"name": "upward_sales_fen", "target": 40000},
                {"name": "farm_parcels_out", "target": 1},
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["programme_start"] == f"{Y - 1}-04-15"
    assert answer.json()["targets"][0] == {"name": "stations_village", "target": 3}

    body = await _kpis(client, world)
    month = body["figures"]
    assert (month["upward_sales_fen"], month["downward_sales_fen"], month["retail_fen"]) == (
        10000, 5000, 15000
    )  # fmt: skip
    year = body["year_to_date"]
    assert (year["start"], year["end"]) == (f"{Y}-01-01", f"{Y}-06-30")
    assert year["figures"]["upward_sales_fen"] == 30000 + 10000
    assert year["figures"]["downward_sales_fen"] == 5000
    assert year["figures"]["retail_fen"] == 45000
    assert year["figures"]["farm_parcels_out"] == 1 and year["figures"]["parcels_out"] == 2
    assert year["last_year"]["upward_sales_fen"] == 20000
    assert year["last_year"]["downward_sales_fen"] == 5000
    assert year["growth_pct"]["upward_sales_fen"] == 100.0  # 40000 against 20000
    assert year["growth_pct"]["downward_sales_fen"] == 0.0
    assert year["growth_pct"]["retail_fen"] == 80.0  # 45000 against 25000
    since = body["since_start"]
    assert (since["start"], since["end"]) == (f"{Y - 1}-04-15", f"{Y}-06-30")
    # The purchase of 1 April is before the start; the July sale after the month.
    assert since["figures"]["upward_sales_fen"] == 20000 + 30000 + 10000
    assert since["figures"]["downward_sales_fen"] == 5000
    assert since["figures"]["retail_fen"] == 65000

    judged = {t["name"]: t for t in body["targets"]}
    assert list(judged)[:3] == [
        "township_coverage_pct", "village_coverage_pct", "poor_village_coverage_pct"
    ]  # fmt: skip
    assert judged["village_coverage_pct"] == {
        "name": "village_coverage_pct", "target": 60, "actual": 100.0, "met": True, "reason": None,
    }  # fmt: skip
    assert judged["stations_village"] == {
        "name": "stations_village", "target": 3, "actual": 2, "met": False, "reason": None,
    }  # fmt: skip
    assert judged["upward_sales_growth_pct"]["actual"] == 100.0
    assert judged["upward_sales_growth_pct"]["met"] is True
    assert judged["online_retail_growth_pct"] == {
        "name": "online_retail_growth_pct", "target": 90.5, "actual": 80.0, "met": False,
        "reason": None,
    }  # fmt: skip
    assert judged["downward_sales_growth_pct"]["met"] is False  # 0.0 < 5
    assert judged["upward_sales_fen"] == {
        "name": "upward_sales_fen", "target": 40000, "actual": 40000, "met": True, "reason": None,
    }  # fmt: skip
    assert judged["farm_parcels_out"]["met"] is True

    # The workbook's 汇总 carries the same blocks and the same judgement.
    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={Y}-06", headers=world.staff.headers
    )
    summary = load_workbook(io.BytesIO(book.content))["汇总"]
    header = [c.value for c in summary[2]]
    assert header[4] == "本年累计（01-01 至 06-30）" and header[6] == "累计同比增长（%）"
    assert header[7] == f"自项目开始（{Y - 1}-04-15 起）"
    rows = {row[0].value: [c.value for c in row] for row in summary.iter_rows(min_row=3)}
    upward = rows["农产品上行（代销）（元）"]
    assert [float(upward[i]) for i in (1, 4, 5, 7)] == [100.0, 400.0, 200.0, 600.0]
    assert upward[6] == 100.0
    assert rows["网络零售额（元）"][6] == 80.0
    assert (
        rows["农产品代发（件，本年累计）"]
        == ["农产品代发（件，本年累计）", 1, 1, "是"] + [None] * 4
    )
    assert rows["农产品上行（本年累计）（元）"][1:4] == [400, 400, "是"]
    assert rows["网络零售额同比增长（%）"][1:4] == [90.5, 80.0, "否"]
    assert rows["村级服务点（个）"][1:4] == [3, 2, "否"]
    assert rows["行政村覆盖率（%）"][1:4] == [60, 100.0, "是"]

    # Only the start given: the targets stay; an empty list clears them.
    assert (
        len((await _put(client, world, {"programme_start": f"{Y}-01-01"})).json()["targets"]) == 6
    )
    cleared = await _put(client, world, {"targets": []})
    assert cleared.json()["targets"] == [] and cleared.json()["programme_start"] == f"{Y}-01-01"
    assert [t["name"] for t in (await _kpis(client, world))["targets"]] == [
        "township_coverage_pct", "village_coverage_pct", "poor_village_coverage_pct"
    ]  # fmt: skip


async def test_a_growth_with_no_year_before_is_not_met(client, world):
    await push(client, world.keeper_a, [_sale(1000, _at(Y, 6, 1))])
    await _put(client, world, {"targets": [{"name": "upward_sales_growth_pct", "target": 0}]})
    judged = (await _kpis(client, world))["targets"][-1]
    assert judged == {
        "name": "upward_sales_growth_pct", "target": 0, "actual": None, "met": False,
        "reason": "no_base",  # nothing the same days a year before: no base to grow from
    }  # fmt: skip


INVALID = "county_invalid_target"


async def test_bad_targets_are_refused_and_change_nothing(client, world):
    await _put(client, world, {"targets": [{"name": "stations_village", "target": 40}]})
    tomorrow = datetime.datetime.now(SHANGHAI).date() + datetime.timedelta(days=2)
    cases = [
        ({"targets": [{"name": "happiness", "target": 1}]}, "county_unknown_target"),
        (
            {"targets": [{"name": "stations_village", "target": 1}] * 2},
            "county_duplicate_target",
        ),
        ({"targets": [{"name": "stations_village", "target": -1}]}, "county_invalid_target"),
        ({"targets": [{"name": "upward_sales_fen", "target": 10.5}]}, "county_invalid_target"),
        # A share beyond 0–100 % (a typo, saved before and then judged met on the scorecard).
        ({"targets": [{"name": "stations_equipped_pct", "target": -3}]}, "county_invalid_target"),
        ({"targets": [{"name": "poor_training_share_pct", "target": 250}]}, INVALID),
        ({"targets": [{"name": "online_retail_growth_pct", "target": -101}]}, INVALID),
        ({"programme_start": tomorrow.isoformat()}, "county_invalid_programme_start"),
    ]
    for body, code in cases:
        response = await client.put(
            f"/api/v1/counties/{world.county_id}/targets",
            json=body,
            headers={**world.staff.headers, "accept-language": "ug"},
        )
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == code
    unknown_field = await _put(client, world, {"targets": [], "colour": "red"})
    assert unknown_field.status_code in (400, 422)
    setting = await client.get(
        f"/api/v1/counties/{world.county_id}/targets", headers=world.staff.headers
    )
    assert setting.json()["targets"] == [{"name": "stations_village", "target": 40}]
    # A growth may pass 100 % or be a fall: those are targets a county can set.
    growth = [{"name": "online_retail_growth_pct", "target": 150},
              {"name": "upward_sales_growth_pct", "target": -5}]  # fmt: skip
    assert (await _put(client, world, {"targets": growth})).status_code == 200
    foreign = await client.put(
        f"/api/v1/counties/{world.foreign_county_id}/targets",
        json={"targets": []},
        headers=world.staff.headers,
    )
    assert foreign.status_code == 403


async def test_the_settings_page_sets_the_start_and_targets_in_yuan_and_percent(client, world):
    from tests.test_county_pages import CSRF_FIELD, HTML, page_login

    await page_login(client, world.staff.phone)
    page = await client.get("/county/registry/county?lang=zh-CN", headers=HTML)
    assert page.status_code == 200 and 'data-form="targets"' in page.text
    assert "项目开始日期" in page.text and "农产品上行同比增长（%）" in page.text
    token = CSRF_FIELD.search(page.text).group(1)
    form = {
        "_csrf_token": token,
        "programme_start": f"{Y}-03-01",
        "target_upward_sales_fen": "1234.5",  # 元 as typed
        "target_upward_sales_growth_pct": "20.5",
        "target_stations_village": "49",
        "target_online_retail_fen": "",  # empty: no target
    }
    saved = await client.post("/county/registry/county/targets", data=form, headers=HTML)
    assert saved.status_code == 303, saved.text
    setting = await client.get(
        f"/api/v1/counties/{world.county_id}/targets", headers=world.staff.headers
    )
    assert setting.json()["programme_start"] == f"{Y}-03-01"
    assert setting.json()["targets"] == [
        {"name": "stations_village", "target": 49},
        {"name": "upward_sales_fen", "target": 123450},
        {"name": "upward_sales_growth_pct", "target": 20.5},
    ]
    shown = await client.get("/county/registry/county?lang=ug", headers=HTML)
    assert 'value="1234.50"' in shown.text or 'value="1,234.50"' in shown.text

    bad = await client.post(
        "/county/registry/county/targets",
        data={**form, "target_upward_sales_growth_pct": "很多", "target_stations_village": "-3"},
        headers=HTML,
    )
    assert bad.status_code == 200
    assert 'data-error-for="target_upward_sales_growth_pct"' in bad.text
    assert 'value="很多"' in bad.text  # the typed input is kept
    negative = await client.post(
        "/county/registry/county/targets", data={**form, "target_stations_village": "-3"},
        headers=HTML,
    )  # fmt: skip
    assert 'data-error-for="target_stations_village"' in negative.text
    unchanged = await client.get(
        f"/api/v1/counties/{world.county_id}/targets", headers=world.staff.headers
    )
    assert unchanged.json() == setting.json()


async def test_the_coverage_page_shows_the_targets_judged_on_the_year(client, world):
    from tests.test_county_pages import HTML, page_login

    await _history(client, world)
    await page_login(client, world.staff.phone)
    empty = await client.get(f"/county/coverage?month={Y}-06&lang=zh-CN", headers=HTML)
    assert "本县还没有设置考核目标" in empty.text
    await _put(
        client,
        world,
        {
            "targets": [
                {"name": "upward_sales_fen", "target": 50000},
                {"name": "online_retail_growth_pct", "target": 50},
                {"name": "stations_village", "target": 2},
                {"name": "poor_households_served", "target": 3},
            ]
        },
    )
    page = await client.get(f"/county/coverage?month={Y}-06&lang=zh-CN", headers=HTML)
    assert page.status_code == 200

    def row(name: str) -> str:
        return page.text.split(f'data-target="{name}">')[1].split("</tr>")[0]

    upward = row("upward_sales_fen")
    assert "农产品上行（本年累计）" in upward and "500.00 元" in upward and "400.00 元" in upward
    assert "未达标" in upward
    growth = row("online_retail_growth_pct")
    assert "50%" in growth and "80%" in growth and "已达标" in growth
    assert "2 个" in row("stations_village") and "已达标" in row("stations_village")
    assert "3 户" in row("poor_households_served") and "0 户" in row("poor_households_served")
    uyghur = await client.get(f"/county/coverage?month={Y}-06&lang=ug", headers=HTML)
    assert uyghur.status_code == 200 and "باھالاش نىشانلىرى" in uyghur.text


def _for(entry: dict, household: str) -> dict:
    entry["data"]["household_code"] = household
    return entry


async def test_poor_households_served_counts_distinct_poor_households_of_the_year(client, world):
    made = await client.post(
        f"/api/v1/counties/{world.county_id}/households",
        json={"village_id": str(world.poor_village_id), "code": "T-0003", "poverty": True},
        headers=world.staff.headers,
    )
    assert made.status_code == 201, made.text
    poor, other = world.household_code, world.non_poverty_household_code
    taken_back = _for(_sale(700, _at(Y, 5, 2)), "T-0003")
    await push(
        client,
        world.keeper_a,
        [
            _for(_sale(1000, _at(Y, 2, 1)), poor),
            _for(_purchase(500, _at(Y, 6, 3)), poor),  # the same household again
            _for(_purchase(500, _at(Y, 6, 3)), other),  # not a 脱贫户
            _for(_sale(900, _at(Y - 1, 12, 30)), "T-0003"),  # last year
            _for(_sale(900, _at(Y, 7, 2)), "T-0003"),  # after the month asked
            taken_back,
        ],
    )
    await push(
        client,
        world.keeper_a,
        [event("entry.reversed", {"target_id": taken_back["id"], "reason": "记错"})],
    )
    await push(client, world.keeper_b, [_for(_dispatch(True, _at(Y, 3, 3)), poor)])
    await _put(client, world, {"targets": [{"name": "poor_households_served", "target": 2}]})
    judged = (await _kpis(client, world))["targets"][-1]
    assert judged == {
        "name": "poor_households_served", "target": 2, "actual": 1, "met": False, "reason": None,
    }  # fmt: skip


async def test_training_and_trace_targets_are_judged_on_the_scorecard(client, world, monkeypatch):
    """培训人次 and the poor households' 人次 of the year to date (a session after the month asked
    is not counted), and the scans of the county's trace labels on the days of the year to date
    (the county's days: not last year's, not July's, not a crawler's)."""

    async def session(held_on: str, trainees: list[dict]) -> None:
        made = await client.post(
            f"/api/v1/counties/{world.county_id}/trainings",
            json={"title": "电商培训", "held_on": held_on, "kind": "ecommerce_basics",
                  "trainees": trainees},
            headers=world.staff.headers,
        )  # fmt: skip
        assert made.status_code == 201, made.text

    await session(
        f"{Y}-03-15",
        [
            {"name": "甲", "household_code": world.household_code},  # a 脱贫户
            {"name": "乙", "household_code": world.non_poverty_household_code},
            {"name": "丙", "poor": True},
        ],
    )
    await session(f"{Y}-08-01", [{"name": "丁", "poor": True}])  # after June
    monkeypatch.setattr(clock, "utcnow", lambda: datetime.datetime(Y, 2, 1, 2, tzinfo=UTC))
    batch = await client.post(
        f"/api/v1/counties/{world.county_id}/trace-batches",
        json={"product": "核桃"},
        headers=world.staff.headers,
    )
    assert batch.status_code == 201, batch.text
    page = "/" + batch.json()["url"].split("/", 3)[3]
    # Phones without an earlier visit's cookie: each request is a visit of its own.
    phone = {
        "user-agent": "Mozilla/5.0 (Linux; Android 12) Mobile MicroMessenger/8.0",
        "cookie": "",
    }
    # Scans count on the county's day: 30 June 16:30 UTC is 1 July in Beijing, after the month.
    for agent, when in (
        (phone, datetime.datetime(Y, 3, 1, 2, tzinfo=UTC)),
        (phone, datetime.datetime(Y, 6, 30, 15, 59, tzinfo=UTC)),  # 23:59 on 30 June, Beijing
        (phone, datetime.datetime(Y, 6, 30, 16, 30, tzinfo=UTC)),  # 00:30 on 1 July: not
        (phone, datetime.datetime(Y - 1, 12, 31, 15, 0, tzinfo=UTC)),  # last year: not
        (phone, datetime.datetime(Y, 4, 4, 2, tzinfo=UTC)),
        ({"user-agent": "Baiduspider/2.0"}, datetime.datetime(Y, 4, 4, 3, tzinfo=UTC)),
    ):
        monkeypatch.setattr(clock, "utcnow", lambda when=when: when)
        assert (await client.get(page, headers=agent)).status_code == 200
    monkeypatch.undo()
    await _put(
        client,
        world,
        {"targets": [{"name": "training_visits", "target": 3},
                     {"name": "poor_training_visits", "target": 3},
                     {"name": "trace_scans", "target": 3}]},
    )  # fmt: skip
    judged = {t["name"]: t for t in (await _kpis(client, world))["targets"]}
    assert judged["training_visits"] == {
        "name": "training_visits", "target": 3, "actual": 3, "met": True, "reason": None,
    }  # fmt: skip
    assert judged["poor_training_visits"]["actual"] == 2
    assert judged["poor_training_visits"]["met"] is False
    assert judged["trace_scans"]["actual"] == 3 and judged["trace_scans"]["met"] is True
    coverage = await client.get(
        f"/county/coverage?month={Y}-06", headers={**world.staff.headers, "accept": "text/html"}
    )
    assert "3 人次" in coverage.text and "2 人次" in coverage.text
