"""The training targets measured as the seeds word them, through the API, the scorecard page and
the workbook's 考核指标:

- 「培训人数中贫困人口占30%以上」 (seed 000 · 二(六)): the poor share is of the persons trained
  (人数), not of the 人次 — a 脱贫户 trained three times is one poor person, not three;
- 「力争创业就业转化率不低于2%」 (seed 002 · 五(三)): a trainee converted found work, opened an
  online shop or started a business (docs/api.md, `training_conversion_pct`); selling through
  the station or becoming the village's e-commerce leader is noted, and is no 创业就业.
"""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from tests.test_county_pages import html_as
from tests.test_county_scorecard import _put_targets
from tests.test_training_figures import note, record, year_of

Y = 2025


async def _judged(client, world) -> dict[str, tuple]:
    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={Y}-12", headers=world.staff.headers
    )
    assert kpis.status_code == 200, kpis.text
    return {t["name"]: (t["actual"], t["target"], t["met"]) for t in kpis.json()["targets"]}


def _page_row(html: str, name: str) -> tuple[str, str]:
    row = re.search(rf'<tr data-target="{name}" data-met="(\w+)">(.*?)</tr>', html, re.S)
    assert row, name
    actual = re.search(r'<td class="num actual">(.*?)</td>', row[2], re.S)
    assert actual
    return row[1], " ".join(re.sub(r"<[^>]+>", "", actual[1]).split())


async def _sheet_row(client, world, label: str) -> list:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={Y}-12",
        headers=world.staff.headers,
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["考核指标"]
    for row in sheet.iter_rows(min_row=3, values_only=True):
        if row[1] == label:
            return list(row)
    raise AssertionError(f"no row {label}")


async def test_the_poor_share_is_of_the_persons_trained_not_of_the_visits(client, world):
    """张三 (a 脱贫户) at three sessions, 李四 (not poor) at one: 4 人次, 3 of them poor (75 %);
    2 persons, 1 of them poor (50 %). The seed's 30 % is of the 培训人数."""
    poor, not_poor = world.household_code, world.non_poverty_household_code
    zhang = {"name": "张三", "household_code": poor}
    await record(
        client, world, f"{Y}-03-10", "ecommerce_basics",
        [zhang, {"name": "李四", "household_code": not_poor}],
    )  # fmt: skip
    await record(client, world, f"{Y}-04-10", "entrepreneurship", [zhang])
    await record(client, world, f"{Y}-05-10", "livestream", [zhang])
    figures = await year_of(client, world)
    totals = figures["totals"]
    assert (totals["trainee_visits"], totals["poor_trainee_visits"]) == (4, 3)
    assert (totals["people"], totals["poor_people"], totals["poor_people_share"]) == (2, 1, 0.5)
    assert totals["poor_share"] == 0.75  # the 人次 share stays, labelled as such

    await _put_targets(client, world, {"poor_training_share_pct": 60})
    assert (await _judged(client, world))["poor_training_share_pct"] == (50.0, 60, False)
    page = await client.get(
        f"/county/scorecard?month={Y}-12&lang=zh-CN", headers=html_as(world.staff)
    )
    assert _page_row(page.text, "poor_training_share_pct") == ("no", "50%")
    assert "脱贫户占培训人数比例" in page.text and "脱贫户培训人次占比" not in page.text
    sheet = await _sheet_row(client, world, "脱贫户占培训人数比例（%）")
    assert sheet[2:5] == [50, 60, "否"]

    shown = await client.get(f"/county/training?year={Y}&lang=zh-CN", headers=html_as(world.staff))
    totals_table = shown.text.split('data-table="training-totals"')[1].split("</table>")[0]
    assert re.search(r'data-total="poor_people"><th>[^<]*</th><td class="num">1 人<', totals_table)
    assert re.search(
        r'data-total="poor_people_share"><th>[^<]*</th><td class="num"><bdi dir="ltr">50%<',
        totals_table,
    )


async def test_the_conversion_rate_counts_work_shops_and_businesses_only(client, world):
    """Five trainees: one found work, one opened a shop, one sells through the station, one
    became the village's leader, one has no follow-up: 2 of 5 persons converted (40 %)."""
    await record(
        client, world, f"{Y}-03-10", "entrepreneurship",
        [{"name": name} for name in ("甲", "乙", "丙", "丁", "戊")],
    )  # fmt: skip
    await note(client, world, "甲", f"{Y}-03-10", "employed")
    await note(client, world, "乙", f"{Y}-03-10", "online_shop")
    await note(client, world, "丙", f"{Y}-03-10", "sells_at_station")
    await note(client, world, "丁", f"{Y}-03-10", "leader")
    totals = (await year_of(client, world))["totals"]
    assert (totals["people"], totals["people_converted"], totals["conversion_rate"]) == (5, 2, 0.4)

    await _put_targets(client, world, {"training_conversion_pct": 50})
    assert (await _judged(client, world))["training_conversion_pct"] == (40.0, 50, False)
    page = await client.get(
        f"/county/scorecard?month={Y}-12&lang=zh-CN", headers=html_as(world.staff)
    )
    assert _page_row(page.text, "training_conversion_pct") == ("no", "40%")
    sheet = await _sheet_row(client, world, "培训创业就业转化率（%）")
    assert sheet[2:5] == [40, 50, "否"]
    shown = await client.get(f"/county/training?year={Y}&lang=zh-CN", headers=html_as(world.staff))
    assert "已转化人数（就业、开网店、创业）" in shown.text
