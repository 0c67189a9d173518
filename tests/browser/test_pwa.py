"""The keeper's PWA on a phone-sized Chromium against a real server: every kind of entry, offline
and back, pickup, reversal, a rejected entry, Uyghur right-to-left, the scanner gun."""

from __future__ import annotations

import collections

import pytest
from playwright.async_api import expect

from tests.browser.helpers import go, login, outbox, record_received, submit, wait_outbox_empty

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_every_kind_of_entry_shows_on_home_in_history_and_on_the_server(
    phone, pwa_server, api_as
):
    api = api_as("13800000003")
    demo = {e["id"] for e in api.events()}  # the demo county's own check-in of this week
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000003")

    code_a = await record_received(page, "731234567890", "13912345678", "张三")
    code_b = await record_received(page, "YT1234567890123", "13987654321", carrier="YTO")

    await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
    await page.fill("[name=tracking_no]", "SF1234567890123")
    await page.select_option("[name=carrier]", "SF")
    await page.fill("[name=weight_g]", "2.5")
    await page.fill("[name=fee_fen]", "12.5")
    await page.fill("[name=destination]", "广州")
    await page.check("[name=farm_product]")
    await submit(page, "parcel.dispatched")

    await go(page, "record/ordered", "form[data-form='purchase.ordered']")
    await page.select_option("[name=platform]", "pinduoduo")
    await page.fill("[name=item]", "复合肥 50斤")
    await page.fill("[name=amount_fen]", "120")
    await page.fill("[name=commission_fen]", "5")
    await submit(page, "purchase.ordered")

    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.fill("[name=product]", "苹果")
    await page.fill("[name=quantity]", "20")
    await page.fill("[name=amount_fen]", "100.5")
    await page.fill("[name=commission_fen]", "3")
    await submit(page, "sale.recorded")

    await go(page, "record/service", "form[data-form='service.recorded']")
    await page.click("label.chip:has(input[value=electricity])")
    await page.fill("[name=amount_fen]", "50")
    await page.fill("[name=fee_fen]", "1")
    await page.fill("[name=account]", "0301234567")
    await submit(page, "service.recorded")

    await go(page, "checkin", "form.checkin-form")
    await page.fill("[name=note]", "正常营业")
    await page.click("[data-action=checkin]")
    await page.wait_for_selector(".home")

    await go(page, "pickup", ".pickup-list")
    await page.fill("[name=q]", code_a)
    await page.click("[data-parcel='731234567890']")
    await page.click("[data-action=hand-over]")
    await page.wait_for_selector("[data-parcel='731234567890']", state="detached")

    await page.fill("[name=q]", "")
    await page.click("[data-parcel='YT1234567890123']")
    await page.click("[data-action=return]")
    await page.click("[data-action=return-confirm]")
    await page.wait_for_selector("[data-parcel='YT1234567890123']", state="detached")

    await go(page, "record/delivered", "[data-purchase]")
    await page.click("[data-purchase]")
    await page.click("[data-action=confirm]")
    await page.wait_for_selector("[data-purchase]", state="detached")

    await wait_outbox_empty(page)
    await go(page, "home", ".home [data-sync=ok]")
    assert await page.locator("[data-todo=checkin]").count() == 0  # done for this week
    kinds = {}
    for line in await page.query_selector_all(".kind-line"):
        kinds[await line.get_attribute("data-kind")] = await line.inner_text()
    for kind in (
        "parcel_received",
        "parcel_picked_up",
        "parcel_returned",
        "parcel_dispatched",
        "purchase_ordered",
        "purchase_delivered",
        "sale_recorded",
        "service_electricity",
    ):
        assert kind in kinds, kinds
    assert "2" in kinds["parcel_received"]
    # fees: 12.50 postage + 5 and 3 commission + 1 service fee
    assert await page.inner_text("[data-total=fee]") == "¥21.50"
    # money handled: 120 + 100.50 + 50
    assert await page.inner_text("[data-total=amount]") == "¥270.50"

    await go(page, "history", ".history-list [data-entry]")
    rows = await page.query_selector_all(".history-list [data-entry]")
    local = {await r.get_attribute("data-entry"): await r.get_attribute("data-type") for r in rows}
    assert {await r.get_attribute("data-status") for r in rows} == {"synced"}
    mine = sorted(kind for id_, kind in local.items() if id_ not in demo)
    assert mine == sorted(
        ["parcel.received"] * 2
        + ["parcel.picked_up", "parcel.returned", "parcel.dispatched", "purchase.ordered"]
        + ["purchase.delivered", "sale.recorded", "service.recorded", "checkin.recorded"]
    )

    server = [e for e in api.events() if e["id"] not in demo]
    assert {e["id"]: e["type"] for e in server} == {k: v for k, v in local.items() if k not in demo}
    by_type = collections.defaultdict(list)
    for event in server:
        by_type[event["type"]].append(event)
    sale = by_type["sale.recorded"][0]["data"]
    assert (sale["amount_fen"], sale["commission_fen"], sale["unit"]) == (10050, 300, "斤")
    dispatch = by_type["parcel.dispatched"][0]["data"]
    assert (dispatch["weight_g"], dispatch["fee_fen"], dispatch["farm_product"]) == (
        2500,
        1250,
        True,
    )
    assert [e["data"] for e in by_type["checkin.recorded"]] == [{"note": "正常营业"}]
    codes = {
        e["data"]["tracking_no"]: e["server"]["pickup_code"] for e in by_type["parcel.received"]
    }
    assert codes == {"731234567890": code_a, "YT1234567890123": code_b}


