"""What the field types into the counter's boxes (awkward input at the counter): a villager's
number said in full or read off a label, text pasted from elsewhere, numbers out of range."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.helpers import go, login, outbox, record_received, submit, wait_outbox_empty

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CATALOGS = Path(__file__).resolve().parents[2] / "pwa" / "locales"


def catalog(lang: str) -> dict[str, str]:
    return json.loads((CATALOGS / f"{lang}.json").read_text(encoding="utf-8"))


def tracking_no() -> str:
    return "77" + str(uuid.uuid4().int)[:13]


async def test_pickup_finds_a_parcel_by_the_number_the_villager_says(phone, pwa_server):
    """The villager says their whole number (or shows the label): typed into 取件's search it
    found nothing ("没有找到") while the parcel was on the shelf; only the last four digits did."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000021")
    full = tracking_no()
    labelled = tracking_no()
    other = tracking_no()
    await record_received(page, full, "13955507341", "马建国")
    await record_received(page, labelled, "139****7342")
    await record_received(page, other, "13855507341")  # same tail, another villager
    await go(page, "pickup", ".pickup-list")

    async def found(query: str) -> list[str]:
        await page.fill("input[name=q]", "")
        await page.focus("input[name=q]")
        await page.keyboard.type(query, delay=90)  # a person, not a gun
        await page.wait_for_timeout(300)
        return await page.eval_on_selector_all(
            ".pickup-list [data-parcel]", "cells => cells.map(c => c.dataset.parcel)"
        )

    # Whatever else the shelf holds, the villager's parcel is found and another's is not.
    for query in ["13955507341", "139 5550 7341", "１３９５５５０７３４１", "139****7341"]:
        result = await found(query)
        assert full in result and other not in result, (query, result)
    assert labelled in await found("13955507342")  # the full number of a labelled parcel
    assert {full, other} <= set(await found("7341"))  # the tail finds both, as before
    assert await found(full) == [full]


async def test_a_tab_pasted_into_a_one_line_box_is_not_refused_after_sync(
    phone, pwa_server, api_as
):
    """An address copied from a spreadsheet or a chat holds a tab: the form saved it, and the
    server refused the entry later (invalid_text U+0009), after the villager had left. A tab is a
    space, as the box itself makes of a pasted line break; invisible direction marks go."""
    keeper = "13800000022"
    page = await phone.new_page()
    await login(page, pwa_server.url, keeper)
    await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
    number = tracking_no()
    await page.fill("[name=tracking_no]", number)
    await page.fill("[name=weight_g]", "2")
    await page.fill("[name=fee_fen]", "8")
    await page.focus("[name=destination]")
    await page.keyboard.insert_text("广州市\t天河区\u202e 12号")  # pasted
    await page.click("form[data-form='parcel.dispatched'] button[type=submit]")
    await expect(page.locator(".recent [data-entry]").first).to_contain_text(number)
    await wait_outbox_empty(page)
    api = api_as(keeper)
    sent = [e for e in api.events() if e["data"].get("tracking_no") == number]
    assert [e["data"]["destination"] for e in sent] == ["广州市 天河区 12号"]


async def test_an_amount_too_large_is_called_too_large_not_malformed(phone, pwa_server):
    """99999999 typed for a top-up (a key held down, a phone number in the wrong box) was told
    "金额格式不对，例如 12 或 12.50", as if the way of writing it were wrong; ¥100,000.01 was told
    the limit. Both are too large, and both say so."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000023")
    await go(page, "record/service", "form[data-form='service.recorded']")
    error = page.locator("[data-field=amount_fen] .field-error")
    for typed in ["99999999", "100000.01", "13812345678"]:
        await page.fill("[name=amount_fen]", "")
        await page.focus("[name=amount_fen]")
        await page.keyboard.type(typed, delay=90)
        await page.click("form[data-form='service.recorded'] button[type=submit]")
        await expect(error).to_have_text(catalog("zh-CN")["error.money_range"])
        assert await page.input_value("[name=amount_fen]") == typed  # kept, to correct


async def test_batch_scan_in_takes_a_label_typed_with_full_width_stars(phone, pwa_server, api_as):
    """A Chinese keyboard types the label's stars full-width (138＊＊＊＊5678): the 代收 form took
    it, 连续入库 said 手机号不对 and kept the parcel waiting."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000024")
    await go(page, "batch", "form[data-form='batch']")
    numbers = [tracking_no(), tracking_no()]
    for number, typed in zip(numbers, ["138＊＊＊＊5678", "１３９××××６６０１"], strict=True):
        await page.focus("input[name=tracking_no]")
        await page.keyboard.type(number, delay=8)  # the gun
        await page.keyboard.press("Enter")
        await expect(page.locator("input[name=recipient_phone]")).to_be_focused()
        await page.keyboard.type(typed, delay=90)  # the keeper, by hand
        await page.keyboard.press("Enter")
        await expect(page.locator(f"[data-batch-item][data-tracking='{number}']")).to_have_count(1)
    await expect(page.locator(".batch-problem")).to_be_hidden()
    await wait_outbox_empty(page)
    events = api_as("13800000024").events()
    sent = {
        e["data"]["tracking_no"]: e["data"]["recipient_phone"]
        for e in events
        if e["type"] == "parcel.received"
    }
    assert [sent.get(n) for n in numbers] == ["138****5678", "139****6601"]


