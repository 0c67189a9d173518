"""Every number box of the county's pages reads what was typed one way (backend/numbers.py, the
keeper's phone the same: tests/browser/test_rules_parity.py): a decimal comma ("12,5") and
full-width digits ("１２５０") are read; what could be a thousands separator ("12,000", "1,250")
is refused under its box, saying why, and changes nothing. Read as a decimal, "12,000" 培训人次
was saved as a target of 12 and a baseline of "1,250" 万元 as 1.25 万元."""

from __future__ import annotations

import re

from backend.i18n import translate
from backend.registry.tables import County, Station
from tests.test_county_pages import HTML, page_login
from tests.test_county_pages_registry import field_error, form_token
from tests.test_county_targets import Y

SETTINGS = "/county/registry/county"


def said_unclear(text: str, box: str, typed: str) -> None:
    """The box's own error names what was typed and asks for it without a thousands separator."""
    said = field_error(text, box)
    assert typed in said and "1250" in said and "看不明白" in said, said


async def _targets(client, world) -> list[dict]:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/targets", headers=world.staff.headers
    )
    return answer.json()["targets"]


async def _baseline(client, world):
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/baseline", headers=world.staff.headers
    )
    return answer.json()


async def test_a_thousands_separator_in_a_target_or_baseline_is_refused_not_shrunk(client, world):
    await page_login(client, world.staff.phone)
    token = await form_token(client, f"{SETTINGS}?lang=zh-CN")
    targets = {"_csrf_token": token, "programme_start": f"{Y}-03-01"}
    for box, typed in (
        ("target_training_visits", "12,000"),  # was saved as 12
        ("target_upward_sales_fen", "1,250"),
        ("target_stations_village", "１，２５０"),  # full-width, as a Chinese IME gives
    ):
        refused = await client.post(
            f"{SETTINGS}/targets", data={**targets, box: typed}, headers=HTML
        )
        assert refused.status_code == 200
        said_unclear(refused.text, box, typed)
        assert f'value="{typed}"' in refused.text  # kept as typed
    both = {"target_training_visits": "12,000", "target_trace_scans": "很多"}
    refused = await client.post(f"{SETTINGS}/targets", data={**targets, **both}, headers=HTML)
    said_unclear(refused.text, "target_training_visits", "12,000")
    assert field_error(refused.text, "target_trace_scans")
    assert await _targets(client, world) == []

    baseline = {"_csrf_token": token, "baseline_year": str(Y - 1)}
    refused = await client.post(
        f"{SETTINGS}/baseline", data={**baseline, "baseline_retail_fen": "1,250"}, headers=HTML
    )
    said_unclear(refused.text, "baseline_retail_fen", "1,250")  # was saved as 1.25 万元
    assert await _baseline(client, world) is None

    typed = {
        "target_training_visits": "１２０００",
        "target_upward_sales_fen": "1250,5",
        "target_upward_sales_growth_pct": "-2,5",
    }
    saved = await client.post(f"{SETTINGS}/targets", data={**targets, **typed}, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert await _targets(client, world) == [
        {"name": "upward_sales_fen", "target": 125050},
        {"name": "upward_sales_growth_pct", "target": -2.5},
        {"name": "training_visits", "target": 12000},
    ]
    wan = {"baseline_retail_fen": "1250", "baseline_upward_sales_fen": "０，５"}
    saved = await client.post(f"{SETTINGS}/baseline", data={**baseline, **wan}, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert await _baseline(client, world) == {
        "year": Y - 1, "retail_fen": 1_250_000_000, "upward_sales_fen": 500_000,
        "downward_sales_fen": 0,
    }  # fmt: skip


async def test_the_county_settings_read_full_width_digits_and_refuse_grouped_amounts(client, world):
    await page_login(client, world.staff.phone)
    token = await form_token(client, SETTINGS)
    form = {
        "_csrf_token": token,
        "target_township_pct": "１００",
        "target_village_pct": "70",
        "target_poor_village_pct": "55",
        "subsidy_fen_per_parcel": "1，5",
        "subsidy_monthly_cap_fen": "800元",  # as a receipt writes it
        "parcel_fee_cap_fen": "¥3。5",  # a Chinese keyboard's 。 for the point
        "parcel_free_days": "３",
        "parcel_daily_fee_fen": "0,5",
        "parcel_return_days": "7",
        "checkin_reminder_weekday": "2",
        "checkin_reminder_hour": "１０",
        "month_close_day": "8",
    }
    saved = await client.post(SETTINGS, data=form, headers=HTML)
    assert saved.status_code == 303, saved.text
    county = await County.select().where(County.id == world.county_id).first()
    assert county["target_township_pct"] == 100 and county["parcel_free_days"] == 3
    assert county["subsidy_fen_per_parcel"] == 150 and county["parcel_daily_fee_fen"] == 50
    assert county["subsidy_monthly_cap_fen"] == 80000 and county["parcel_fee_cap_fen"] == 350
    assert county["checkin_reminder_hour"] == 10

    for box, typed in (("subsidy_monthly_cap_fen", "1,250"), ("parcel_free_days", "1,000")):
        refused = await client.post(SETTINGS, data={**form, box: typed}, headers=HTML)
        said_unclear(refused.text, box, typed)
    # Every box refused at once, each under its own (the next came only once one was mended).
    both = await client.post(
        SETTINGS, data={**form, "parcel_return_days": "7天", "parcel_fee_cap_fen": "3,000"},
        headers=HTML,
    )  # fmt: skip
    assert field_error(both.text, "parcel_return_days") == translate(
        "problem.whole_number_format", "zh-CN"
    )
    said_unclear(both.text, "parcel_fee_cap_fen", "3,000")
    # An amount's limit is said in 元, as the box is typed (it read "不能大于 10000000": fen).
    too_much = await client.post(
        SETTINGS, data={**form, "subsidy_monthly_cap_fen": "200000"}, headers=HTML
    )
    assert field_error(too_much.text, "subsidy_monthly_cap_fen") == (
        "“每站每月补贴上限”不能大于 100,000.00 元。"
    )
    half_day = await client.post(SETTINGS, data={**form, "parcel_free_days": "2,5"}, headers=HTML)
    assert field_error(half_day.text, "parcel_free_days") == translate(
        "problem.whole_number_format", "zh-CN"
    )
    assert 'value="2,5"' in half_day.text
    unchanged = await County.select().where(County.id == world.county_id).first()
    assert unchanged == county


async def test_shelves_milestones_prices_training_and_trace_read_numbers_alike(client, world):
    await page_login(client, world.staff.phone)
    path = f"/county/registry/stations/{world.station_b}"
    token = await form_token(client, path)
    page = (await client.get(path, headers=HTML)).text
    opened = re.search(r'name="opened_on" type="date" value="([^"]*)"', page)[1]
    edit = {"_csrf_token": token, "name": "B站", "level": "village", "opened_on": opened,
            "shelves": "１２", "layers": "4"}  # fmt: skip
    saved = await client.post(path, data=edit, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert (await Station.select().where(Station.id == world.station_b).first())["shelves"] == 12
    refused = await client.post(path, data={**edit, "shelves": "1,000"}, headers=HTML)
    said_unclear(refused.text, "shelves", "1,000")

    place = {"_csrf_token": token, "lat": "30,572815", "lng": "１０４.０６６８０１"}
    saved = await client.post(f"{path}/file", data=place, headers=HTML)
    assert saved.status_code == 303, saved.text
    file = await client.get(f"/api/v1/stations/{world.station_b}/file", headers=world.staff.headers)
    assert (file.json()["lat"], file.json()["lng"]) == (30.572815, 104.066801)

    milestone = {"_csrf_token": token, "milestone_figure_0": "trainee_visits",
                 "milestone_target_0": "1,750", "milestone_due_0": f"{Y + 1}-10"}  # fmt: skip
    refused = await client.post(f"{SETTINGS}/milestones", data=milestone, headers=HTML)
    said_unclear(refused.text, "milestone_target_0", "1,750")
    milestone["milestone_target_0"] = "１７５０"
    assert (
        await client.post(f"{SETTINGS}/milestones", data=milestone, headers=HTML)
    ).status_code == 303

    prices = {"_csrf_token": token, "band_0": "1,250", "fee_SF_0": "16"}
    refused = await client.post(f"{SETTINGS}/prices", data=prices, headers=HTML)
    said_unclear(refused.text, "band_0", "1,250")
    prices = {"_csrf_token": token, "band_0": "0,5", "fee_SF_0": "1,250"}
    refused = await client.post(f"{SETTINGS}/prices", data=prices, headers=HTML)
    said_unclear(refused.text, "fee_SF_0", "1,250")
    prices["fee_SF_0"] = "１６,５"
    assert (await client.post(f"{SETTINGS}/prices", data=prices, headers=HTML)).status_code == 303
    county = await County.select(County.dispatch_prices).where(County.id == world.county_id).first()
    assert "[[500, 1650]]" in county["dispatch_prices"]

    session = {"_csrf_token": token, "title": "电商夜校", "held_on": f"{Y}-04-01",
               "kind": "ecommerce_basics", "hours": "1,250", "trainees": "张三"}  # fmt: skip
    refused = await client.post("/county/training", data=session, headers=HTML)
    said_unclear(refused.text, "hours", "1,250")
    session["hours"] = "2,5"
    assert (await client.post("/county/training", data=session, headers=HTML)).status_code == 303
    year = await client.get(
        f"/api/v1/counties/{world.county_id}/trainings?year={Y}", headers=world.staff.headers
    )
    assert [s["hours"] for s in year.json()["sessions"]] == [2.5]

    batch = {"_csrf_token": token, "product": "红枣", "quantity": "1,250", "unit": "kg"}
    refused = await client.post("/county/trace", data=batch, headers=HTML)
    said_unclear(refused.text, "quantity", "1,250")
    batch["quantity"] = "12,5"
    made = await client.post("/county/trace", data=batch, headers=HTML)
    assert made.status_code == 303, made.text
    listed = await client.get(
        f"/api/v1/counties/{world.county_id}/trace-batches", headers=world.staff.headers
    )
    assert [b["quantity"] for b in listed.json()] == [12.5]
