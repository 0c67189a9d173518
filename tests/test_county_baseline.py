"""The county's baseline (基数): the figures of the year before the product stand in for the
ledger's empty year before, prorated by days, in the kpis' year-to-date growth; entered through
the API or the settings page in 万元; bad input refused and nothing changed."""

from __future__ import annotations

import datetime

from tests.support import push
from tests.test_county_pages import CSRF_FIELD, HTML, page_login
from tests.test_county_targets import Y, _at, _kpis, _purchase, _sale
from tests.test_county_targets import _put as _put_targets


async def _put(client, world, body: dict):
    return await client.put(
        f"/api/v1/counties/{world.county_id}/baseline", json=body, headers=world.staff.headers
    )


async def _get(client, world):
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/baseline", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _share(annual: int, first: datetime.date, last: datetime.date) -> int:
    """The baseline's part for the days [first, last] of its year, by days."""
    year_days = (datetime.date(first.year + 1, 1, 1) - datetime.date(first.year, 1, 1)).days
    return round(annual * ((last - first).days + 1) / year_days)


def _growth(now: int, before: int) -> float:
    return round((now - before) / before * 100, 1)


async def test_the_baseline_stands_in_for_the_days_before_the_ledger_began(client, world):
    """The ledger begins with its first entry (10 March; the programme start, today, is later):
    the year to date of June compares 10 March–30 June with the same days a year before, which
    the baseline of that year gives, prorated by days."""
    sales = [_sale(40000, _at(Y, 3, 10)), _purchase(5000, _at(Y, 6, 6))]
    assert {r["status"] for r in await push(client, world.keeper_a, sales)} == {"accepted"}
    assert await _get(client, world) is None
    before = (await _kpis(client, world))["year_to_date"]
    assert before["growth_pct"]["upward_sales_fen"] is None  # nothing to compare with
    assert before["ledger_begins"] == f"{Y}-03-10" and before["base_partial"] is False

    answer = await _put(
        client, world, {"year": Y - 1, "retail_fen": 146400, "upward_sales_fen": 73200}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "year": Y - 1, "retail_fen": 146400, "upward_sales_fen": 73200, "downward_sales_fen": 0
    }  # fmt: skip
    assert await _get(client, world) == answer.json()

    year = (await _kpis(client, world))["year_to_date"]
    days = (datetime.date(Y - 1, 3, 10), datetime.date(Y - 1, 6, 30))
    upward, retail = _share(73200, *days), _share(146400, *days)
    assert year["last_year"]["upward_sales_fen"] == upward
    assert year["last_year"]["retail_fen"] == retail
    assert year["last_year"]["downward_sales_fen"] == 0  # no baseline for it: still nothing
    assert year["last_year_source"] == {
        "retail_fen": "baseline", "upward_sales_fen": "baseline", "downward_sales_fen": "ledger"
    }  # fmt: skip
    assert year["growth_pct"]["upward_sales_fen"] == _growth(40000, upward)
    assert year["growth_pct"]["retail_fen"] == _growth(45000, retail)
    assert year["growth_pct"]["downward_sales_fen"] is None
    # The printed scorecard says what its growth rows compare with.
    await page_login(client, world.staff.phone)
    card = await client.get(f"/county/scorecard?month={Y}-06&lang=zh-CN", headers=HTML)
    assert card.status_code == 200
    assert f'data-baseline="{Y - 1}"' in card.text and "基数（按天数折算）" in card.text
    assert f'本系统账本自 <bdi dir="ltr">{Y}-03-10</bdi> 起记账' in card.text