async def test_pickup_by_code_by_phone_digits_and_by_scan(phone, pwa_server, api_as):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000005")
    code = await record_received(page, "78123456789012", "13600001234", "李四")
    await record_received(page, "78123456789099", "13600005678")

    await go(page, "pickup", ".pickup-list [data-parcel]")
    await page.fill("[name=q]", "1234")  # the last 4 digits of the recipient's phone
    await expect(page.locator(".pickup-list [data-parcel]")).to_have_count(1)
    await page.fill("[name=q]", "")
    await page.locator("[name=q]").blur()
    await page.keyboard.type("78123456789099", delay=5)  # a scanner gun, focus nowhere
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".sheet [data-action=hand-over]")  # one match: opened at once
    await page.click(".sheet-close")

    await page.fill("[name=q]", code)
    await expect(page.locator(".pickup-list [data-parcel]")).to_have_count(1)
    await page.click("[data-parcel='78123456789012']")
    assert code in await page.inner_text(".sheet .code-huge")
    await page.click("[data-action=hand-over]")
    await page.wait_for_selector(f".toast-shown:has-text('{code}')")
    await page.wait_for_selector("[data-parcel='78123456789012']", state="detached")
    await wait_outbox_empty(page)

    api = api_as("13800000005")
    pickups = [e for e in api.events() if e["type"] == "parcel.picked_up"]
    assert [(p["data"]["tracking_no"], p["data"]["pickup_code"]) for p in pickups] == [
        ("78123456789012", code)
    ]
    shelf = api.get(f"/api/v1/stations/{api.user['station_id']}/parcels", state="on_shelf")
    assert [p["tracking_no"] for p in shelf] == ["78123456789099"]


async def test_a_reversal_with_its_reason_takes_the_entry_out_of_the_day(phone, pwa_server, api_as):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000006")
    await go(page, "record/service", "form[data-form='service.recorded']")
    await page.fill("[name=amount_fen]", "30")
    await page.fill("[name=fee_fen]", "0.5")
    await submit(page, "service.recorded")
    await wait_outbox_empty(page)
    await go(page, "home", "[data-kind=service_phone_topup]")
    assert await page.inner_text("[data-total=amount]") == "¥30.00"

    await go(page, "history", ".history-list [data-type='service.recorded']")
    await page.click(".history-list [data-type='service.recorded']")
    await page.click("[data-action=reverse]")
    await page.click("[data-action=reverse-confirm]")  # no reason: refused before anything
    await expect(page.locator(".sheet .field-error:not(:empty)")).to_have_count(1)
    await page.fill(".sheet [name=reason]", "金额输错")
    await page.click("[data-action=reverse-confirm]")
    await page.wait_for_selector(".history-list [data-type='entry.reversed']")
    await wait_outbox_empty(page)
    await page.wait_for_selector(".history-list [data-type='service.recorded'] .struck")

    await go(page, "home", ".home [data-total=amount]")
    assert await page.inner_text("[data-total=amount]") == "¥0.00"
    assert await page.locator("[data-kind=service_phone_topup]").count() == 0

    events = api_as("13800000006").events()
    target = next(e for e in events if e["type"] == "service.recorded")
    reversal = next(e for e in events if e["type"] == "entry.reversed")
    assert reversal["data"] == {"target_id": target["id"], "reason": "金额输错"}
    assert target["reversed_by"] == reversal["id"]


