"""农产品上行 and 工业品下行 each with their own figure, and the station's income without the 代发
postage it passes on to the courier: kpis, the dashboard, the stations list, the coverage page and
the workbook agree to the fen."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

from openpyxl import load_workbook

from tests.support import event, push, tracking

HTML = {"accept": "text/html,application/xhtml+xml"}
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _fen(text: str) -> int:
    number = re.search(r"-?[\d,]+\.\d\d", text)[0].replace(",", "")
    return int(Decimal(number) * 100)


async def _month(client, world) -> str:
    sale = {"product": "核桃", "quantity": 2, "unit": "kg", "amount_fen": 10000,
            "commission_fen": 300, "channel": "微信"}  # fmt: skip
    purchase = {"platform": "taobao", "item": "化肥", "amount_fen": 8800, "commission_fen": 200}
    dispatch = {"tracking_no": tracking(), "carrier": "SF", "weight_g": 1500, "fee_fen": 1200,
                "destination": "广州", "farm_product": True}  # fmt: skip
    service = {"service": "phone_topup", "amount_fen": 5000, "fee_fen": 100, "account": "1"}
    results = await push(
        client,
        world.keeper_a,
        [
            event("sale.recorded", sale),
            event("purchase.ordered", purchase),
            event("parcel.dispatched", dispatch),
            event("service.recorded", service),
        ],
    )
    assert {r["status"] for r in results} == {"accepted"}, results
    return datetime.datetime.now(SHANGHAI).strftime("%Y-%m")


EXPECTED = {
    "upward_sales_fen": 10000,  # 代销
    "downward_sales_fen": 8800,  # 代购
    "retail_fen": 18800,  # kept: 网络零售额, both
    "farm_retail_fen": 10000,  # kept
    "income_fen": 300 + 200 + 100,  # commissions and the service fee, not the postage
    "postage_fen": 1200,
}


async def test_upward_downward_income_and_postage_agree_everywhere(client, world):
    month = await _month(client, world)
    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    figures = kpis.json()["figures"]
    assert {key: figures[key] for key in EXPECTED} == EXPECTED
    assert kpis.json()["year_to_date"]["figures"]["postage_fen"] == 1200

    page = (await client.get("/county/?lang=zh-CN", headers={**HTML, **world.staff.headers})).text

    def cell(name: str) -> int:
        return _fen(re.search(rf'data-figure="{name}">([^<]+)<', page)[1])

    assert cell("month_upward") == 10000 and cell("month_downward") == 8800
    assert cell("month_retail") == 18800
    assert cell("month_income") == 600 and cell("month_postage") == 1200
    assert "农产品上行" in page and "工业品下行" in page
    # The per-kind table's fee column is the station's income: the 代发 row has none.
    dispatched = page.split('data-kind="parcel_dispatched">')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">([^<]+)</td>', dispatched)[5] == "—"
    sales = page.split('data-kind="sale_recorded">')[1].split("</tr>")[0]
    assert _fen(re.findall(r'<td class="num">([^<]+)</td>', sales)[5]) == 300

    stations = (
        await client.get(f"/county/stations?month={month}", headers={**HTML, **world.staff.headers})
    ).text
    income = re.search(r'data-figure="income_total">([^<]+)<', stations)[1]
    assert _fen(income) == 600

    coverage = (
        await client.get(f"/county/coverage?month={month}", headers={**HTML, **world.staff.headers})
    ).text
    for name, fen in (("upward", 10000), ("downward", 8800), ("income", 600), ("postage", 1200)):
        row = coverage.split(f'data-figure="{name}">')[1].split("</tr>")[0]
        assert _fen(re.search(r'class="num now">([^<]+)<', row)[1]) == fen

    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    workbook = load_workbook(io.BytesIO(book.content))
    summary = workbook["汇总"]
    rows = {row[0].value: row[1].value for row in summary.iter_rows(min_row=3) if row[0].value}
    assert Decimal(str(rows["农产品上行（代销）（元）"])) == Decimal("100.00")
    assert Decimal(str(rows["工业品下行（代购）（元）"])) == Decimal("88.00")
    assert Decimal(str(rows["网络零售额（元）"])) == Decimal("188.00")
    assert Decimal(str(rows["站点收入（手续费与佣金，不含代发邮费）（元）"])) == Decimal("6.00")
    assert Decimal(str(rows["代发邮费（转付快递公司）（元）"])) == Decimal("12.00")
    dispatched = workbook["代发"]
    assert "代发邮费（元）" in [c.value for c in dispatched[1]]
