"""Poor-village figures (贫困村, docs/programme.md rows 19/20): 网络零售额 and 农产品上行 of the
stations whose village is a 贫困村, year to date against the same days a year before, judged
against the county's targets; the kpis API, the scorecard page, its CSV and the workbook give the
same figures, and the workbook's station sheets say which station is in a 贫困村. Every figure is
computed here by hand on the test county: A001 in 东村 (not poor), B001 in 西村 (a 贫困村)."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal

from openpyxl import load_workbook

from tests.support import event, push
from tests.test_county_pages import html_as
from tests.test_county_scorecard import _page_rows, _sheet_rows

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
Y = datetime.datetime.now(SHANGHAI).year - 1  # a finished year: its June is the month asked
MONTH = f"{Y}-06"
NO_BASE = "上年同期无数据，无法计算增长"


def _at(year: int, month: int, day: int) -> str:
    return datetime.datetime(year, month, day, 10, tzinfo=SHANGHAI).isoformat()


def _sale(amount: int, when: str, household: str | None = None) -> dict:
    data = {"product": "核桃", "quantity": 1, "unit": "kg", "amount_fen": amount,
            "commission_fen": 0, "channel": "微信"}  # fmt: skip
    if household:
        data["household_code"] = household  # sold for this household
    return event("sale.recorded", data, when)


def _purchase(amount: int, when: str) -> dict:
    data = {"platform": "taobao", "item": "化肥", "amount_fen": amount, "commission_fen": 0}
    return event("purchase.ordered", data, when)


async def _sales_in_two_years(client, world) -> None:
    """B001 (西村) sells for T-0001 (a 脱贫户) 20000 the year before and 30000 this year;
    A001 (东村) sells for it too, outside any 贫困村."""
    poor_household = world.household_code
    mistake = _sale(1111, _at(Y, 2, 1), poor_household)  # reversed: counts nowhere
    poor = [
        # The ledger's first day: the year before's January–June are all in it.
        event("checkin.recorded", {"note": "开门"}, _at(Y - 1, 1, 1)),
        _sale(20000, _at(Y - 1, 3, 1), poor_household),  # the year before, in its January–June
        _purchase(5000, _at(Y - 1, 4, 1)),
        _sale(10000, _at(Y - 1, 8, 1)),  # the year before, after June: not compared
        mistake,
        _sale(30000, _at(Y, 3, 1), poor_household),
        _purchase(6000, _at(Y, 5, 1)),
        _sale(7777, _at(Y, 7, 1), poor_household),  # after the month asked
    ]
    assert {r["status"] for r in await push(client, world.keeper_b, poor)} == {"accepted"}
    reversal = event("entry.reversed", {"target_id": mistake["id"], "reason": "录错"})
    assert (await push(client, world.keeper_b, [reversal]))[0]["status"] == "accepted"
    other = [_sale(50000, _at(Y - 1, 3, 1)), _sale(40000, _at(Y, 3, 1), world.household_code)]
    assert {r["status"] for r in await push(client, world.keeper_a, other)} == {"accepted"}


async def _kpis(client, world) -> dict:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={MONTH}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _set_targets(client, world, targets: dict[str, float]) -> None:
    answer = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"targets": [{"name": name, "target": value} for name, value in targets.items()]},
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text


async def _scorecard_csv(client, world) -> list[list[str]]:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/export.csv?month={MONTH}&table=scorecard",
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


# name → (actual as the API gives it, target, met, the page's actual, the sheet's label)
EXPECTED = {
    # B001's 30000 + 6000 against 20000 + 5000 (its August sale and July's are outside, the
    # reversed 1111 nowhere; A001's sales are not a 贫困村's)
    "poor_village_retail_fen": (36000, 30000, True, "360.00 元", "贫困村网络零售额（元）"),
    "poor_village_sales_growth_pct": (44.0, 20, True, "44%", "贫困村网络零售额同比增长（%）"),
    "poor_village_upward_sales_fen": (30000, 40000, False, "300.00 元", "贫困村农产品上行（元）"),
    "poor_village_upward_growth_pct": (50.0, 60, False, "50%", "贫困村农产品上行同比增长（%）"),
    # What B001 sold for T-0001: 30000 against 20000 (A001's 40000 for it is not in a 贫困村)
    "poor_village_poverty_amount_fen": (
        30000,
        30000,
        True,
        "300.00 元",
        "贫困村服务站惠及脱贫户金额（元）",
    ),
    "poor_village_poverty_growth_pct": (
        50.0,
        20,
        True,
        "50%",
        "贫困村服务站惠及脱贫户金额同比增长（%）",
    ),
}


def _in_sheet(name: str, value):
    return Decimal(value) / 100 if name.endswith("_fen") else value


async def test_poor_village_sales_agree_on_the_api_page_csv_and_workbook(client, world):
    await _sales_in_two_years(client, world)
    await _set_targets(client, world, {name: line[1] for name, line in EXPECTED.items()})
    kpis = await _kpis(client, world)
    keys = ("retail_fen", "upward_sales_fen", "poverty_amount_fen")
    poor_villages = kpis["year_to_date"]["poor_villages"]
    assert poor_villages.pop("villages")[0]["households_served"] == 1  # T-0001
    assert poor_villages == {
        "stations": 1,
        "figures": dict(zip(keys, (36000, 30000, 30000), strict=True)),
        "last_year": dict(zip(keys, (25000, 20000, 20000), strict=True)),
        "growth_pct": dict(zip(keys, (44.0, 50.0, 50.0), strict=True)),
        "growth_reason": dict.fromkeys(keys),
        "households_served": 1,
    }
    # The county's own figures still count both stations: 36000 + 40000 against 25000 + 50000.
    assert kpis["year_to_date"]["figures"]["retail_fen"] == 76000
    assert kpis["year_to_date"]["last_year"]["retail_fen"] == 75000
    assert kpis["year_to_date"]["figures"]["poverty_amount_fen"] == 70000
    judged = {t["name"]: t for t in kpis["targets"]}

    page = await client.get(
        f"/county/scorecard?month={MONTH}&lang=zh-CN", headers=html_as(world.staff)
    )
    assert page.status_code == 200
    rows = _page_rows(page.text)
    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={MONTH}",
        headers=world.staff.headers,
    )
    assert book.status_code == 200
    _, sheet = _sheet_rows(book.content)
    lines = await _scorecard_csv(client, world)
    for name, (actual, target, met, page_actual, label) in EXPECTED.items():
        assert judged[name] == {"name": name, "target": target, "actual": actual, "met": met,
                                "reason": None}, name  # fmt: skip
        assert rows[name]["actual"] == page_actual, rows[name]
        assert rows[name]["met"] == ("yes" if met else "no"), rows[name]
        assert sheet[label][2:] == [
            _in_sheet(name, actual), _in_sheet(name, target), "是" if met else "否", None
        ], sheet[label]  # fmt: skip
        csv_line = next(line for line in lines if line[1] == label)
        assert csv_line[0] == "电商扶贫" and csv_line[4] == ("是" if met else "否")
        written = f"{_in_sheet(name, actual):.2f}" if name.endswith("_fen") else str(actual)
        assert csv_line[2] == written, csv_line
    # The rows sit in the 电商扶贫 group, after the 脱贫户 served and their payout.
    poverty = re.search(r'<tbody data-group="poverty">(.*?)</tbody>', page.text, re.S).group(1)
    assert re.findall(r'data-target="(\w+)"', poverty) == [
        "poor_households_served", "poverty_payout_fen", "poverty_payout_growth_pct", *EXPECTED
    ]  # fmt: skip


async def test_the_station_sheets_say_which_station_is_in_a_poor_village(client, world):
    await _sales_in_two_years(client, world)
    book = load_workbook(
        io.BytesIO(
            (
                await client.get(
                    f"/api/v1/counties/{world.county_id}/export.xlsx?month={Y}-03",
                    headers=world.staff.headers,
                )
            ).content
        )
    )
    for name in ("代销", "代购", "打卡"):
        sheet = book[name]
        assert [c.value for c in sheet[1]][:4] == ["乡镇", "站点编号", "站点名称", "贫困村"], name
        flags = {row[1].value: row[3].value for row in sheet.iter_rows(min_row=2)}
        assert (flags["A001"], flags["B001"]) == ("否", "是"), name
    sales = {row[1].value: row for row in book["代销"].iter_rows(min_row=2)}
    assert sales["B001"][4].value == 1 and sales["B001"][5].value == Decimal("300.00")
    assert sales["A001"][5].value == Decimal("400.00")
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/export.csv?month={Y}-03&table=sale_recorded",
        headers=world.staff.headers,
    )
    table = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert table[0][3] == "贫困村"
    assert {row[1]: row[3] for row in table[1:] if row[1]} == {"A001": "否", "B001": "是"}


async def test_the_registrys_flag_today_decides_and_no_base_is_no_growth(client, world):
    """西村 no longer a 贫困村: no station is in one, nothing to grow from; the growth is null
    with the reason everywhere, never 0 %, and its target is not met."""
    await _sales_in_two_years(client, world)
    await _set_targets(client, world, {"poor_village_sales_growth_pct": 20})
    flag = await client.patch(
        f"/api/v1/villages/{world.poor_village_id}",
        json={"poor": False},
        headers=world.staff.headers,
    )
    assert flag.status_code == 200, flag.text
    kpis = await _kpis(client, world)
    assert kpis["year_to_date"]["poor_villages"] == {
        "stations": 0,
        "figures": dict.fromkeys(("retail_fen", "upward_sales_fen", "poverty_amount_fen"), 0),
        "last_year": dict.fromkeys(("retail_fen", "upward_sales_fen", "poverty_amount_fen"), 0),
        "growth_pct": dict.fromkeys(("retail_fen", "upward_sales_fen", "poverty_amount_fen")),
        "growth_reason": dict.fromkeys(
            ("retail_fen", "upward_sales_fen", "poverty_amount_fen"), "no_base"
        ),
        "households_served": 0,
        "villages": [],
    }
    judged = {t["name"]: t for t in kpis["targets"]}
    assert judged["poor_village_sales_growth_pct"] == {
        "name": "poor_village_sales_growth_pct", "target": 20, "actual": None, "met": False,
        "reason": "no_base",
    }  # fmt: skip
    page = await client.get(
        f"/county/scorecard?month={MONTH}&lang=zh-CN", headers=html_as(world.staff)
    )
    rows = _page_rows(page.text)
    assert rows["poor_village_sales_growth_pct"]["actual"] == f"— {NO_BASE}"
    assert rows["poor_village_sales_growth_pct"]["met"] == "no"
    assert rows["poor_village_upward_growth_pct"]["actual"] == f"— {NO_BASE}"
    assert "0%" not in rows["poor_village_sales_growth_pct"]["actual"]
    coverage = await client.get(
        f"/county/coverage?month={MONTH}&lang=zh-CN", headers=html_as(world.staff)
    )
    judged_row = coverage.text.split('data-target="poor_village_sales_growth_pct">')[1]
    assert NO_BASE in judged_row.split("</tr>")[0] and "未达标" in judged_row.split("</tr>")[0]
    uyghur = await client.get(
        f"/county/scorecard?month={MONTH}&lang=ug", headers=html_as(world.staff)
    )
    assert "ئالدىنقى يىلنىڭ ئوخشاش مەزگىلىدە سانلىق مەلۇمات يوق" in uyghur.text
    english = await client.get(
        f"/county/scorecard?month={MONTH}&lang=en", headers=html_as(world.staff)
    )
    assert "nothing in the same period last year to compare with" in english.text
    _, sheet = _sheet_rows(
        (
            await client.get(
                f"/api/v1/counties/{world.county_id}/export.xlsx?month={MONTH}",
                headers=world.staff.headers,
            )
        ).content
    )
    assert sheet["贫困村网络零售额同比增长（%）"][2:] == [None, 20, "否", NO_BASE]
    line = next(
        r for r in await _scorecard_csv(client, world) if r[1].startswith("贫困村网络零售额同比")
    )
    assert line[2:] == ["", "20", "否", NO_BASE]
    # The 汇总 sheet's block of judged targets says why too.
    summary = load_workbook(
        io.BytesIO(
            (
                await client.get(
                    f"/api/v1/counties/{world.county_id}/export.xlsx?month={MONTH}",
                    headers=world.staff.headers,
                )
            ).content
        )
    )["汇总"]
    targets = {row[0].value: row for row in summary.iter_rows() if row[0].value}
    assert targets["贫困村网络零售额同比增长（%）"][1].value == 20
    assert targets["贫困村网络零售额同比增长（%）"][2].value == NO_BASE
