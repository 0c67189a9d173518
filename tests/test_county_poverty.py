"""惠及脱贫户 as the programme counts it (docs/programme.md rows 20 and 23): the 交易额 split into
脱贫户's 代销 and 代购, what they were paid out for their produce (sale − commission), the distinct
households served with their growth, and per 贫困村 — the kpis API, the coverage page and the
workbook's 汇总 give the same hand-computed figures; a full rebuild and a closed month keep them.

The test county: A001 in 东村, B001 in 西村 (a 贫困村); 脱贫户 T-0001 (西村), T-0003 (西村) and
T-0004 (东村); T-0002 is not poor. The month asked is June of last year (Y)."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from backend.county import rollups
from tests.support import event, push, tracking
from tests.test_county_pages import html_as

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
Y = datetime.datetime.now(SHANGHAI).year - 1
MONTH = f"{Y}-06"
TAGS = re.compile(r"<[^>]+>")


def _at(year: int, month: int, day: int) -> str:
    return datetime.datetime(year, month, day, 10, tzinfo=SHANGHAI).isoformat()


def _sale(amount: int, commission: int, when: str, household: str) -> dict:
    data = {"product": "核桃", "quantity": 1, "unit": "kg", "amount_fen": amount,
            "commission_fen": commission, "channel": "微信",
            "household_code": household}  # fmt: skip
    return event("sale.recorded", data, when)


def _purchase(amount: int, commission: int, when: str, household: str) -> dict:
    data = {"platform": "taobao", "item": "化肥", "amount_fen": amount,
            "commission_fen": commission, "household_code": household}  # fmt: skip
    return event("purchase.ordered", data, when)


def _dispatch(when: str, household: str) -> dict:
    data = {"tracking_no": tracking(), "carrier": "SF", "weight_g": 500, "fee_fen": 800,
            "destination": "广州", "farm_product": True, "household_code": household}  # fmt: skip
    return event("parcel.dispatched", data, when)


async def _household(client, world, village_id, code: str) -> str:
    made = await client.post(
        f"/api/v1/counties/{world.county_id}/households",
        json={"village_id": str(village_id), "code": code, "poverty": True},
        headers=world.staff.headers,
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def _county(client, world) -> str:
    """The entries of the two years; answers T-0003's id."""
    t3 = await _household(client, world, world.poor_village_id, "T-0003")
    await _household(client, world, world.village_id, "T-0004")
    started = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"programme_start": f"{Y - 1}-01-01",
              "targets": [{"name": "poverty_payout_fen", "target": 40000},
                          {"name": "poverty_payout_growth_pct", "target": 20}]},
        headers=world.staff.headers,
    )  # fmt: skip
    assert started.status_code == 200, started.text
    mistake = _sale(11111, 111, _at(Y, 5, 1), "T-0003")  # reversed: counts nowhere
    b = [
        _sale(20000, 2000, _at(Y - 1, 3, 1), "T-0001"),  # the year before: paid 18000
        _sale(30000, 3000, _at(Y, 3, 1), "T-0001"),  # paid 27000
        _sale(10000, 500, _at(Y, 6, 10), "T-0003"),  # June: paid 9500
        mistake,
        _sale(7777, 77, _at(Y, 7, 1), "T-0001"),  # after the month asked
    ]
    assert {r["status"] for r in await push(client, world.keeper_b, b)} == {"accepted"}
    reversal = event("entry.reversed", {"target_id": mistake["id"], "reason": "录错"})
    assert (await push(client, world.keeper_b, [reversal]))[0]["status"] == "accepted"
    a = [
        _purchase(5000, 300, _at(Y - 1, 4, 1), "T-0003"),  # the year before
        _purchase(4000, 200, _at(Y, 6, 12), "T-0001"),  # June: bought for a 脱贫户
        _sale(8000, 800, _at(Y, 6, 15), "T-0002"),  # not a 脱贫户
        _dispatch(_at(Y, 6, 20), "T-0004"),  # served: a parcel sent, no 交易额
    ]
    assert {r["status"] for r in await push(client, world.keeper_a, a)} == {"accepted"}
    return t3


async def _kpis(client, world) -> dict:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={MONTH}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


SPLIT = ("poverty_amount_fen", "poverty_sales_fen", "poverty_purchases_fen", "poverty_payout_fen")


