"""近12个月: the month asked and the eleven before it, each month's figures from the rollups — the
kpis' `months`, the page /county/trends (zh-CN, ug right-to-left, en) and the workbook's sheet
近12个月 give the same hand-computed figures. The month asked is June of last year (Y): the
twelve are July of Y−1 to June of Y."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

from openpyxl import load_workbook

from tests.support import event, push, tracking
from tests.test_county_pages import html_as

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
Y = datetime.datetime.now(SHANGHAI).year - 1
MONTH = f"{Y}-06"
MONTHS = [f"{Y - 1}-{m:02d}" for m in range(7, 13)] + [f"{Y}-{m:02d}" for m in range(1, 7)]
KEYS = ("retail_fen", "upward_sales_fen", "downward_sales_fen", "income_fen", "parcels_in",
        "parcels_out", "poverty_payout_fen")  # fmt: skip
TAGS = re.compile(r"<[^>]+>")


def _at(year: int, month: int, day: int) -> str:
    return datetime.datetime(year, month, day, 10, tzinfo=SHANGHAI).isoformat()


def _sale(amount: int, commission: int, when: str, household: str | None = None) -> dict:
    data = {"product": "核桃", "quantity": 1, "unit": "kg", "amount_fen": amount,
            "commission_fen": commission, "channel": "微信"}  # fmt: skip
    if household:
        data["household_code"] = household
    return event("sale.recorded", data, when)


async def _county(client, world) -> None:
    a = [
        _sale(20000, 0, _at(Y - 1, 5, 1)),  # before the twelve months
        _sale(7000, 0, _at(Y - 1, 7, 15)),  # the first of them
        event("parcel.dispatched", {"tracking_no": tracking(), "carrier": "SF", "weight_g": 500,
              "fee_fen": 800, "destination": "广州", "farm_product": True}, _at(Y, 2, 1)),
        _sale(30000, 1000, _at(Y, 3, 10)),
        event("parcel.received", {"tracking_no": tracking(), "carrier": "SF",
              "recipient_phone": "13812345678"}, _at(Y, 6, 3)),
        event("purchase.ordered", {"platform": "taobao", "item": "化肥", "amount_fen": 5000,
              "commission_fen": 200}, _at(Y, 6, 6)),
        _sale(99999, 0, _at(Y, 7, 1)),  # after the month asked
    ]  # fmt: skip
    assert {r["status"] for r in await push(client, world.keeper_a, a)} == {"accepted"}
    b = [_sale(10000, 1000, _at(Y, 6, 5), world.household_code)]  # a 脱贫户 paid 9000
    assert {r["status"] for r in await push(client, world.keeper_b, b)} == {"accepted"}


# month → the figures in KEYS order (fen, parcels); months not listed are all 0
EXPECTED = {
    f"{Y - 1}-07": (7000, 7000, 0, 0, 0, 0, 0),
    f"{Y}-02": (0, 0, 0, 0, 0, 1, 0),  # the postage 800 is not income
    f"{Y}-03": (30000, 30000, 0, 1000, 0, 0, 0),
    f"{Y}-06": (15000, 10000, 5000, 1200, 1, 0, 9000),
}


def _expected(month: str) -> tuple:
    return EXPECTED.get(month, (0,) * len(KEYS))


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


async def test_twelve_months_agree_on_api_page_and_workbook(client, world):
    await _county(client, world)
    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={MONTH}", headers=world.staff.headers
    )
    assert kpis.status_code == 200, kpis.text
    months = kpis.json()["months"]
    assert [m["month"] for m in months] == MONTHS
    for month in months:
        assert tuple(month["figures"][key] for key in KEYS) == _expected(month["month"]), month
    # The month's own figures are the last of the twelve.
    assert kpis.json()["figures"]["retail_fen"] == months[-1]["figures"]["retail_fen"]

    page = await client.get(
        f"/county/trends?month={MONTH}&lang=zh-CN", headers=html_as(world.staff)
    )
    assert page.status_code == 200, page.text
    assert 'href="/county/trends"' in page.text and "近12个月" in page.text
    assert "<svg" in page.text  # the bars, drawn without a script
    shown = re.findall(r'<tr data-month="([0-9-]+)">(.*?)</tr>', page.text, re.S)
    assert [month for month, _ in shown] == MONTHS
    for month, body in shown:
        cells = [TAGS.sub("", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        want = [
            _yuan(value) if key.endswith("_fen") else f"{value:,}"
            for key, value in zip(KEYS, _expected(month), strict=True)
        ]
        assert cells == want, month

    ug = await client.get(f"/county/trends?month={MONTH}&lang=ug", headers=html_as(world.staff))
    assert ug.status_code == 200
    assert 'dir="rtl"' in ug.text and "يېقىنقى 12 ئاي" in ug.text
    june = ug.text.split(f'<tr data-month="{MONTH}">')[1].split("</tr>")[0]
    assert '<bdi dir="ltr">150.00</bdi>' in june  # numbers isolated left-to-right
    en = await client.get(f"/county/trends?month={MONTH}&lang=en", headers=html_as(world.staff))
    assert en.status_code == 200 and "12 months" in en.text

    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={MONTH}",
        headers=world.staff.headers,
    )
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content))["近12个月"]
    lines = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert lines[0][0] == "月份" and lines[0][7] == "脱贫户代销所得（元）"
    assert [line[0] for line in lines[1:]] == MONTHS
    for line in lines[1:]:
        want = [
            Decimal(value) / 100 if key.endswith("_fen") else value
            for key, value in zip(KEYS, _expected(line[0]), strict=True)
        ]
        assert line[1:] == want, line
