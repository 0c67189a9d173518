"""One read model: right after a sync, with no job run, the dashboard, the kpis API and the
monthly workbook show the same figures for the month — the entries just synced included."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

from openpyxl import load_workbook

from backend.county import rollups
from tests.support import event, push, received

HTML = {"accept": "text/html,application/xhtml+xml"}
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _sale(amount_fen: int) -> dict:
    data = {
        "product": "核桃",
        "quantity": 2,
        "unit": "斤",
        "amount_fen": amount_fen,
        "commission_fen": 100,
        "channel": "微信",
    }
    return event("sale.recorded", data)


def _purchase(amount_fen: int) -> dict:
    data = {"platform": "taobao", "item": "电饭锅", "amount_fen": amount_fen, "commission_fen": 50}
    return event("purchase.ordered", data)


def _fen(text: str) -> int:
    """ "1,234.56 元" → 123456."""
    number = re.search(r"-?[\d,]+\.\d\d", text)[0].replace(",", "")
    return int(Decimal(number) * 100)


async def _dashboard(client, staff) -> dict[str, int]:
    page = await client.get("/county/?lang=zh-CN", headers={**HTML, **staff.headers})
    assert page.status_code == 200
    text = page.text

    def cell(figure: str) -> str:
        return re.search(rf'data-figure="{figure}">([^<]+)<', text)[1]

    row = text.split('data-kind="parcel_received">')[1].split("</tr>")[0]
    month_count = re.findall(r'<td class="num">([^<]+)</td>', row)[3]
    return {
        "retail_fen": _fen(cell("month_retail")),
        "farm_retail_fen": _fen(cell("month_farm")),
        "parcels_in": int(re.search(r"[\d,]+", month_count)[0].replace(",", "")),
    }


async def _kpis(client, world, month: str) -> dict[str, int]:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    figures = answer.json()["figures"]
    return {key: figures[key] for key in ("retail_fen", "farm_retail_fen", "parcels_in")}


async def _workbook(client, world, month: str) -> dict[str, int]:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    summary = load_workbook(io.BytesIO(answer.content))["汇总"]
    rows = {row[0].value: row[1].value for row in summary.iter_rows(min_row=3) if row[0].value}
    return {
        "retail_fen": int(Decimal(str(rows["网络零售额（元）"])) * 100),
        "farm_retail_fen": int(Decimal(str(rows["农产品网络零售额（元）"])) * 100),
        "parcels_in": int(rows["代收快递（件）"]),
    }


async def test_pages_api_and_workbook_agree_right_after_a_sync(client, world):
    month = datetime.datetime.now(SHANGHAI).strftime("%Y-%m")
    await push(client, world.keeper_a, [_sale(10000), _purchase(5000), received()])
    await rollups.refresh()  # the job has run once: the rollups hold the first entries

    # A sync after the job, and no job since: every reader must still see it.
    await push(client, world.keeper_a, [_sale(2345), received()])
    await push(client, world.keeper_b, [_purchase(700), received(phone="13887654321")])

    expected = {"retail_fen": 10000 + 5000 + 2345 + 700, "farm_retail_fen": 12345, "parcels_in": 3}
    assert await _dashboard(client, world.staff) == expected
    assert await _kpis(client, world, month) == expected
    assert await _workbook(client, world, month) == expected


async def test_a_county_never_rolled_up_reads_the_same_everywhere(client, world):
    month = datetime.datetime.now(SHANGHAI).strftime("%Y-%m")
    await push(client, world.keeper_b, [_sale(4200), received()])
    expected = {"retail_fen": 4200, "farm_retail_fen": 4200, "parcels_in": 1}
    assert await _kpis(client, world, month) == expected
    assert await _workbook(client, world, month) == expected
    assert await _dashboard(client, world.staff) == expected


async def test_a_changed_rule_waits_for_the_job_and_every_reader_waits_alike(client, world):
    """A new return rule means rebuilding the county's whole history: that is the rollup job's
    work, not a page request's. Until it runs, the pages and the API show the same figures."""
    from backend.registry.tables import County

    month = datetime.datetime.now(SHANGHAI).strftime("%Y-%m")
    await push(client, world.keeper_a, [_sale(1000)])
    await rollups.refresh()
    await County.update({County.parcel_return_days: 5}).where(County.id == world.county_id)
    await push(client, world.keeper_a, [_sale(500)])

    assert await rollups.catch_up(world.county_id) == 0  # nothing recomputed on a read
    before = {"retail_fen": 1000, "farm_retail_fen": 1000, "parcels_in": 0}
    assert await _kpis(client, world, month) == before
    assert await _dashboard(client, world.staff) == before

    await rollups.refresh()  # the job: the county rebuilt under the new rule
    after = {"retail_fen": 1500, "farm_retail_fen": 1500, "parcels_in": 0}
    assert await _kpis(client, world, month) == after
    assert await _dashboard(client, world.staff) == after