def _split(figures: dict) -> tuple:
    return tuple(figures[key] for key in SPLIT)


def _page_row(html: str, attribute: str, name: str) -> list[str]:
    row = html.split(f'<tr {attribute}="{name}">')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    return [" ".join(TAGS.sub("", cell).split()) for cell in cells]


async def test_poor_households_payout_and_trade_agree_on_api_page_and_workbook(client, world):
    await _county(client, world)
    kpis = await _kpis(client, world)
    # June: T-0003's sale 10000 (paid 9500), T-0001's purchase 4000; nothing last June.
    assert _split(kpis["figures"]) == (14000, 10000, 4000, 9500)
    assert _split(kpis["last_year"]) == (0, 0, 0, 0)
    assert kpis["growth_pct"]["poverty_payout_fen"] is None
    # Served in June: T-0003 (sold), T-0001 (bought), T-0004 (sent); none last June.
    assert kpis["poor_households"] == {
        "served": 3, "last_year": 0, "growth_pct": None, "growth_reason": "no_base"
    }  # fmt: skip
    year = kpis["year_to_date"]
    # January–June: sales 30000 + 10000, purchases 4000, paid 27000 + 9500; the year before:
    # 20000, 5000, paid 18000 (the reversed 11111 and July's 7777 nowhere).
    assert _split(year["figures"]) == (44000, 40000, 4000, 36500)
    assert _split(year["last_year"]) == (25000, 20000, 5000, 18000)
    assert [year["growth_pct"][key] for key in SPLIT] == [76.0, 100.0, -20.0, 102.8]
    # T-0001, T-0003, T-0004 against T-0001, T-0003 (T-0002 is not poor): 3 against 2
    assert year["poor_households"] == {
        "served": 3, "last_year": 2, "growth_pct": 50.0, "growth_reason": None
    }  # fmt: skip
    assert kpis["since_start"]["figures"]["poverty_payout_fen"] == 18000 + 36500
    # 西村's station B001 served T-0001 and T-0003 and paid them 27000 + 9500
    assert year["poor_villages"]["households_served"] == 2
    assert year["poor_villages"]["villages"] == [
        {"id": str(world.poor_village_id), "name": "西村", "township": "测试县镇", "stations": 1,
         "households_served": 2, "poverty_payout_fen": 36500, "poverty_amount_fen": 40000},
    ]  # fmt: skip
    judged = {t["name"]: t for t in kpis["targets"]}
    assert judged["poverty_payout_fen"]["actual"] == 36500
    assert judged["poverty_payout_fen"]["met"] is False  # 40000 asked
    assert judged["poverty_payout_growth_pct"] == {
        "name": "poverty_payout_growth_pct", "target": 20, "actual": 102.8, "met": True,
        "reason": None,
    }  # fmt: skip

    page = await client.get(
        f"/county/coverage?month={MONTH}&lang=zh-CN", headers=html_as(world.staff)
    )
    assert page.status_code == 200, page.text
    assert _page_row(page.text, "data-figure", "poor_households") == ["3 户", "0 户", "—"]
    assert _page_row(page.text, "data-figure", "poverty_payout") == ["95.00 元", "0.00 元", "—"]
    assert _page_row(page.text, "data-figure", "poverty_amount") == ["140.00 元", "0.00 元", "—"]
    assert "惠及脱贫户（户）" in page.text and "脱贫户代销所得（销售额减佣金）" in page.text
    assert _page_row(page.text, "data-village", "西村") == [
        "测试县镇", "西村", "1 个", "2 户", "365.00 元", "400.00 元"
    ]  # fmt: skip
    # In Uyghur the same figures, the numbers isolated as everywhere.
    ug = await client.get(f"/county/coverage?month={MONTH}&lang=ug", headers=html_as(world.staff))
    assert ug.status_code == 200 and "نامرات كەنتلەر" in ug.text

    # The township (both stations are in it) counts the same, on its API and its page.
    overview = await client.get(
        f"/api/v1/townships/{world.township_id}/overview?month={MONTH}",
        headers=world.staff.headers,
    )
    assert overview.status_code == 200, overview.text
    o = overview.json()
    assert (o["month_households"], o["year_households"]) == (3, 3)
    assert _split(o["year_figures"]) == (44000, 40000, 4000, 36500)
    township = await client.get(
        f"/county/township?township_id={world.township_id}&month={MONTH}&lang=zh-CN",
        headers=html_as(world.staff),
    )
    assert township.status_code == 200, township.text
    assert _page_row(township.text, "data-figure", "poor_households") == ["3 户", "3 户"]
    assert _page_row(township.text, "data-figure", "poverty_payout_fen") == [
        "95.00 元", "365.00 元"
    ]  # fmt: skip
    assert _page_row(township.text, "data-figure", "poverty_amount_fen") == [
        "140.00 元", "440.00 元"
    ]  # fmt: skip

    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={MONTH}",
        headers=world.staff.headers,
    )
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content))["汇总"]
    rows = {row[0].value: [cell.value for cell in row[1:8]] for row in sheet.iter_rows(min_row=2)}
    # since the programme's start (1 January of Y−1): T-0001, T-0003, T-0004
    assert rows["惠及脱贫户（户）"] == [3, 0, None, 3, 2, 50.0, 3]
    yuan = Decimal
    assert rows["脱贫户代销所得（销售额减佣金）（元）"] == [
        yuan("95.00"), yuan("0.00"), None, yuan("365.00"), yuan("180.00"), 102.8, yuan("545.00")
    ]  # fmt: skip
    assert rows["惠及脱贫户交易额（代销与代购）（元）"][:5] == [
        yuan("140.00"), yuan("0.00"), None, yuan("440.00"), yuan("250.00")
    ]  # fmt: skip
    assert rows["其中脱贫户代销（元）"][3] == yuan("400.00")
    assert rows["其中脱贫户代购（元）"][3:5] == [yuan("40.00"), yuan("50.00")]