async def test_a_rejected_entry_shows_the_servers_reason_and_can_be_fixed(
    phone, pwa_server, api_as
):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000007")
    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.fill("[name=product]", "核桃")
    await page.fill("[name=quantity]", "3")
    await page.fill("[name=amount_fen]", "45")
    await page.fill("[name=household_code]", "NOSUCH01")  # not a household of this county
    await submit(page, "sale.recorded")

    await go(page, "home", ".home [data-problem]")
    problem = await page.inner_text(".home [data-problem]")
    assert "户码" in problem  # the server's own words, in the keeper's language
    entry = (await outbox(page))[0]
    assert entry["status"] == "rejected"
    assert entry["error"]["code"] == "unknown_household"

    await go(page, "history", ".history-list [data-status=rejected]")
    assert "户码" in await page.inner_text(".history-list [data-status=rejected]")
    await page.click(".history-list [data-status=rejected]")
    assert "户码" in await page.inner_text(".sheet [data-error=unknown_household]")
    await page.click("[data-action=fix]")
    await page.wait_for_selector("form[data-form='sale.recorded'] [name=household_code]")
    assert await page.input_value("[name=product]") == "核桃"
    assert await page.input_value("[name=amount_fen]") == "45.00"
    await page.fill("[name=household_code]", "")
    await page.click("form[data-form='sale.recorded'] button[type=submit]")
    await page.wait_for_selector(".home")
    await wait_outbox_empty(page)

    sales = [e for e in api_as("13800000007").events() if e["type"] == "sale.recorded"]
    assert [(s["id"], s["data"]["amount_fen"]) for s in sales] == [(entry["id"], 4500)]
    assert "household_code" not in sales[0]["data"]


async def test_checks_before_submit_refuse_what_the_server_would(phone, pwa_server, api_as):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000012")
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.fill("[name=tracking_no]", "12-34")
    await page.fill("[name=recipient_phone]", "234")  # not a number, a label or a tail
    await page.click("form[data-form='parcel.received'] button[type=submit]")
    await expect(page.locator(".field-error:not(:empty)")).to_have_count(2)
    # A number off the carrier's usual pattern needs the keeper's confirmation, not a refusal.
    await page.select_option("[name=carrier]", "SF")
    await page.fill("[name=tracking_no]", "SF12345")  # too short for anything
    await page.fill("[name=tracking_no]", "SF1234567")
    await page.fill("[name=recipient_phone]", "13700001111")
    await page.click("form[data-form='parcel.received'] button[type=submit]")
    await expect(page.locator("[name=tracking_confirmed]")).to_be_visible()
    assert await outbox(page) == []
    await page.check("[name=tracking_confirmed]")
    await submit(page, "parcel.received")
    # The phone may sync before the outbox can be read, so the server's copy is what is checked.
    await wait_outbox_empty(page)
    stored = [
        e["data"].get("tracking_confirmed")
        for e in api_as("13800000012").events()
        if e["type"] == "parcel.received" and e["data"]["tracking_no"] == "SF1234567"
    ]
    assert stored == [True]

    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.fill("[name=product]", "梨")
    await page.fill("[name=quantity]", "0")
    await page.fill("[name=amount_fen]", "12.345")
    await page.click("form[data-form='sale.recorded'] button[type=submit]")
    await expect(page.locator(".field-error:not(:empty)")).to_have_count(2)
    assert await outbox(page) == []


