"""The counter's scanner gun: a burst ends at Enter (or a long idle), never at a timing gap, so a
page that stalls in the middle of a scan never saves a truncated number (issue #10, defect 1)."""

from __future__ import annotations

import random

import pytest

from tests.browser.conftest import PHONE
from tests.browser.helpers import go, login, outbox, wait_saved_and_sent
from tests.browser.test_counter_bidi import assert_reads_left_to_right

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Blocks the page's main thread for `ms` (what a cheap phone saving the previous parcel does).
STALL_NOW = "ms => { const end = performance.now() + ms; while (performance.now() < end) {} }"
# The same, but starting while the next keys are already on their way (they queue up).
STALL_SOON = (
    "ms => { setTimeout(() => { const end = performance.now() + ms;"
    " while (performance.now() < end) {} }, 0); }"
)


async def scan_with_stalls(page, number: str, delay_ms: int, rng: random.Random) -> None:
    """Type `number` like a gun (`delay_ms` a key) with 1–3 stalls at random points, then Enter."""
    cuts = sorted(rng.sample(range(1, len(number)), rng.randint(1, 3)))
    start = 0
    for cut in [*cuts, len(number)]:
        await page.keyboard.type(number[start:cut], delay=delay_ms)
        if cut < len(number):
            stall = rng.choice([STALL_NOW, STALL_SOON])
            await page.evaluate(stall, rng.randint(40, 400))
        start = cut
    await page.keyboard.press("Enter")


@pytest.mark.parametrize(
    ("delay_ms", "keeper"), [(8, "13800000031"), (40, "13800000032")], ids=["usb-8ms", "bt-40ms"]
)
async def test_a_stalled_scan_never_saves_a_truncated_number(
    phone, pwa_server, api_as, delay_ms, keeper
):
    rng = random.Random(delay_ms)
    page = await phone.new_page()
    await login(page, pwa_server.url, keeper)
    await go(page, "record/received", "form[data-form='parcel.received']")
    numbers = [f"75{rng.randrange(10**12, 10**13)}" for _ in range(12)]
    for number in numbers:
        await page.focus("[name=tracking_no]")
        await scan_with_stalls(page, number, delay_ms, rng)
        assert await page.input_value("[name=tracking_no]") == number
        assert await page.evaluate("document.activeElement.name") == "recipient_phone"
        await page.fill("[name=recipient_phone]", "13812345678")
        # Enter saves; the next scan starts at once, while the phone is still saving.
        await page.keyboard.press("Enter")
    await wait_saved_and_sent(page)
    events = api_as(keeper).events()
    saved = [e["data"]["tracking_no"] for e in events if e["type"] == "parcel.received"]
    assert sorted(saved) == sorted(numbers)  # every number whole, each once
    assert await outbox(page) == []


async def test_a_scan_during_a_save_is_neither_cut_nor_wiped(phone, pwa_server, api_as):
    """The reset after a save must not empty a field the next scan is already filling."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000033")
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.fill("[name=tracking_no]", "751111222233334")
    await page.fill("[name=recipient_phone]", "13812345678")
    # Saving is held up until the next scan is half typed.
    await page.evaluate(STALL_SOON, 300)
    await page.keyboard.press("Enter")
    await page.focus("[name=tracking_no]")
    await page.keyboard.type("752222", delay=8)
    await page.evaluate(STALL_NOW, 200)
    await page.keyboard.type("333344445", delay=8)
    await page.keyboard.press("Enter")
    assert await page.input_value("[name=tracking_no]") == "752222333344445"


async def test_saving_empties_the_form_at_once_for_the_next_scan(phone, pwa_server, api_as):
    """On a slow phone the next scan starts while the last parcel is still being checked and
    saved: the fields must be empty, with the cursor in the tracking number, the moment the keeper
    saves — not after the save — or the next number is typed after the last one."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000033")
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.fill("[name=tracking_no]", "753333444455556")
    await page.fill("[name=recipient_phone]", "13812345678")
    at_once = await page.evaluate(
        """() => {
            document.querySelector("form[data-form='parcel.received']").requestSubmit();
            return [document.querySelector("[name=tracking_no]").value,
                    document.querySelector("[name=recipient_phone]").value,
                    document.activeElement.name];
        }"""
    )
    assert at_once == ["", "", "tracking_no"]
    await wait_saved_and_sent(page)
    saved = [
        e["data"]["recipient_phone"]
        for e in api_as("13800000033").events()
        if e["type"] == "parcel.received" and e["data"]["tracking_no"] == "753333444455556"
    ]
    assert saved == ["138****5678"]  # saved once, whole (the API masks it), though emptied at once