async def test_a_rebuild_and_a_closed_month_keep_the_payout(client, world):
    t3 = await _county(client, world)
    before = await _kpis(client, world)
    await rollups.rebuild()  # the whole county again, from the log
    assert await _kpis(client, world) == before
    closed = await client.post(
        f"/api/v1/counties/{world.county_id}/months/{MONTH}/close", headers=world.staff.headers
    )
    assert closed.status_code == 200, closed.text
    # T-0003 is no longer a 脱贫户: June, closed, keeps its 9500 paid out through a rebuild;
    # the households served are the registry's today (not kept): T-0001 and T-0004.
    unpoor = await client.patch(
        f"/api/v1/households/{t3}", json={"poverty": False}, headers=world.staff.headers
    )
    assert unpoor.status_code == 200, unpoor.text
    await rollups.refresh()
    await rollups.rebuild()
    kpis = await _kpis(client, world)
    assert _split(kpis["figures"]) == (14000, 10000, 4000, 9500)
    assert kpis["poor_households"]["served"] == 2
    # March is open: T-0001's 27000 stays; the year before's purchase for T-0003 leaves.
    assert _split(kpis["year_to_date"]["figures"]) == (44000, 40000, 4000, 36500)
    assert _split(kpis["year_to_date"]["last_year"]) == (20000, 20000, 0, 18000)


async def test_this_months_page_compares_households_on_the_same_days_a_year_before(client, world):
    """This month so far: the coverage page compares with the same days a year before (as its
    amounts do); the kpis' month, with all of that month a year before (as their figures do)."""
    today = datetime.datetime.now(SHANGHAI).date()
    if (today.month, today.day) == (2, 29):
        pytest.skip("29 February: no same day a year before")
    a_year_before = today.replace(year=today.year - 1)
    later = a_year_before + datetime.timedelta(days=1)
    if later.month != a_year_before.month:
        pytest.skip("the last day of a month: no later day of it a year before")
    sales = [
        _sale(1000, 100, _at(today.year, today.month, today.day), "T-0001"),
        _sale(2000, 200, _at(later.year, later.month, later.day), "T-0001"),  # after those days
    ]
    assert {r["status"] for r in await push(client, world.keeper_b, sales)} == {"accepted"}
    page = await client.get("/county/coverage?lang=zh-CN", headers=html_as(world.staff))
    assert _page_row(page.text, "data-figure", "poor_households") == ["1 户", "0 户", "—"]
    assert _page_row(page.text, "data-figure", "poverty_payout") == ["9.00 元", "0.00 元", "—"]
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={today:%Y-%m}",
        headers=world.staff.headers,
    )
    kpis = answer.json()
    assert kpis["poor_households"]["last_year"] == 1
    assert kpis["last_year"]["poverty_payout_fen"] == 1800