async def test_keys_typed_before_a_tap_are_not_part_of_the_next_scan(phone, pwa_server):
    """The keeper types the tail 5678 by hand, taps the number box and scans the next parcel
    within a second and a half: the typed keys and the gun's were one burst, so the number box
    got 5678SF…, a number that does not exist, and saving it recorded a wrong parcel."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000025")
    await go(page, "record/received", "form[data-form='parcel.received']")
    number = "SF" + str(uuid.uuid4().int)[:13]
    await page.click("[name=recipient_phone]")
    await page.keyboard.type("5678", delay=120)  # by hand
    await page.click("[name=tracking_no]")  # a tap, then the gun
    await page.keyboard.type(number, delay=8)
    await page.keyboard.press("Enter")
    assert await page.input_value("[name=tracking_no]") == number
    assert await page.input_value("[name=recipient_phone]") == "5678"
    # Typed into the number box itself, then a tap on it and a scan: the scan alone.
    await page.fill("[name=tracking_no]", "")
    await page.click("[name=tracking_no]")
    await page.keyboard.type("SF12", delay=120)
    await page.click("[name=tracking_no]")
    await page.keyboard.type(number, delay=8)
    await page.keyboard.press("Enter")
    assert await page.input_value("[name=tracking_no]") == number


async def test_a_number_copied_with_its_86_prefix_is_the_number(phone, pwa_server):
    """A number copied from the phone's contacts or WeChat comes as +86 138 1234 5678: the form
    said 请填写正确的手机号 (the 代购 box even cut it at 13 characters), while the server reads
    the same text as 13812345678 (backend/phones.py)."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000026")
    await phone.set_offline(True)  # the entries stay in the outbox to be read
    await go(page, "record/ordered", "form[data-form='purchase.ordered']")
    await page.fill("[name=item]", "化肥")
    await page.fill("[name=amount_fen]", "120")
    await page.focus("[name=customer_phone]")
    await page.keyboard.type("+86 138-1234-5678", delay=90)
    await submit(page, "purchase.ordered")
    await go(page, "record/received", "form[data-form='parcel.received']")
    number = tracking_no()
    await page.fill("[name=tracking_no]", number)
    await page.focus("[name=recipient_phone]")
    await page.keyboard.type("（+86）139 5550 7341", delay=90)
    await submit(page, "parcel.received")
    entries = {e["type"]: e["data"] for e in await outbox(page)}
    assert entries["purchase.ordered"]["customer_phone"] == "13812345678"
    assert entries["parcel.received"]["recipient_phone"] == "13955507341"


