"""The county's baseline (基数): the figures of the year before the product stand in for the
ledger's empty year before, prorated by days, in the kpis' year-to-date growth; entered through
the API or the settings page in 万元; bad input refused and nothing changed."""

from __future__ import annotations

import datetime

from tests.support import push
from tests.test_county_pages import CSRF_FIELD, HTML, page_login
from tests.test_county_targets import Y, _at, _kpis, _purchase, _sale


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


def _share_of_year(annual: int) -> int:
    """The baseline's part for the year to date of June (1 January to 30 June), by days."""
    days = (datetime.date(Y - 1, 6, 30) - datetime.date(Y - 1, 1, 1)).days + 1
    year_days = (datetime.date(Y, 1, 1) - datetime.date(Y - 1, 1, 1)).days
    return round(annual * days / year_days)


async def test_the_baseline_stands_in_for_an_empty_year_before(client, world):
    sales = [_sale(40000, _at(Y, 3, 10)), _purchase(5000, _at(Y, 6, 6))]
    assert {r["status"] for r in await push(client, world.keeper_a, sales)} == {"accepted"}
    assert await _get(client, world) is None
    before = (await _kpis(client, world))["year_to_date"]
    assert before["growth_pct"]["upward_sales_fen"] is None  # nothing to compare with

    answer = await _put(
        client, world, {"year": Y - 1, "retail_fen": 146400, "upward_sales_fen": 73200}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "year": Y - 1, "retail_fen": 146400, "upward_sales_fen": 73200, "downward_sales_fen": 0
    }  # fmt: skip
    assert await _get(client, world) == answer.json()

    year = (await _kpis(client, world))["year_to_date"]
    upward, retail = _share_of_year(73200), _share_of_year(146400)
    assert year["last_year"]["upward_sales_fen"] == upward
    assert year["last_year"]["retail_fen"] == retail
    assert year["last_year"]["downward_sales_fen"] == 0  # no baseline for it: still nothing
    assert year["last_year_source"] == {
        "retail_fen": "baseline", "upward_sales_fen": "baseline", "downward_sales_fen": "ledger"
    }  # fmt: skip
    assert year["growth_pct"]["upward_sales_fen"] == round((40000 - upward) / upward * 100, 1)
    assert year["growth_pct"]["retail_fen"] == round((45000 - retail) / retail * 100, 1)
    assert year["growth_pct"]["downward_sales_fen"] is None
    # The printed scorecard says what its growth rows compare with.
    await page_login(client, world.staff.phone)
    card = await client.get(f"/county/scorecard?month={Y}-06&lang=zh-CN", headers=HTML)
    assert card.status_code == 200
    assert f'data-baseline="{Y - 1}"' in card.text and "基数（按天数折算）" in card.text

    # Once the ledger has the year before, the ledger counts and the baseline steps aside.
    await push(client, world.keeper_b, [_sale(20000, _at(Y - 1, 5, 1))])
    year = (await _kpis(client, world))["year_to_date"]
    assert year["last_year"]["upward_sales_fen"] == 20000
    assert year["last_year_source"]["upward_sales_fen"] == "ledger"
    assert year["growth_pct"]["upward_sales_fen"] == 100.0

    # A baseline of another year than the one before is not compared with.
    assert (await _put(client, world, {"year": Y - 2, "upward_sales_fen": 1})).status_code == 200
    year = (await _kpis(client, world))["year_to_date"]
    assert year["last_year_source"]["retail_fen"] == "ledger"


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
