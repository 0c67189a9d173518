"""The failed-inspection rule as a county setting (岳普湖, issue 15): off, or withdraw the
logistics subsidy after N failed inspections in a row (2 by default, the rule before it was a
setting), set on the API and the settings page and shown with the subsidy claim (API, page,
workbook); and the household whose batch failed is marked on the registry (API and page) with
the failed batches' codes and days."""

from __future__ import annotations

import datetime
import io
import re

from openpyxl import load_workbook

from tests.support import event, push, tracking
from tests.test_county_pages import CSRF_FIELD, HTML, html_as, page_login

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def last_month() -> datetime.date:
    today = datetime.datetime.now(SHANGHAI).date()
    return today.replace(day=1) - datetime.timedelta(days=1)


def day(n: int) -> str:
    return last_month().replace(day=n).isoformat()


async def batches(client, world) -> list[str]:
    """The poor household's produce failed inspection on the 3rd and the 5th and passed on the
    20th; the other household's passed. The failed batches' codes."""
    codes = []
    for held, result, household in (
        (3, "failed", world.household_code),
        (5, "failed", world.household_code),
        (20, "passed", world.household_code),
        (6, "passed", world.non_poverty_household_code),
    ):
        batch = await client.post(
            f"/api/v1/counties/{world.county_id}/trace-batches",
            json={"product": "红枣", "household_code": household, "harvested_on": day(held),
                  "inspection": result},
            headers=world.staff.headers,
        )  # fmt: skip
        assert batch.status_code == 201, batch.text
        if result == "failed":
            codes.append(batch.json()["code"])
    return codes


async def dispatches(client, world) -> list[str]:
    """Parcels of the poor household on the 4th (after one failure), the 5th and the 12th (after
    two) and the 25th (after the pass)."""
    numbers = []
    entries = []
    for n in (4, 5, 12, 25):
        number = tracking()
        numbers.append(number)
        entries.append(
            event(
                "parcel.dispatched",
                {
                    "tracking_no": number,
                    "carrier": "SF",
                    "weight_g": 1000,
                    "fee_fen": 800,
                    "destination": "乌鲁木齐",
                    "farm_product": True,
                    "household_code": world.household_code,
                },
                f"{day(n)}T11:00:00+08:00",
            )
        )
    assert {r["status"] for r in await push(client, world.keeper_a, entries)} == {"accepted"}
    return numbers


async def statuses(client, world, numbers: list[str]) -> tuple[list[str], dict]:
    claims = await client.get(
        f"/api/v1/counties/{world.county_id}/subsidies?month={last_month():%Y-%m}",
        headers=world.staff.headers,
    )
    assert claims.status_code == 200, claims.text
    body = claims.json()
    (station,) = [s for s in body["stations"] if s["code"] == "A001"]
    by_number = {p["tracking_no"]: p["status"] for p in station["parcels"]}
    return [by_number[n] for n in numbers], body["rule"]


async def set_rule(client, world, failures) -> int:
    answer = await client.patch(
        f"/api/v1/counties/{world.county_id}",
        json={"subsidy_withdraw_after_failures": failures},
        headers=world.staff.headers,
    )
    return answer.status_code


async def test_the_county_sets_how_many_failures_withdraw_the_subsidy(client, world):
    await batches(client, world)
    numbers = await dispatches(client, world)
    county = await client.get(f"/api/v1/counties/{world.county_id}", headers=world.staff.headers)
    assert county.json()["subsidy_withdraw_after_failures"] == 2  # today's rule by default
    found, rule = await statuses(client, world, numbers)
    assert found == ["paid", "withdrawn", "withdrawn", "paid"]
    assert rule["withdraw_after_failures"] == 2

    assert await set_rule(client, world, 1) == 200  # one failure is enough
    assert (await statuses(client, world, numbers))[0] == [
        "withdrawn", "withdrawn", "withdrawn", "paid"
    ]  # fmt: skip
    assert await set_rule(client, world, 3) == 200  # two failures are not
    assert (await statuses(client, world, numbers))[0] == ["paid"] * 4
    assert await set_rule(client, world, 0) == 200  # off
    found, rule = await statuses(client, world, numbers)
    assert found == ["paid"] * 4 and rule["withdraw_after_failures"] == 0
    for bad in (-1, 13, "x"):
        refused = await client.patch(
            f"/api/v1/counties/{world.county_id}",
            json={"subsidy_withdraw_after_failures": bad},
            headers=world.staff.headers,
        )
        assert refused.status_code in (400, 422), bad
        assert refused.json()["field"] == "subsidy_withdraw_after_failures"
    county = await client.get(f"/api/v1/counties/{world.county_id}", headers=world.staff.headers)
    assert county.json()["subsidy_withdraw_after_failures"] == 0  # a refusal changed nothing