async def test_a_scanner_gun_fills_the_tracking_field_and_moves_on(phone, pwa_server):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000018")
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.focus("[name=tracking_no]")
    await page.keyboard.type("jt1234567890123", delay=5)  # ≤ 30 ms apart, then Enter
    await page.keyboard.press("Enter")
    assert await page.input_value("[name=tracking_no]") == "JT1234567890123"
    assert await page.input_value("[name=carrier]") == "JT"  # the prefix gives the carrier away
    assert await page.evaluate("document.activeElement.name") == "recipient_phone"
    assert await outbox(page) == []  # Enter moved on; it saved nothing half-filled

    # A scan while the phone field has the focus still lands in the tracking field.
    await page.keyboard.type("SF7777888899990", delay=5)
    await page.keyboard.press("Enter")
    assert await page.input_value("[name=tracking_no]") == "SF7777888899990"
    assert await page.input_value("[name=recipient_phone]") == ""

    # A person typing (slowly) and pressing Enter submits the form as usual.
    await page.fill("[name=tracking_no]", "")
    await page.focus("[name=tracking_no]")
    await page.keyboard.type("731234567777", delay=80)
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-field=recipient_phone] .field-error")).not_to_be_empty()

    # Scanned on the home screen: a number not on the shelf opens a new 代收 with it.
    await go(page, "home", ".home")
    await page.keyboard.type("YT2222333344445", delay=5)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("form[data-form='parcel.received']")
    assert await page.input_value("[name=tracking_no]") == "YT2222333344445"
    assert await page.evaluate("document.activeElement.name") == "recipient_phone"


@pytest.mark.parametrize("width", [320, 360])
async def test_every_screen_fits_a_small_phone_without_sideways_scrolling(
    browser, pwa_server, width
):
    context = await browser.new_context(viewport={"width": width, "height": 640}, locale="zh-CN")
    try:
        page = await context.new_page()
        await login(page, pwa_server.url, "13800000019" if width == 320 else "13800000020")
        await record_received(page, "SF1212121212121", "13912121212", "欧阳娜娜", carrier="SF")
        for route, ready in [
            ("home", ".home"),
            ("record", ".tiles"),
            ("record/received", "form"),
            ("record/dispatched", "form"),
            ("record/ordered", "form"),
            ("record/sale", "form"),
            ("record/service", "form"),
            ("pickup", "[data-parcel]"),
            ("history", "[data-entry]"),
            ("checkin", "form"),
            ("me", ".me"),
        ]:
            await go(page, route, ready)
            overflow = await page.evaluate(
                "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, route
            small = await page.evaluate(
                """[...document.querySelectorAll('button, a, input, select, [role=switch]')]
                   .filter(el => el.offsetParent !== null)
                   .map(el => [(el.closest('label') || el).getBoundingClientRect(), el])
                   .filter(([r]) => r.height < 44 && r.width < 44 && r.height > 0)
                   .map(([r, el]) => el.outerHTML.slice(0, 80))"""
            )
            assert small == [], (route, small)  # every target at least 44 px one way
            font = await page.evaluate("getComputedStyle(document.body).fontSize")
            assert font == "17px"
    finally:
        await context.close()


async def test_a_screen_still_drawing_when_the_keeper_moves_on_does_not_take_the_next_ones_title(
    phone, pwa_server
):
    # Home waits for the counter's strings before it is drawn; on village 3G that is seconds. A
    # keeper who taps "received" meanwhile must keep the form's title and back button: the late
    # home screen became the current one again and its refresh after a sync hid them (a run of
    # the suite under load caught it: .nav-back had no box).
    page = await phone.new_page()
    await page.add_init_script(
        """
        const realFetch = window.fetch;
        window.fetch = (input, init) => {
          const url = typeof input === "string" ? input : input.url;
          if (!url.includes("/locales/counter/")) return realFetch(input, init);
          return new Promise((done) => setTimeout(done, 2500)).then(() => realFetch(input, init));
        };
        """
    )
    await login(page, pwa_server.url, "13800000020")
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.wait_for_timeout(3500)  # home's drawing has ended meanwhile
    await page.evaluate("window.dispatchEvent(new Event('beforeinstallprompt'))")  # a refresh
    await page.wait_for_timeout(500)
    await expect(page.locator(".nav-back")).to_be_visible()
    assert await page.locator("form[data-form='parcel.received']").count() == 1
    assert await page.inner_text(".nav-title") == "代收"  # type.parcel.received
