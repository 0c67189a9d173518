"""A closed month's figures never change (issue #16, API.md "Month close"): whatever the county
changes after the close — its subsidy rule, a household's 脱贫户 flag, a village's 贫困村 flag, a
catalogue product's category — and a full rebuild of the rollups, the closed station-month's
kpis, workbook, CSV and subsidy claim stay as they were, while the open month counts with the new
values; reopening the month counts it again with them.

Station A001 (东村, not a 贫困村) sells 100.00 yuan of walnuts (HT-01, farm produce) for household
T-0002 (not poor) and sends a farm parcel and a non-farm one, last month and this month. The
subsidy rule is 1.50 yuan per farm parcel."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
from openpyxl import load_workbook

from backend.county import rollups
from backend.county.reporting import send_daily_reports
from backend.county.tables import FrozenMonth, FrozenRollup
from backend.jobs.service import run_now
from tests.support import event, push, statuses
from tests.test_catalogue import products_url
from tests.test_county_pages import html_as
from tests.test_county_reporting import Receiver, next_day_in_both_counties, reporting_to
from tests.test_county_subsidies import _claims
from tests.test_months import (
    SHANGHAI,
    _post,
    close,
    in_last_month,
    last_month,
    sale,
    this_month,
)
from tests.test_registry_import import households


@pytest.fixture
def province():
    running = Receiver()
    yield running
    running.close()


WALNUT = {"code": "HT-01", "name": "核桃", "category": "farm", "unit": "斤"}


def _entries(occurred_at: str | None, tag: str) -> list[dict]:
    sale = {
        "product": "核桃", "product_code": "HT-01", "quantity": 1, "unit": "斤",
        "amount_fen": 10_000, "commission_fen": 0, "channel": "抖音", "household_code": "T-0002",
    }  # fmt: skip
    parcel = {"carrier": "SF", "weight_g": 900, "fee_fen": 800, "destination": "广州"}
    return [
        event("sale.recorded", sale, occurred_at),
        event(
            "parcel.dispatched",
            {**parcel, "tracking_no": f"SF15{tag}0000000001", "farm_product": True},
            occurred_at,
        ),
        event(
            "parcel.dispatched",
            {**parcel, "tracking_no": f"SF15{tag}0000000002", "farm_product": False},
            occurred_at,
        ),
    ]


async def _setup(client, world) -> dict:
    rule = {"subsidy_fen_per_parcel": 150, "subsidy_farm_only": True,
            "subsidy_monthly_cap_fen": 100_000}  # fmt: skip
    changed = await client.patch(
        f"/api/v1/counties/{world.county_id}", json=rule, headers=world.staff.headers
    )
    assert changed.status_code == 200, changed.text
    walnut = await client.post(
        products_url(world.county_id), json=WALNUT, headers=world.staff.headers
    )
    assert walnut.status_code == 201, walnut.text
    entries = _entries(in_last_month(10), "1") + _entries(None, "2")
    results = await push(client, world.keeper_a, entries)
    assert set(statuses(results)) == {"accepted"}, results
    return walnut.json()


async def _change_everything(client, world, walnut: dict) -> None:
    """The county changes every value a figure depends on, then the rollups are rebuilt."""
    base = f"/api/v1/counties/{world.county_id}"
    rule = {"subsidy_fen_per_parcel": 300, "subsidy_farm_only": False}
    assert (await client.patch(base, json=rule, headers=world.staff.headers)).status_code == 200
    household = (await households(client, world))["T-0002"]
    marked = await client.patch(
        f"/api/v1/households/{household['id']}", json={"poverty": True},
        headers=world.staff.headers,
    )  # fmt: skip
    assert marked.status_code == 200, marked.text
    poor = await client.patch(
        f"/api/v1/villages/{world.village_id}", json={"poor": True}, headers=world.staff.headers
    )
    assert poor.status_code == 200, poor.text
    other = {"name": WALNUT["name"], "category": "other", "unit": WALNUT["unit"]}
    flipped = await client.put(
        f"{products_url(world.county_id)}/{walnut['id']}", json=other, headers=world.staff.headers
    )
    assert flipped.status_code == 200, flipped.text
    await rollups.refresh()  # the changed values rebuild the county
    await rollups.rebuild()  # and a full rebuild on top


async def _kpis(client, world, month: str) -> dict:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _month_figures(client, world, month: str) -> dict:
    """What the county reports for the month: its figures and kinds, the poor-village figures of
    the year to date, the station's rollup lines, its subsidy claim, and the workbook's and the
    CSV's figures (the sheets' 贫困村 column says what the village is today: left out)."""
    kpis = await _kpis(client, world, month)
    first, last = month + "-01", kpis["end"]
    lines = await client.get(
        f"/api/v1/counties/{world.county_id}/rollup?from={first}&to={last}"
        f"&station_id={world.station_a}",
        headers=world.staff.headers,
    )
    assert lines.status_code == 200, lines.text
    claims = await _claims(client, world, month)
    (claim,) = [s for s in claims["stations"] if s["code"] == "A001"]
    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    assert book.status_code == 200, book.text
    sheets = load_workbook(io.BytesIO(book.content))
    workbook = {
        name: [row[:3] + row[4:] for row in sheets[name].iter_rows(values_only=True)]
        for name in ("代销", "代发")
    }
    workbook["补贴明细"] = list(sheets["补贴明细"].iter_rows(values_only=True))
    workbook["物流补贴"] = [
        row for row in sheets["物流补贴"].iter_rows(values_only=True) if "A001" in row
    ]
    sold = await client.get(
        f"/api/v1/counties/{world.county_id}/export.csv?month={month}&table=sale_recorded",
        headers=world.staff.headers,
    )
    assert sold.status_code == 200, sold.text
    rows = list(csv.reader(io.StringIO(sold.content.decode("utf-8-sig"))))
    return {
        "figures": kpis["figures"],
        "kinds": kpis["kinds"],
        "poor_villages": kpis["year_to_date"]["poor_villages"]["figures"],
        "lines": lines.json(),
        "claim": claim,
        "workbook": workbook,
        "csv": [row[:3] + row[4:] for row in rows],
    }


async def test_a_closed_month_keeps_its_figures_whatever_the_county_changes(client, world):
    walnut = await _setup(client, world)
    closed_before = await _month_figures(client, world, last_month())
    assert closed_before["figures"]["retail_fen"] == 10_000
    assert closed_before["figures"]["upward_sales_fen"] == 10_000  # walnuts are farm produce
    assert closed_before["figures"]["poverty_amount_fen"] == 0  # T-0002 is not poor
    assert closed_before["poor_villages"]["retail_fen"] == 0  # 东村 is not a 贫困村
    assert (closed_before["claim"]["qualifying"], closed_before["claim"]["payable_fen"]) == (1, 150)
    await close(client, world, last_month())
    assert await _month_figures(client, world, last_month()) == closed_before  # close alone

    await _change_everything(client, world, walnut)

    assert await _month_figures(client, world, last_month()) == closed_before  # to the fen
    # This month is open: it counts with the county's values now.
    open_now = await _month_figures(client, world, this_month())
    assert open_now["figures"]["retail_fen"] == 10_000
    assert open_now["figures"]["upward_sales_fen"] == 0  # walnuts are `other` now
    assert open_now["figures"]["poverty_amount_fen"] == 10_000  # T-0002 is poor now
    assert open_now["poor_villages"]["retail_fen"] == 10_000  # this month's only: 东村 is poor now
    # Both parcels qualify at 3.00 yuan each.
    assert (open_now["claim"]["qualifying"], open_now["claim"]["payable_fen"]) == (2, 600)

    # Reopening needs a reason; then the month counts with the county's values now.
    refused = await _post(client, world.staff, world.station_a, last_month(), "reopen")
    assert refused.status_code == 422
    reopened = await _post(
        client, world.staff, world.station_a, last_month(), "reopen", {"reason": "县里更正贫困户"}
    )
    assert reopened.status_code == 200, reopened.text
    recounted = await _month_figures(client, world, last_month())
    assert recounted["figures"]["retail_fen"] == 10_000
    assert recounted["figures"]["upward_sales_fen"] == 0
    assert recounted["figures"]["poverty_amount_fen"] == 10_000
    assert recounted["poor_villages"]["retail_fen"] == 10_000
    assert (recounted["claim"]["qualifying"], recounted["claim"]["payable_fen"]) == (2, 600)
    await rollups.rebuild()
    assert await _month_figures(client, world, last_month()) == recounted


async def test_closing_the_county_month_freezes_every_station(client, world):
    walnut = await _setup(client, world)
    poor_sale = event(
        "sale.recorded",
        {"product": "核桃", "product_code": "HT-01", "quantity": 1, "unit": "斤",
         "amount_fen": 5_000, "commission_fen": 0, "channel": "抖音"},
        in_last_month(12),
    )  # fmt: skip
    assert statuses(await push(client, world.keeper_b, [poor_sale])) == ["accepted"]
    before = await _month_figures(client, world, last_month())
    claims_before = await _claims(client, world, last_month())
    assert before["figures"]["upward_sales_fen"] == 15_000
    assert before["poor_villages"] == {  # B001 in 西村, a 贫困村
        "retail_fen": 5_000, "upward_sales_fen": 5_000, "poverty_amount_fen": 0,
    }  # fmt: skip
    answer = await client.post(
        f"/api/v1/counties/{world.county_id}/months/{last_month()}/close",
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text

    await _change_everything(client, world, walnut)
    unpoor = await client.patch(
        f"/api/v1/villages/{world.poor_village_id}", json={"poor": False},
        headers=world.staff.headers,
    )  # fmt: skip
    assert unpoor.status_code == 200, unpoor.text

    assert await _month_figures(client, world, last_month()) == before
    # Every station's month is closed under one rule: the claims and their rule line stay too.
    assert await _claims(client, world, last_month()) == claims_before
    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={last_month()}",
        headers=world.staff.headers,
    )
    rule_line = load_workbook(io.BytesIO(book.content))["物流补贴"]["A1"].value
    assert "1.5" in rule_line and "仅农产品" in rule_line


async def test_the_province_gets_a_closed_day_again_only_when_its_month_is_reopened(
    app, client, world, province
):
    """The province's days of a closed month stay as sent whatever the county changes; the
    reopened month's changed day goes again as its next revision."""
    first_day = last_month() + "-01"
    answer = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"programme_start": first_day},
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    walnut = await _setup(client, world)
    await close(client, world, last_month())
    settings = reporting_to(app, province.url)
    tomorrow, _ = next_day_in_both_counties(datetime.datetime.now(datetime.UTC))
    await send_daily_reports(settings, tomorrow)  # the receiver refuses each key's first try
    await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=2))
    sale_day = in_last_month(10)[:10]
    today = str(tomorrow.astimezone(SHANGHAI).date() - datetime.timedelta(days=1))

    def sent_since(count: int) -> dict[str, dict]:
        return {
            request["headers"]["Idempotency-Key"].removeprefix("TEST:"): json.loads(request["body"])
            for request in province.requests[count:]
            if request["headers"]["Idempotency-Key"].startswith("TEST:")
        }

    first = sent_since(0)
    assert first[sale_day]["figures"]["upward_sales_fen"] == 10_000

    before = len(province.requests)
    await _change_everything(client, world, walnut)
    await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=3))
    assert list(sent_since(before)) == [today]  # the open month's day only

    before = len(province.requests)
    reopened = await _post(
        client, world.staff, world.station_a, last_month(), "reopen", {"reason": "县里更正贫困户"}
    )
    assert reopened.status_code == 200, reopened.text
    await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=4))
    again = sent_since(before)
    assert list(again) == [sale_day]
    assert again[sale_day]["revision"] == 2
    assert again[sale_day]["figures"]["upward_sales_fen"] == 0
    assert again[sale_day]["figures"]["poverty_amount_fen"] == 10_000