async def test_a_year_before_only_partly_in_the_ledger_is_no_growth_until_the_baseline_fills_it(
    client, world
):
    """A county whose ledger began on 15 May of the year before: its year to date of June against
    the year before's January–June held six weeks' business — a growth of hundreds of percent at
    a steady trade. No growth is shown, with the reason, until the baseline of that year fills
    the days before 15 May; the month of June compares whole, May (half in the ledger) not."""
    steady = [_sale(30000, _at(Y - 1, 5, 15)), _sale(30000, _at(Y - 1, 6, 1))]
    steady += [_sale(30000, _at(Y, month, 1)) for month in range(1, 7)]
    assert {r["status"] for r in await push(client, world.keeper_a, steady)} == {"accepted"}
    target = {"targets": [{"name": "upward_sales_growth_pct", "target": 10}]}
    assert (await _put_targets(client, world, target)).status_code == 200

    year = (await _kpis(client, world))["year_to_date"]
    assert (year["figures"]["upward_sales_fen"], year["last_year"]["upward_sales_fen"]) == (
        180000,
        60000,
    )  # the ledger's: 200 % if compared
    assert year["growth_pct"]["upward_sales_fen"] is None
    assert year["ledger_begins"] == f"{Y - 1}-05-15" and year["base_partial"] is True
    kpis = await _kpis(client, world)
    assert kpis["growth_pct"]["upward_sales_fen"] == 0.0  # June against a whole June
    judged = {t["name"]: t for t in kpis["targets"]}["upward_sales_growth_pct"]
    assert (judged["actual"], judged["met"], judged["reason"]) == (None, False, "partial_base")
    await page_login(client, world.staff.phone)
    card = await client.get(f"/county/scorecard?month={Y}-06&lang=zh-CN", headers=HTML)
    assert 'data-reason="partial_base"' in card.text and "本系统账本开始之前" in card.text
    note = '<p class="muted" data-reason="partial_base">'
    may = await client.get(f"/county/coverage?month={Y}-05&lang=zh-CN", headers=HTML)
    assert note in may.text and "本系统账本开始之前，只记了后一部分，因此不计算增长" in may.text
    june = await client.get(f"/county/coverage?month={Y}-06&lang=zh-CN", headers=HTML)
    assert note not in june.text  # June a year before: all in the ledger
    upward = june.text.split('data-figure="upward"')[1].split("</tr>")[0]
    assert '<td class="num growth">0%</td>' in upward

    # The baseline of the year before (its whole year's 上行, 365,000.00 元) fills 1 January to
    # 14 May, 134 days' share, beside the ledger's 15 May–30 June.
    assert (await _put(client, world, {"year": Y - 1, "upward_sales_fen": 36_500_000})).is_success
    year = (await _kpis(client, world))["year_to_date"]
    filled = 60000 + _share(36_500_000, datetime.date(Y - 1, 1, 1), datetime.date(Y - 1, 5, 14))
    assert year["last_year"]["upward_sales_fen"] == filled
    assert year["last_year_source"]["upward_sales_fen"] == "baseline"
    assert year["growth_pct"]["upward_sales_fen"] == _growth(180000, filled)

    # A baseline of another year is not compared with: no growth again.
    assert (await _put(client, world, {"year": Y - 2, "upward_sales_fen": 1})).is_success
    year = (await _kpis(client, world))["year_to_date"]
    assert year["last_year_source"]["upward_sales_fen"] == "ledger"
    assert year["growth_pct"]["upward_sales_fen"] is None

    # The county says its programme (and ledger) began on 1 January of the year before: days
    # without entries since then are empty days, and the ledger's year before is whole.
    started = await _put_targets(client, world, {"programme_start": f"{Y - 1}-01-01", **target})
    assert started.status_code == 200, started.text
    year = (await _kpis(client, world))["year_to_date"]
    assert year["growth_pct"]["upward_sales_fen"] == 200.0 and year["base_partial"] is False


async def test_a_bad_baseline_is_refused_and_changes_nothing(client, world):
    good = {"year": Y - 1, "retail_fen": 100}
    assert (await _put(client, world, good)).status_code == 200
    this_year = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).year
    for body, field in (
        ({"year": this_year}, "year"),
        ({"year": 1999}, "year"),
        ({"year": Y - 1, "retail_fen": -1}, "retail_fen"),
    ):
        answer = await _put(client, world, body)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert problem["field"] == field and problem["detail"]
    unknown = await _put(client, world, {"year": Y - 1, "gmv_fen": 5})
    assert unknown.status_code in (400, 422)
    assert await _get(client, world) == {
        "year": Y - 1, "retail_fen": 100, "upward_sales_fen": 0, "downward_sales_fen": 0
    }  # fmt: skip
    foreign = await client.put(
        f"/api/v1/counties/{world.county_id}/baseline", json=good,
        headers=world.foreign_staff.headers,
    )  # fmt: skip
    assert foreign.status_code in (403, 404)


async def test_the_settings_page_takes_the_baseline_in_wan_yuan(client, world):
    await page_login(client, world.staff.phone)
    page = await client.get("/county/registry/county?lang=zh-CN", headers=HTML)
    assert 'data-form="baseline"' in page.text and "网络零售额（万元，全年）" in page.text
    token = CSRF_FIELD.search(page.text).group(1)
    form = {
        "_csrf_token": token,
        "baseline_year": str(Y - 1),
        "baseline_retail_fen": "12,5",  # a comma keyboard: 12.5 万元
        "baseline_upward_sales_fen": "3.25",
        "baseline_downward_sales_fen": "",
    }
    saved = await client.post("/county/registry/county/baseline", data=form, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert await _get(client, world) == {
        "year": Y - 1, "retail_fen": 12_500_000, "upward_sales_fen": 3_250_000,
        "downward_sales_fen": 0,
    }  # fmt: skip
    shown = await client.get("/county/registry/county?lang=ug", headers=HTML)
    assert 'value="12.5"' in shown.text and 'value="3.25"' in shown.text

    bad = await client.post(
        "/county/registry/county/baseline",
        data={**form, "baseline_upward_sales_fen": "很多"},
        headers=HTML,
    )
    assert bad.status_code == 200
    assert 'data-error-for="baseline_upward_sales_fen"' in bad.text
    assert 'value="很多"' in bad.text  # the typed input is kept
    future = await client.post(
        "/county/registry/county/baseline", data={**form, "baseline_year": "2999"}, headers=HTML
    )
    assert 'data-error-for="baseline_year"' in future.text
    # No year (the browser's own check off): the range the year must lie in, not "{first}".
    for typed in ("", "明年"):
        missing = await client.post(
            "/county/registry/county/baseline", data={**form, "baseline_year": typed}, headers=HTML
        )
        said = missing.text.split('data-error-for="baseline_year"')[1].split("</p>")[0]
        assert "2000" in said and "{" not in said, said
    assert (await _get(client, world))["upward_sales_fen"] == 3_250_000  # unchanged
