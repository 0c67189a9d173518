"""The monthly workbook and CSV: sheets, Chinese headers, yuan formats, frozen headers, growth
against last year, and no villager's phone or name anywhere in any cell."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal
from urllib.parse import unquote

from openpyxl import load_workbook

from backend.county import rollups
from tests.support import event, push, tracking

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
VILLAGER = "王小明"


def _now() -> datetime.datetime:
    return datetime.datetime.now(SHANGHAI)


def _sale(amount: int, when: datetime.datetime, household: str | None = None) -> dict:
    data = {
        "product": "核桃",
        "quantity": 3,
        "unit": "kg",
        "amount_fen": amount,
        "commission_fen": 300,
        "channel": "微信 13912345678",
    }
    if household:
        data["household_code"] = household
    return event("sale.recorded", data, when.isoformat(timespec="seconds"))


def _first_of_month(moment: datetime.datetime) -> str:
    return moment.replace(day=1, hour=10, minute=0).isoformat(timespec="seconds")


async def _month_of_activity(client, world) -> str:
    now = _now()
    last_year = now.replace(year=now.year - 1)
    await push(
        client,
        world.keeper_a,
        [
            # The ledger began on the first of last year's month: all of it is there to compare.
            event("checkin.recorded", {"note": "开门"}, _first_of_month(last_year)),
            _sale(123456, now, world.household_code),
            _sale(100000, last_year),
            event(
                "parcel.received",
                {
                    "tracking_no": tracking(),
                    "carrier": "SF",
                    "recipient_phone": "13812345678",
                    "recipient_name": VILLAGER,
                },
            ),
            event(
                "purchase.ordered",
                {
                    "platform": "pinduoduo",
                    "item": "化肥",
                    "amount_fen": 8800,
                    "commission_fen": 200,
                    "customer_phone": "13787654321",
                },
            ),
            event(
                "service.recorded",
                {
                    "service": "electricity",
                    "amount_fen": 10000,
                    "fee_fen": 0,
                    "account": "6222021234567890123",
                },
            ),
            event(
                "parcel.dispatched",
                {
                    "tracking_no": tracking(),
                    "carrier": "SF",
                    "weight_g": 1200,
                    "fee_fen": 1000,
                    "destination": "上海 收件人13612345678",
                    "farm_product": True,
                },
            ),
            event("checkin.recorded", {}),
        ],
    )
    await push(client, world.keeper_b, [_sale(5000, now)])
    await rollups.refresh()
    return now.strftime("%Y-%m")


async def test_monthly_workbook(client, world):
    month = await _month_of_activity(client, world)
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("UTF-8''")[1]) == f"测试县-{month}-电商服务站台帐.xlsx"

    book = load_workbook(io.BytesIO(response.content))
    for name in ("汇总", "代收", "代发", "代购", "代销", "电费", "滞留", "冲正", "打卡"):
        assert name in book.sheetnames
    assert book.sheetnames[-5:] == ["物流补贴", "补贴明细", "培训台帐", "溯源", "近12个月"]

    summary = book["汇总"]
    assert summary["A2"].value == "指标" and summary["D2"].value == "同比增长（%）"
    assert summary.freeze_panes == "A3"
    rows = {row[0].value: row for row in summary.iter_rows(min_row=3) if row[0].value}
    farm = rows["农产品网络零售额（元）"]
    assert farm[1].value == Decimal("1284.56") or farm[1].value == 1284.56
    assert farm[1].number_format == "#,##0.00"
    assert float(farm[2].value) == 1000.00
    assert farm[3].value == 28.5  # (1284.56 - 1000) / 1000
    assert rows["代收快递（件）"][1].value == 1
    # A township is covered by a 乡级服务站: the world has only 村级服务点.
    assert rows["乡镇"][3].value == 0.0 and rows["乡镇"][5].value == "否"
    assert rows["行政村"][3].value == 100.0
    assert rows["贫困村"][5].value == "是"
    assert [c.value for c in rows["贫困乡镇"][:6]] == ["贫困乡镇", 0, 0, 0, 100, "否"]

    sales = book["代销"]
    assert [c.value for c in sales[1]][:7] == [
        "乡镇",
        "站点编号",
        "站点名称",
        "贫困村",  # A001 is in 东村, B001 in 西村 (a 贫困村)
        "笔数",
        "金额（元）",
        "手续费/佣金（元）",
    ]
    assert sales.freeze_panes == "A2"
    by_code = {row[1].value: row for row in sales.iter_rows(min_row=2)}
    assert (by_code["A001"][3].value, by_code["B001"][3].value) == ("否", "是")
    assert by_code["A001"][4].value == 1
    assert float(by_code["A001"][5].value) == 1234.56
    assert by_code["A001"][5].number_format == "#,##0.00"
    assert by_code["A001"][8].value == 1  # for a 脱贫户 household
    assert float(by_code["B001"][5].value) == 50.00
    assert sales.cell(row=sales.max_row, column=1).value == "合计"
    assert sales.column_dimensions["C"].width >= 10

    checkins = book["打卡"]
    header = [c.value for c in checkins[1]]
    assert header[:4] == ["乡镇", "站点编号", "站点名称", "贫困村"] and header[-1] == "打卡周数"
    marks = {row[1].value: [c.value for c in row[4:-1]] for row in checkins.iter_rows(min_row=2)}
    assert marks["A001"][-1] == "✓" and marks["B001"][-1] == "✗"

    subsidy = book["物流补贴"]
    assert "每件 1.00 元" in subsidy["A1"].value
    claims = {row[1].value: row for row in subsidy.iter_rows(min_row=3)}
    assert float(claims["A001"][8].value) == 1.00  # 应付金额（元）

    _assert_nothing_personal(
        cell.value for sheet in book for row in sheet.iter_rows() for cell in row
    )


def _assert_nothing_personal(values) -> None:
    for value in values:
        text = "" if value is None else str(value)
        assert not PHONE.search(text), f"unmasked phone in {text!r}"
        assert VILLAGER not in text
        assert "6222021234567890123" not in text


async def test_csv_tables_open_in_excel(client, world):
    month = await _month_of_activity(client, world)
    base = f"/api/v1/counties/{world.county_id}/export.csv?month={month}"
    for table in ("summary", "sale_recorded", "checkins", "subsidies", "subsidy_parcels"):
        response = await client.get(f"{base}&table={table}", headers=world.staff.headers)
        assert response.status_code == 200, response.text
        assert response.content.startswith("\ufeff".encode())
        assert "filename*=UTF-8''" in response.headers["content-disposition"]
        text = response.content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        _assert_nothing_personal(value for row in rows for value in row)
        if table == "sale_recorded":
            assert rows[0][:6] == ["乡镇", "站点编号", "站点名称", "贫困村", "笔数", "金额（元）"]
            a001 = next(row for row in rows if row[1] == "A001")
            assert a001[3] == "否" and a001[5] == "1234.56"
    unknown = await client.get(f"{base}&table=passwords", headers=world.staff.headers)
    assert unknown.status_code == 400 and unknown.json()["code"] == "county_unknown_table"


async def test_bad_month_is_a_localized_problem_and_nothing_leaks_across_counties(client, world):
    for month in ("2026-13", "2026/11", "", "november"):
        response = await client.get(
            f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
            headers={**world.staff.headers, "accept-language": "zh-CN"},
        )
        assert response.status_code == 400
        assert response.json()["code"] == "county_invalid_month"
        assert "2026-11" in response.json()["detail"]
    foreign = await client.get(
        f"/api/v1/counties/{world.foreign_county_id}/export.xlsx?month=2026-11",
        headers=world.staff.headers,
    )
    assert foreign.status_code == 403


async def test_kpis_compare_with_the_same_month_last_year(client, world):
    month = await _month_of_activity(client, world)
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["figures"]["farm_retail_fen"] == 128456
    assert body["last_year"]["farm_retail_fen"] == 100000
    assert body["growth_pct"]["farm_retail_fen"] == 28.5
    assert body["figures"]["retail_fen"] == 128456 + 8800
    assert body["growth_pct"]["parcels_in"] is None  # nothing to compare with


def _jd_dispatch(tracking_no: str, destination: str) -> dict:
    data = {
        "tracking_no": tracking_no,
        "carrier": "JD",
        "weight_g": 800,
        "fee_fen": 900,
        "destination": destination,
        "farm_product": True,
    }
    return event("parcel.dispatched", data)


async def test_subsidy_sheets_keep_waybills_whole_mask_phones_total_the_claim_and_write_days(
    client, world
):
    """A JD waybill holds 11 digits that look like a phone: it is the courier's number and stays
    whole; the villager's phone typed into the destination is masked; the total row carries the
    申报金额 total; the day is a date cell, not a date and time."""
    waybills = ["JDVA13912347777", "JDVA13912348888"]
    await push(
        client,
        world.keeper_a,
        [
            _jd_dispatch(waybills[0], "北京 收件人13612345678"),
            _jd_dispatch(waybills[1], "上海"),
        ],
    )
    await push(client, world.keeper_b, [_jd_dispatch("JDVB13700001111", "广州")])
    today = _now().date()
    month = f"{today:%Y-%m}"

    api = await client.get(
        f"/api/v1/counties/{world.county_id}/subsidies?month={month}", headers=world.staff.headers
    )
    parcels = {p["tracking_no"]: p for s in api.json()["stations"] for p in s["parcels"]}
    assert set(parcels) == {*waybills, "JDVB13700001111"}
    assert parcels[waybills[0]]["destination"] == "北京 收件人136****5678"
    assert api.json()["totals"]["claimed_fen"] == 300  # 3 parcels × 1.00 元

    response = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    book = load_workbook(io.BytesIO(response.content))
    detail = book["补贴明细"]
    assert [c.value for c in detail[1]][2:5] == ["日期", "快递公司", "运单号"]
    rows = list(detail.iter_rows(min_row=2))
    assert sorted(row[4].value for row in rows) == sorted([*waybills, "JDVB13700001111"])
    for row in rows:
        day = row[2]
        assert day.is_date and day.number_format == "yyyy-mm-dd"
        assert day.value == datetime.datetime.combine(today, datetime.time())
    claims = book["物流补贴"]
    header = [c.value for c in claims[2]]
    total = [c.value for c in claims[claims.max_row]]
    assert total[0] == "合计"
    assert float(total[header.index("申报金额（元）")]) == 3.00
    assert float(total[header.index("应付金额（元）")]) == 3.00
    assert claims.cell(row=claims.max_row, column=8).number_format == "#,##0.00"

    base = f"/api/v1/counties/{world.county_id}/export.csv?month={month}"
    text = (await client.get(f"{base}&table=subsidy_parcels", headers=world.staff.headers)).text
    csv_rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert sorted(row[4] for row in csv_rows[1:]) == sorted([*waybills, "JDVB13700001111"])
    assert {row[2] for row in csv_rows[1:]} == {today.isoformat()}
    text = (await client.get(f"{base}&table=subsidies", headers=world.staff.headers)).text
    csv_total = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[-1]
    assert csv_total[0] == "合计" and csv_total[7] == "3.00" and csv_total[8] == "3.00"


async def test_the_training_and_trace_sheets(client, world):
    """培训台帐: the month's sessions with their 人次 (another month's session is not in it); 溯源:
    the county's batches with their scans, the origin by village and never the household."""
    today = datetime.datetime.now(SHANGHAI).date()
    month, last_month = today.strftime("%Y-%m"), (today.replace(day=1) - datetime.timedelta(1))
    for held_on, trainees in (
        (today, [{"name": "甲", "household_code": world.household_code}, {"name": "乙"}]),
        (last_month, [{"name": "丙"}]),
    ):
        made = await client.post(
            f"/api/v1/counties/{world.county_id}/trainings",
            json={"title": f"培训{held_on:%m%d}", "held_on": held_on.isoformat(),
                  "kind": "livestream", "trainer": "县电商中心", "hours": 2.5,
                  "trainees": trainees},
            headers=world.staff.headers,
        )  # fmt: skip
        assert made.status_code == 201, made.text
    batch = await client.post(
        f"/api/v1/counties/{world.county_id}/trace-batches",
        json={"product": "核桃", "household_code": world.household_code, "quantity": 12.5,
              "unit": "kg", "inspection": "passed"},
        headers=world.staff.headers,
    )  # fmt: skip
    assert batch.status_code == 201, batch.text
    page = "/" + batch.json()["url"].split("/", 3)[3]
    for _ in range(2):
        phone = {"user-agent": "Mozilla/5.0 (Linux; Android 12) Mobile", "cookie": ""}
        await client.get(page, headers=phone)  # two phones: no earlier visit's cookie
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    book = load_workbook(io.BytesIO(response.content))
    training = [[cell.value for cell in row] for row in book["培训台帐"].iter_rows(min_row=2)]
    training = training[: training.index([None] * len(training[0]))]  # the month's sessions
    assert len(training) == 1
    held, title, kind, _, _, trainer, hours, visits, poor = training[0]
    assert held.date() == today and book["培训台帐"]["A2"].number_format == "yyyy-mm-dd"
    assert title == f"培训{today:%m%d}"
    assert (kind, trainer, hours, visits, poor) == ("直播带货", "县电商中心", 2.5, 2, 1)
    trace = [[cell.value for cell in row] for row in book["溯源"].iter_rows(min_row=2)]
    assert len(trace) == 2 and trace[1][0] == "合计"
    code, product, village, _, _, quantity, unit, inspection, *scans = trace[0]
    assert (code, product, quantity, unit) == (batch.json()["code"], "核桃", 12.5, "公斤")
    assert scans == [2, 2, 2]  # this month, this year, through the month: both visits today
    assert trace[1][8:] == [2, 2, 2]
    assert village and inspection == "合格"
    every_cell = " ".join(str(c) for row in trace + training for c in row)
    assert world.household_code not in every_cell
    csv = await client.get(
        f"/api/v1/counties/{world.county_id}/export.csv?month={month}&table=training",
        headers=world.staff.headers,
    )
    assert csv.status_code == 200 and "直播带货" in csv.content.decode("utf-8-sig")