async def test_a_month_closed_before_closing_froze_it_is_frozen_by_the_rollup_job(
    app, client, world
):
    """A month closed before this release has nothing kept: the rollup job (`cunzhan jobs run
    rollup`) freezes it with the county's values of that run; from then on it stays."""
    walnut = await _setup(client, world)
    before = await _month_figures(client, world, last_month())
    await close(client, world, last_month())
    await FrozenRollup.delete(force=True)  # as a close from before freezing left it
    await FrozenMonth.delete(force=True)
    run = await run_now(app.state.settings, "rollup")
    assert run.status == "done", run.error
    assert run.counts["frozen"] == 1
    assert (await run_now(app.state.settings, "rollup")).counts["frozen"] == 0  # once

    await _change_everything(client, world, walnut)
    await run_now(app.state.settings, "rollup")
    assert await _month_figures(client, world, last_month()) == before


async def test_the_province_day_marks_its_adjustments_with_their_own_dates(
    app, client, world, province
):
    """An entry dated in a closed month counts on the first day of the next open month: that
    day's province body lists it among `adjustments` with its own date and closed month; the
    closed month's day lists none."""
    answer = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"programme_start": last_month() + "-01"},
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    on_time = sale(10_000, in_last_month(10))
    assert statuses(await push(client, world.keeper_a, [on_time])) == ["accepted"]
    await close(client, world, last_month())
    late = sale(2_345, in_last_month(20))
    assert statuses(await push(client, world.keeper_a, [late])) == ["accepted"]

    settings = reporting_to(app, province.url)
    tomorrow, _ = next_day_in_both_counties(datetime.datetime.now(datetime.UTC))
    await send_daily_reports(settings, tomorrow)  # the receiver refuses each key's first try
    await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=2))
    bodies = {
        request["headers"]["Idempotency-Key"].removeprefix("TEST:"): json.loads(request["body"])
        for request in province.requests
        if request["headers"]["Idempotency-Key"].startswith("TEST:")
    }
    counted_on = this_month() + "-01"
    assert bodies[counted_on]["adjustments"] == [
        {"station_code": "A001", "kind": "sale_recorded", "own_date": in_last_month(20)[:10],
         "month": last_month(), "amount_fen": 2_345, "fee_fen": 0}
    ]  # fmt: skip
    # Counted in the day's figures too: the adjustment is part of them, marked.
    assert bodies[counted_on]["figures"]["upward_sales_fen"] >= 2_345
    assert bodies[in_last_month(10)[:10]]["adjustments"] == []
    assert bodies[in_last_month(10)[:10]]["figures"]["upward_sales_fen"] == 10_000