async def test_a_text_too_long_is_refused_not_cut_short(phone, pwa_server):
    """A 300-character address pasted into 目的地 was cut to its first 100 characters by the box
    itself, out of sight, and recorded so; "太长了，最多 100 个字" never showed."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000026")
    await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
    await page.fill("[name=tracking_no]", tracking_no())
    await page.fill("[name=weight_g]", "2")
    await page.fill("[name=fee_fen]", "8")
    pasted = "新疆喀什地区岳普湖县" * 30
    await page.focus("[name=destination]")
    await page.keyboard.insert_text(pasted)
    assert await page.input_value("[name=destination]") == pasted  # all of it, to shorten
    await page.click("form[data-form='parcel.dispatched'] button[type=submit]")
    error = page.locator("[data-field=destination] .field-error")
    await expect(error).to_have_text(catalog("zh-CN")["error.too_long"].replace("{max}", "100"))
    assert await outbox(page) == []  # nothing recorded


async def test_an_amount_written_as_a_chinese_keyboard_gives_it_is_read(phone, pwa_server):
    """A Chinese keyboard types 。 for the point ("12。5") and a receipt writes "30元": both were
    refused as 金额格式不对, while "¥30" was taken. Read as the county's forms read them."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000025")
    await phone.set_offline(True)  # the entries stay in the outbox to be read
    for typed in ["12。5", "30元"]:
        await go(page, "record/service", "form[data-form='service.recorded']")
        await page.focus("[name=amount_fen]")
        await page.keyboard.type(typed, delay=90)
        await submit(page, "service.recorded")
    amounts = [
        e["data"]["amount_fen"] for e in await outbox(page) if e["type"] == "service.recorded"
    ]
    assert sorted(amounts) == [1250, 3000]


async def test_a_scan_over_a_number_not_yet_recorded_says_so(phone, pwa_server):
    """A keeper scanned a parcel, was called away before typing its phone, and scanned the next:
    the form showed the second number and the first parcel stayed on the shelf unrecorded (its
    villager never told), with nothing said. Now the phone says which number was not recorded;
    a scan after a saved parcel says nothing."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000027")
    await go(page, "record/received", "form[data-form='parcel.received']")
    first, second, third = tracking_no(), tracking_no(), tracking_no()
    toast = page.locator("#toast")
    warning = catalog("zh-CN")["tracking.replaced"]
    await page.focus("[name=tracking_no]")
    await page.keyboard.type(first, delay=8)  # a gun
    await page.keyboard.press("Enter")
    await expect(page.locator("[name=recipient_phone]")).to_be_focused()
    await page.keyboard.type(second, delay=8)  # the next parcel, the phone box still empty
    await page.keyboard.press("Enter")
    await expect(page.locator("[name=tracking_no]")).to_have_value(second)
    await expect(toast).to_contain_text(warning.replace("{number}", first))
    # Back in the number box, a third scan over the second says so too.
    await page.focus("[name=tracking_no]")
    await page.keyboard.type(third, delay=8)
    await page.keyboard.press("Enter")
    await expect(page.locator("[name=tracking_no]")).to_have_value(third)
    await expect(toast).to_contain_text(warning.replace("{number}", second))
    # Recorded, then the next scan: nothing to warn of.
    await page.fill("[name=recipient_phone]", "13955507341")
    await submit(page, "parcel.received")
    await page.evaluate("document.getElementById('toast').textContent = ''")
    await page.focus("[name=tracking_no]")
    await page.keyboard.type(tracking_no(), delay=8)
    await page.keyboard.press("Enter")
    await page.wait_for_timeout(300)
    assert "还没有登记" not in await toast.inner_text()


async def test_a_sale_purchase_or_top_up_of_nothing_is_refused(phone, pwa_server):
    """A ¥0 代销, 代购 or 充值 was saved (a slip of the finger); a ¥0 sale naming a household still
    counted it among the poor households served. A 代发 fee of 0 stays possible (county-paid)."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000028")
    await phone.set_offline(True)  # the entries stay in the outbox to be read
    await go(page, "record/service", "form[data-form='service.recorded']")
    await page.focus("[name=amount_fen]")
    await page.keyboard.type("0", delay=90)
    await page.click("form[data-form='service.recorded'] button[type=submit]")
    error = page.locator("[data-field=amount_fen] .field-error")
    await expect(error).to_have_text(catalog("zh-CN")["error.money_zero"])
    await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
    await page.fill("[name=tracking_no]", tracking_no())
    await page.fill("[name=weight_g]", "1")
    await page.fill("[name=fee_fen]", "0")
    await page.fill("[name=destination]", "喀什")
    await submit(page, "parcel.dispatched")
    assert [(e["type"], e["data"]["fee_fen"]) for e in await outbox(page)] == [
        ("parcel.dispatched", 0)
    ]
