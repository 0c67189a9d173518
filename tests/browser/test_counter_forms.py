"""At the counter nothing wrong is recorded (issue #10): money with a decimal comma, JD packages,
a carrier guessed afresh, privacy labels, checks before saving, relabelling after a clash, the
check-in banner and the device's language, the money the keeper sees and the 日结 count."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.helpers import go, login, outbox, record_received, submit, wait_outbox_empty

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CATALOGS = Path(__file__).resolve().parents[2] / "pwa" / "locales"


def catalog(lang: str) -> dict[str, str]:
    return json.loads((CATALOGS / f"{lang}.json").read_text(encoding="utf-8"))


async def scan(page, text: str) -> None:
    """A scanner gun: fast keys, then Enter."""
    await page.keyboard.type(text, delay=5)
    await page.keyboard.press("Enter")


def push(api, events: list[dict]) -> list[dict]:
    answer = httpx.post(
        f"{api.base}/api/v1/sync",
        json={"device_id": str(uuid.uuid4()), "events": events},
        headers=api.headers,
    )
    answer.raise_for_status()
    return answer.json()["results"]


def event(event_type: str, data: dict) -> dict:
    import datetime

    moment = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": moment.isoformat(timespec="seconds"),
        "data": data,
    }


async def test_a_decimal_comma_is_read_in_kg_yuan_and_quantity_and_an_ambiguous_amount_refused(
    phone, pwa_server, api_as
):
    keeper = "13800000034"
    page = await phone.new_page()
    await login(page, pwa_server.url, keeper)
    await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
    await page.fill("[name=tracking_no]", "JT5555666677778")
    await page.focus("[name=weight_g]")
    await page.keyboard.type("2,5", delay=90)  # kilograms with a comma, read as the fee is
    await page.focus("[name=fee_fen]")
    await page.keyboard.type("12,5", delay=90)  # a Uyghur keyboard or a Chinese IME
    await page.fill("[name=destination]", "喀什")
    await submit(page, "parcel.dispatched")

    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.fill("[name=product]", "葡萄干")
    await page.focus("[name=quantity]")
    await page.keyboard.type("2,5", delay=90)
    await page.focus("[name=amount_fen]")
    await page.keyboard.type("1,250", delay=90)
    await page.click("form[data-form='sale.recorded'] button[type=submit]")
    error = page.locator("[data-field=amount_fen] .field-error")
    await expect(error).to_have_text(catalog("zh-CN")["error.money_ambiguous"])
    await page.fill("[name=amount_fen]", "")
    await page.focus("[name=amount_fen]")
    await page.keyboard.type("30,5", delay=90)
    await page.focus("[name=commission_fen]")
    await page.keyboard.type("2.5", delay=90)
    # What the villager is paid, shown as the keeper types: 30.50 − 2.50.
    await expect(page.locator("[data-payout]")).to_contain_text("28.00")
    await submit(page, "sale.recorded")

    await wait_outbox_empty(page)
    events = api_as(keeper).events()
    fees = [
        (e["data"]["weight_g"], e["data"]["fee_fen"])
        for e in events
        if e["type"] == "parcel.dispatched"
    ]
    sales = [
        (e["data"]["quantity"], e["data"]["amount_fen"], e["data"]["commission_fen"])
        for e in events
        if e["type"] == "sale.recorded"
    ]
    assert fees == [(2500, 1250)]
    assert sales == [(2.5, 3050, 250)]
    # The entry tells what is paid out to the villager.
    assert "28.00" in await page.inner_text(".recent [data-entry]")


async def test_jd_packages_are_parcels_and_the_carrier_is_guessed_from_every_scan(
    phone, pwa_server, api_as
):
    keeper = "13800000035"
    page = await phone.new_page()
    await login(page, pwa_server.url, keeper)
    await go(page, "record/received", "form[data-form='parcel.received']")

    async def receive(number: str, expected: str, carrier: str, package: str | None = None):
        await page.focus("[name=tracking_no]")
        await scan(page, number)
        assert await page.input_value("[name=tracking_no]") == expected
        assert await page.input_value("[name=carrier]") == carrier
        note = page.locator("[data-package-note]")
        if package:
            await expect(note).to_contain_text(package)
        else:
            await expect(note).to_be_hidden()
        await expect(page.locator(".confirm-row")).to_be_hidden()  # nothing unusual to tick
        await page.fill("[name=recipient_phone]", "13812345678")
        await submit(page, "parcel.received")

    await receive("JD0123456789012-1-2-", "JD0123456789012", "JD", "1/2")
    await receive("SF1234567890123", "SF1234567890123", "SF")
    await receive("773298765432109", "773298765432109", "ZTO")  # not 顺丰 because the last was
    await receive("jd0123456789012-2-2-", "JD0123456789012", "JD", "2/2")

    # The same package again is refused on the phone, before anything is saved.
    before = len(await outbox(page))
    await page.focus("[name=tracking_no]")
    await scan(page, "JD0123456789012-1-2-")
    await page.fill("[name=recipient_phone]", "13812345678")
    await page.click("form[data-form='parcel.received'] button[type=submit]")
    await expect(page.locator("[data-field=tracking_no] .field-error")).to_have_text(
        catalog("zh-CN")["error.already_on_shelf"]
    )
    assert len(await outbox(page)) <= before

    await wait_outbox_empty(page)
    api = api_as(keeper)
    shelf = api.get(f"/api/v1/stations/{api.user['station_id']}/parcels")
    assert sorted((p["tracking_no"], p["package"], p["carrier"]) for p in shelf) == [
        ("773298765432109", None, "ZTO"),
        ("JD0123456789012", "1/2", "JD"),
        ("JD0123456789012", "2/2", "JD"),
        ("SF1234567890123", None, "SF"),
    ]


async def test_a_privacy_label_is_received_and_the_one_full_number_is_offered(
    phone, pwa_server, api_as
):
    keeper = "13800000036"
    page = await phone.new_page()
    await login(page, pwa_server.url, keeper)
    await record_received(page, "781111222233334", "13912345678", "阿依古丽")

    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.fill("[name=tracking_no]", "782222333344445")
    await page.fill("[name=recipient_phone]", "139****5678")
    await page.fill("[name=recipient_name]", "阿依古丽")
    offer = page.locator("[data-use-phone]")
    await expect(offer).to_have_attribute("data-use-phone", "13912345678")
    await submit(page, "parcel.received")  # the keeper keeps what the label shows

    await page.fill("[name=tracking_no]", "783333444455556")
    await page.fill("[name=recipient_phone]", "5678")
    await page.fill("[name=recipient_name]", "阿依古丽")
    await page.click("[data-use-phone='13912345678']")  # the villager confirmed it
    assert await page.input_value("[name=recipient_phone]") == "13912345678"
    await submit(page, "parcel.received")

    await page.fill("[name=tracking_no]", "784444555566667")
    await page.fill("[name=recipient_phone]", "5678")
    await page.fill("[name=recipient_name]", "买买提")  # nobody known by that name: no offer
    await submit(page, "parcel.received")
    await expect(offer).to_have_count(0)

    await wait_outbox_empty(page)
    api = api_as(keeper)
    phones = {
        e["data"]["tracking_no"]: e["data"]["recipient_phone"]
        for e in api.events()
        if e["type"] == "parcel.received"
    }
    assert phones["782222333344445"].endswith("5678") and "*" in phones["782222333344445"]
    assert phones["784444555566667"] == "5678"
    found = api.get(f"/api/v1/stations/{api.user['station_id']}/parcels", phone_last4="5678")
    assert len(found) == 4
    await go(page, "pickup", ".pickup-list")
    await page.fill("[name=q]", "5678")
    await expect(page.locator("[data-parcel]")).to_have_count(4)


async def test_checks_come_before_saving_and_a_refusal_names_its_number(phone, pwa_server, api_as):
    keeper = "13800000037"
    page = await phone.new_page()
    await login(page, pwa_server.url, keeper)
    zh = catalog("zh-CN")

    async def dispatch(number: str, household: str = "") -> None:
        await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
        await page.fill("[name=tracking_no]", number)
        await page.fill("[name=weight_g]", "2")
        await page.fill("[name=fee_fen]", "10")
        await page.fill("[name=destination]", "和田")
        if household:
            await page.fill("[name=household_code]", household)

    await dispatch("JT1111222233334")
    await submit(page, "parcel.dispatched")
    await wait_outbox_empty(page)
    await dispatch("JT1111222233334")
    await page.click("form[data-form='parcel.dispatched'] button[type=submit]")
    await expect(page.locator("[data-field=tracking_no] .field-error")).to_have_text(
        zh["error.already_dispatched"]
    )
    assert await outbox(page) == []  # nothing saved, nothing to be refused later

    # 代销: a commission larger than the sale is refused on the phone too.
    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.fill("[name=product]", "核桃")
    await page.fill("[name=quantity]", "1")
    await page.fill("[name=amount_fen]", "10")
    await page.fill("[name=commission_fen]", "12")
    await page.click("form[data-form='sale.recorded'] button[type=submit]")
    await expect(page.locator("[data-field=commission_fen] .field-error")).to_have_text(
        zh["error.commission_exceeds_amount"]
    )
    assert await outbox(page) == []

    # A parcel already handed over: received again only when the keeper says so.
    code = await record_received(page, "791111222233334", "13700001111")
    await go(page, "pickup", ".pickup-list")
    await page.fill("[name=q]", code)
    await page.click("[data-parcel='791111222233334']")
    await page.click("[data-action=hand-over]")
    await page.wait_for_selector("[data-parcel='791111222233334']", state="detached")
    await wait_outbox_empty(page)
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.fill("[name=tracking_no]", "791111222233334")
    await page.fill("[name=recipient_phone]", "13700001111")
    await page.click("form[data-form='parcel.received'] button[type=submit]")
    await expect(page.locator(".sheet-title")).to_have_text(zh["received.again_title"])
    await page.click(".sheet [data-action=cancel]")
    assert await outbox(page) == []
    await page.click("form[data-form='parcel.received'] button[type=submit]")
    await page.click(".sheet [data-action=confirm]")
    await page.wait_for_selector(".recent [data-entry]")

    # Refused by the server (a household unknown in the county): home says which number.
    await dispatch("JT9999888877776", household="NOSUCH01")
    await submit(page, "parcel.dispatched")
    await go(page, "home", ".home [data-problem]")
    assert "JT9999888877776" in await page.inner_text(".home [data-problem]")


async def test_a_code_changed_by_the_server_is_marked_relabel_until_confirmed(
    phone, pwa_server, api_as
):
    keeper = "13800000038"
    api = api_as(keeper)
    page = await phone.new_page()
    await login(page, pwa_server.url, keeper)
    await wait_outbox_empty(page)
    await phone.set_offline(True)
    proposed = await record_received(page, "75000000002222", "13700001111")
    # Meanwhile another phone of the station takes that code for another parcel.
    other = event(
        "parcel.received",
        {
            "tracking_no": "76000000002222",
            "carrier": "ZTO",
            "recipient_phone": "13700002222",
            "pickup_code": proposed,
        },
    )
    assert push(api, [other])[0]["status"] == "accepted"
    await phone.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await wait_outbox_empty(page)
    shelf = api.get(f"/api/v1/stations/{api.user['station_id']}/parcels")
    new_code = {p["tracking_no"]: p["pickup_code"] for p in shelf}["75000000002222"]
    assert new_code != proposed

    # The just-recorded list shows the new code, marked.
    recent = page.locator(".recent [data-entry]")
    await expect(recent).to_contain_text(new_code)
    await expect(recent.locator("[data-tag=relabel]")).to_have_count(1)
    # The pickup search marks it too.
    await go(page, "pickup", "[data-parcel='75000000002222']")
    await expect(page.locator("[data-parcel='75000000002222'] [data-tag=relabel]")).to_have_count(1)
    # Home's to-do list keeps it until the keeper confirms the new label.
    await go(page, "home", ".home [data-relabel]")
    todo = page.locator(".home [data-relabel]")
    await expect(todo).to_contain_text(proposed)
    await expect(todo).to_contain_text(new_code)
    await page.reload()
    await page.wait_for_selector(".home [data-relabel]")
    await todo.click()
    await page.click(".sheet [data-action=confirm]")
    await expect(todo).to_have_count(0)
    await go(page, "pickup", "[data-parcel='75000000002222']")
    await expect(page.locator("[data-tag=relabel]")).to_have_count(0)


async def test_checking_in_retires_the_reminder_on_every_phone_and_the_device_language_wins(
    browser, pwa_server, api_as
):
    from tests.browser.conftest import PHONE

    keeper = "13800000039"
    api = api_as(keeper)
    assert api.user.get("language", "zh-CN") == "zh-CN"
    # This week's check-in of the demo is undone, so the station is due.
    for e in api.events():
        if e["type"] == "checkin.recorded" and not e.get("reversed_by"):
            undo = event("entry.reversed", {"target_id": e["id"], "reason": "测试"})
            assert push(api, [undo])[0]["status"] == "accepted"
    reminder = {
        "id": "r1",
        "kind": "reminder",
        "title": "本周还没打卡",
        "body": "请打卡",
        "created_at": "2026-11-20T09:00:00+08:00",
        "read_at": None,
        "url": "/app/#/checkin",
    }
    read: dict[int, list[str]] = {0: [], 1: []}  # what each phone told the server

    def routes(phone_index: int):
        async def inbox(route):
            # Each phone's server answer knows only what that phone marked read, so the banner
            # can leave the other phone only through that phone's own knowledge of the check-in.
            read_at = "2026-11-21T08:00:00+08:00" if read[phone_index] else None
            await route.fulfill(json={"items": [dict(reminder, read_at=read_at)]})

        async def mark_read(route):
            read[phone_index].append(route.request.url)
            await route.fulfill(status=200, json={"status": "read"})

        return inbox, mark_read

    phones = [
        await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=locale)
        for locale in ("ug", "zh-CN")
    ]
    try:
        pages = []
        for index, context in enumerate(phones):
            inbox, mark_read = routes(index)
            await context.route("**/api/v1/inbox", inbox)
            await context.route("**/api/v1/inbox/*/read", mark_read)
            page = await context.new_page()
            await login(page, pwa_server.url, keeper)
            await page.wait_for_selector("[data-inbox=r1]")
            pages.append(page)
        uyghur, chinese = pages
        # A phone set to Uyghur stays in Uyghur after login, and the account learns it.
        assert await uyghur.get_attribute("html", "lang") == "ug"
        assert await uyghur.get_attribute("html", "dir") == "rtl"
        me = httpx.get(f"{api.base}/api/v1/auth/me", headers=api.headers).json()
        assert me.get("language") in ("ug", "zh-CN")  # the last phone to log in saved its own

        await go(chinese, "checkin", "form.checkin-form")
        await chinese.click("[data-action=checkin]")
        await chinese.wait_for_selector(".home")
        await expect(chinese.locator("[data-inbox=r1]")).to_have_count(0)
        assert read[1]  # told the server too
        await wait_outbox_empty(chinese)
        # The other phone of the station learns of the check-in at its next sync.
        await uyghur.evaluate("window.dispatchEvent(new Event('online'))")
        await expect(uyghur.locator("[data-todo=checkin]")).to_have_count(0, timeout=20000)
        await expect(uyghur.locator("[data-inbox=r1]")).to_have_count(0)
        assert read[0]
    finally:
        for context in phones:
            await context.close()


async def test_the_end_of_day_count_on_the_phone(phone, pwa_server, api_as):
    keeper = "13800000040"
    page = await phone.new_page()
    await login(page, pwa_server.url, keeper)
    await go(page, "record/service", "form[data-form='service.recorded']")
    await page.fill("[name=amount_fen]", "50")
    await page.fill("[name=fee_fen]", "1")
    await submit(page, "service.recorded")
    await go(page, "record/ordered", "form[data-form='purchase.ordered']")
    await page.fill("[name=item]", "电饭锅")
    await page.fill("[name=amount_fen]", "99")
    await page.fill("[name=commission_fen]", "3")
    await submit(page, "purchase.ordered")
    # 代购 shows its commission.
    assert "3.00" in await page.inner_text(".recent [data-entry]")

    await go(page, "history", "[data-day-totals]")
    await expect(page.locator("[data-cash=expected]")).to_contain_text("150.00")  # 51 + 99
    await expect(page.locator("[data-day-total=amount]")).to_contain_text("149.00")
    await page.click("[data-action=count-cash]")
    await page.focus("[name=counted_fen]")
    await page.keyboard.type("149,5", delay=90)
    await page.click("[data-action=count-save]")
    await expect(page.locator("[data-cash=counted]")).to_contain_text("149.50")
    await expect(page.locator("[data-cash=difference]")).to_contain_text("0.50")
    await wait_outbox_empty(page)
    api = api_as(keeper)
    book = api.get(f"/api/v1/stations/{api.user['station_id']}/cashbook")
    assert book["cash"] == {"expected_fen": 15000, "counted_fen": 14950, "difference_fen": -50}