async def test_a_closed_month_shows_the_inspection_rule_it_was_judged_under(client, world):
    """The inspection rule (a household's claim withdrawn after failed inspections) is part of
    the rule a closed month's claims were judged under: the API, the claims page and the
    workbook's 物流补贴 line show the setting of the close, not today's, until reopened."""
    await _setup(client, world)
    base = f"/api/v1/counties/{world.county_id}"
    strict = {"subsidy_withdraw_after_failures": 3}
    assert (await client.patch(base, json=strict, headers=world.staff.headers)).status_code == 200
    closed = await client.post(f"{base}/months/{last_month()}/close", headers=world.staff.headers)
    assert closed.status_code == 200, closed.text
    off = {"subsidy_withdraw_after_failures": 0}
    assert (await client.patch(base, json=off, headers=world.staff.headers)).status_code == 200

    assert (await _claims(client, world, last_month()))["rule"]["withdraw_after_failures"] == 3
    assert (await _claims(client, world, this_month()))["rule"]["withdraw_after_failures"] == 0
    book = await client.get(f"{base}/export.xlsx?month={last_month()}", headers=world.staff.headers)
    rule_line = load_workbook(io.BytesIO(book.content))["物流补贴"]["A1"].value
    assert "连续 3 次不合格" in rule_line
    page = await client.get(f"/county/subsidies?month={last_month()}", headers=html_as(world.staff))
    assert page.status_code == 200 and "连续 3 次不合格" in page.text

    reopened = await _post(
        client, world.staff, world.station_a, last_month(), "reopen", {"reason": "更正检测规则"}
    )
    assert reopened.status_code == 200, reopened.text
    assert (await _claims(client, world, last_month()))["rule"]["withdraw_after_failures"] == 0