async def test_a_refused_number_comes_back_into_the_form(phone, pwa_server):
    """Emptied at once, but a number the phone refuses (already on the shelf) is put back with
    its error, so the keeper loses nothing typed."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000033")
    await go(page, "record/received", "form[data-form='parcel.received']")
    for _ in range(2):
        await page.fill("[name=tracking_no]", "754444555566667")
        await page.fill("[name=recipient_phone]", "13812345678")
        await page.keyboard.press("Enter")
    await page.wait_for_selector("[name=tracking_no][aria-invalid=true]")
    assert await page.input_value("[name=tracking_no]") == "754444555566667"
    assert await page.input_value("[name=recipient_phone]") == "13812345678"


# Holds the station's outbox in a read-write transaction of the test's own for `ms`: IndexedDB runs
# the app's save after it, as a cheap phone's slow storage would.
HOLD_OUTBOX = """async (ms) => {
    for (const { name } of await indexedDB.databases()) {
        const db = await new Promise((resolve, reject) => {
            const opening = indexedDB.open(name);
            opening.onsuccess = () => resolve(opening.result);
            opening.onerror = () => reject(opening.error);
        });
        if (!db.objectStoreNames.contains("outbox")) { db.close(); continue; }
        const store = db.transaction(["outbox"], "readwrite").objectStore("outbox");
        const until = performance.now() + ms;
        const spin = () => { if (performance.now() < until) store.get("held").onsuccess = spin; };
        spin();
        store.transaction.oncomplete = () => db.close();
        return name;
    }
    return null;
}"""


async def test_an_enter_during_a_save_saves_that_entry_right_after(phone, pwa_server, api_as):
    """A scanner ends each scan with Enter: the next parcel's Enter, pressed while the last one is
    still saving, saves it once that save is done (it did nothing: the number sat unsaved)."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000033")
    await go(page, "record/received", "form[data-form='parcel.received']")
    first, second = "756666777788889", "757777888899990"
    assert await page.evaluate(HOLD_OUTBOX, 2500) is not None
    for number in (first, second):
        await page.focus("[name=tracking_no]")
        await page.keyboard.type(number, delay=8)
        await page.keyboard.press("Enter")
        await page.fill("[name=recipient_phone]", "13812345678")
        await page.keyboard.press("Enter")
        # Emptied at once each time, the second while the first is still saving.
        assert await page.input_value("[name=tracking_no]") == ""
    await wait_saved_and_sent(page)
    saved = [
        e["data"]["tracking_no"]
        for e in api_as("13800000033").events()
        if e["type"] == "parcel.received" and e["data"]["tracking_no"] in (first, second)
    ]
    assert sorted(saved) == [first, second]  # each once
    assert await page.input_value("[name=tracking_no]") == ""


async def test_a_second_tap_during_a_save_saves_nothing_more(phone, pwa_server, api_as):
    """A keeper who taps save twice: the empty form is not submitted again (no refusal shown)."""
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000033")
    await go(page, "record/received", "form[data-form='parcel.received']")
    assert await page.evaluate(HOLD_OUTBOX, 1500) is not None
    await page.fill("[name=tracking_no]", "758888999900001")
    await page.fill("[name=recipient_phone]", "13812345678")
    await page.click("form[data-form] button[type=submit]")
    await page.click("form[data-form] button[type=submit]")
    await wait_saved_and_sent(page)
    saved = [
        e
        for e in api_as("13800000033").events()
        if e["type"] == "parcel.received" and e["data"]["tracking_no"] == "758888999900001"
    ]
    assert len(saved) == 1
    assert await page.locator("[aria-invalid=true]").count() == 0


@pytest.mark.parametrize("language", ["zh-CN", "ug"])
async def test_a_refused_entry_is_not_mixed_into_the_next_one_begun(browser, pwa_server, language):
    """The keeper scanned the next parcel while the last was still being checked, and the last
    is refused (already on the shelf): it is said aside with its number (left to right in
    Uyghur too), and none of its values go into the next entry's empty fields (its phone number
    went into them)."""
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=language)
    try:
        page = await context.new_page()
        await login(page, pwa_server.url, "13800000033")
        await go(page, "record/received", "form[data-form='parcel.received']")
        shelved, following = {"zh-CN": ("759999000011112", "750000111122223"),
                              "ug": ("759999000011113", "750000111122224")}[language]  # fmt: skip
        await page.fill("[name=tracking_no]", shelved)
        await page.fill("[name=recipient_phone]", "13812345678")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#toast.toast-shown")
        assert await page.evaluate(HOLD_OUTBOX, 2500) is not None
        await page.fill("[name=tracking_no]", shelved)
        await page.fill("[name=recipient_phone]", "13811112222")
        await page.keyboard.press("Enter")  # checked once the outbox is free: refused
        await page.focus("[name=tracking_no]")
        await page.keyboard.type(following, delay=8)
        await page.keyboard.press("Enter")  # the scan ends: the cursor goes to the phone number
        await page.wait_for_function(
            "number => document.querySelector('#toast').textContent.includes(number)", arg=shelved
        )
        assert await page.input_value("[name=tracking_no]") == following
        assert await page.input_value("[name=recipient_phone]") == ""
        await assert_reads_left_to_right(page, "#toast", shelved)
        # It stays said in a line above the form after the toast has gone, until dismissed.
        line = page.locator("form[data-form] .not-saved li", has_text=shelved)
        await page.evaluate("document.querySelector('#toast').className = 'toast'")
        assert await line.is_visible()
        await assert_reads_left_to_right(page, "form[data-form] .not-saved li", shelved)
        await line.locator("button").click()
        assert await page.locator("form[data-form] .not-saved").count() == 0
    finally:
        await context.close()