async def test_the_settings_page_and_the_claims_page_show_the_rule(client, world):
    await batches(client, world)
    await dispatches(client, world)
    month = f"{last_month():%Y-%m}"
    await page_login(client, world.staff.phone)
    settings = await client.get("/county/registry/county?lang=zh-CN", headers=HTML)
    assert 'name="subsidy_withdraw_after_failures"' in settings.text
    box = 'name="subsidy_withdraw_after_failures" type="text" inputmode="numeric" value="2"'
    assert box in settings.text
    assert "产品检测连续几次不合格取消物流补贴（0 = 不取消）" in settings.text

    page = await client.get(
        f"/county/subsidies?month={month}&lang=zh-CN", headers=html_as(world.staff)
    )
    row = page.text.split('data-station="A001"', 1)[1].split("</tr>")[0]
    withdrawn = row.split("data-withdrawn>", 1)[1].split("</td>")[0]
    assert withdrawn == "2 件"
    assert 'class="num warn" data-withdrawn' in row
    assert "产品检测连续 2 次不合格的农户取消补贴资格" in page.text
    english = await client.get(
        f"/county/subsidies?month={month}&lang=en", headers=html_as(world.staff)
    )
    assert "fails 2 inspections in a row lose the subsidy" in english.text

    # The settings form turns the rule off (every other setting sent as it is shown).
    token = CSRF_FIELD.search(settings.text)[1]
    county = (
        await client.get(f"/api/v1/counties/{world.county_id}", headers=world.staff.headers)
    ).json()
    form = {"_csrf_token": token, "subsidy_withdraw_after_failures": "0"}
    for name in ("target_township_pct", "target_village_pct", "target_poor_village_pct",
                 "parcel_free_days", "parcel_return_days", "checkin_reminder_weekday",
                 "checkin_reminder_hour", "month_close_day"):  # fmt: skip
        form[name] = str(county[name])
    for name in ("subsidy_fen_per_parcel", "subsidy_monthly_cap_fen", "parcel_daily_fee_fen",
                 "parcel_fee_cap_fen"):  # fmt: skip
        form[name] = f"{county[name] / 100:.2f}"
    form["subsidy_farm_only"] = "on"
    refused = await client.post(
        "/county/registry/county",
        data={**form, "subsidy_withdraw_after_failures": "99"},
        headers=HTML,
    )
    assert 'data-error-for="subsidy_withdraw_after_failures"' in refused.text
    saved = await client.post("/county/registry/county", data=form, headers=HTML)
    assert saved.status_code == 303, saved.text
    page = await client.get(
        f"/county/subsidies?month={month}&lang=zh-CN", headers=html_as(world.staff)
    )
    row = page.text.split('data-station="A001"', 1)[1].split("</tr>")[0]
    assert row.split("data-withdrawn>", 1)[1].split("</td>")[0] == "0 件"
    assert "检测不合格不取消补贴资格" in page.text

    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    sheet = load_workbook(io.BytesIO(book.content))["物流补贴"]
    cells = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
    assert "检测不合格不取消补贴资格" in cells


async def test_a_household_with_a_failed_batch_is_marked_on_the_registry(client, world):
    failed = await batches(client, world)
    listed = await client.get(
        f"/api/v1/counties/{world.county_id}/households", headers=world.staff.headers
    )
    assert listed.status_code == 200, listed.text
    by_code = {h["code"]: h for h in listed.json()}
    assert by_code[world.household_code]["failed_batches"] == [
        {"code": failed[0], "day": day(3)},
        {"code": failed[1], "day": day(5)},
    ]
    assert by_code[world.non_poverty_household_code]["failed_batches"] == []  # passed only
    household_id = by_code[world.household_code]["id"]
    one = await client.get(f"/api/v1/households/{household_id}", headers=world.staff.headers)
    assert one.status_code == 200, one.text
    assert [b["code"] for b in one.json()["failed_batches"]] == failed
    assert "*" in one.json()["phone"] or one.json()["phone"] == ""  # masked as in the list
    foreign = await client.get(
        f"/api/v1/households/{household_id}", headers=world.foreign_staff.headers
    )
    assert foreign.status_code in (403, 404)

    page = await client.get(
        f"/county/registry/households/{household_id}?lang=zh-CN", headers=html_as(world.staff)
    )
    assert page.status_code == 200
    section = page.text.split('id="failed-batches"', 1)[1].split("</section>")[0]
    assert "检测不合格：2 个溯源批次" in section
    assert [f'data-batch="{code}"' in section for code in failed] == [True, True]
    assert day(3) in section and day(5) in section
    listing = await client.get(
        "/county/registry/households?lang=zh-CN", headers=html_as(world.staff)
    )
    marked = re.findall(r'<tr data-mark="failed-inspection">(.*?)</tr>', listing.text, re.S)
    assert len(marked) == 1 and world.household_code in marked[0]
    assert "检测不合格 2 批" in marked[0]
    other = by_code[world.non_poverty_household_code]["id"]
    clean = await client.get(f"/county/registry/households/{other}", headers=html_as(world.staff))
    assert 'id="failed-batches"' not in clean.text
