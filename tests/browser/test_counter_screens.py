"""Pictures of the counter's changed screens at 360 px in Chinese and Uyghur (issue #10), none
with an untranslated key. They go to docs/screenshots/counter-<lang>-<screen>.png when
CUNZHAN_UPDATE_SCREENSHOTS=1 (an ordinary run leaves the checkout alone)."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest

from tests.browser.conftest import PHONE, SCREENSHOTS
from tests.browser.helpers import (
    go,
    login,
    outbox,
    record_received,
    submit,
    visible_keys,
    wait_outbox_empty,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = [
    "received-label",
    "sale-payout",
    "history-day",
    "cash-count",
    "home-relabel",
    "pickup-relabel",
    "received-again",
]


async def shoot(page, folder, lang: str, name: str, prefix: str = "counter-") -> None:
    """Once every toast has faded, with the fonts in: `<prefix><lang>-<name>.png`."""
    await page.wait_for_selector(".toast-shown", state="detached")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.toast')].every("
        "t => getComputedStyle(t).opacity === '0' || getComputedStyle(t).visibility === 'hidden')"
    )
    await page.evaluate("document.fonts.ready.then(() => true)")
    assert await visible_keys(page) == [], name
    await page.screenshot(path=str(folder / f"{prefix}{lang}-{name}.png"))


@pytest.mark.parametrize("lang,keeper", [("zh-CN", "13800000025"), ("ug", "13800000026")])
async def test_screenshots_of_the_counters_screens(
    browser, pwa_server, api_as, lang, keeper, tmp_path
):
    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=lang)
    try:
        page = await context.new_page()
        await login(page, pwa_server.url, keeper)
        await record_received(page, "781111222233334", "13912345678", "阿依古丽")
        # 代收 with a JD package, a privacy label and the full number offered.
        await go(page, "record/received", "form[data-form='parcel.received']")
        await page.focus("[name=tracking_no]")
        await page.keyboard.type("JD0123456789012-1-3-", delay=5)
        await page.keyboard.press("Enter")
        await page.fill("[name=recipient_phone]", "139****5678")
        await page.fill("[name=recipient_name]", "阿依古丽")
        await page.wait_for_selector("[data-use-phone]")
        await shoot(page, folder, lang, "received-label")
        await submit(page, "parcel.received")

        # 代销 with the payout shown as it is typed, and an ambiguous amount refused.
        await go(page, "record/sale", "form[data-form='sale.recorded']")
        await page.fill("[name=product]", "葡萄干")
        await page.fill("[name=quantity]", "5")
        await page.fill("[name=amount_fen]", "1,250")
        await page.fill("[name=commission_fen]", "2,5")
        await page.click("form[data-form='sale.recorded'] button[type=submit]")
        await page.wait_for_selector("[data-field=amount_fen] .field-error:not(:empty)")
        await page.fill("[name=amount_fen]", "125,5")
        await page.dispatch_event("[name=amount_fen]", "input")
        await page.wait_for_selector("[data-payout]:not(:empty)")
        await page.locator("[data-payout]").scroll_into_view_if_needed()
        await shoot(page, folder, lang, "sale-payout")
        await submit(page, "sale.recorded")

        await go(page, "record/service", "form[data-form='service.recorded']")
        await page.fill("[name=amount_fen]", "50")
        await page.fill("[name=fee_fen]", "1")
        await submit(page, "service.recorded")

        # 台帐: the day's totals and the till; then the 日结 count.
        await go(page, "history", "[data-day-totals]")
        await shoot(page, folder, lang, "history-day")
        await page.click("[data-action=count-cash]")
        await page.fill("[name=counted_fen]", "45,5")
        await shoot(page, folder, lang, "cash-count")
        await page.click("[data-action=count-save]")
        await page.wait_for_selector("[data-cash=difference]")

        # A pickup code changed by the server after an offline clash.
        await wait_outbox_empty(page)
        await context.set_offline(True)
        await record_received(page, "75000000003333", "13700001111")
        proposed = (await outbox(page))[-1]["data"]["pickup_code"]
        api = api_as(keeper)
        other = {
            "id": str(uuid.uuid4()),
            "type": "parcel.received",
            "occurred_at": "2026-12-01T10:00:00+08:00",
            "data": {
                "tracking_no": "76000000003333",
                "carrier": "ZTO",
                "recipient_phone": "13700002222",
                "pickup_code": proposed,
            },
        }
        answer = httpx.post(
            f"{api.base}/api/v1/sync",
            json={"device_id": str(uuid.uuid4()), "events": [other]},
            headers=api.headers,
        )
        assert answer.json()["results"][0]["status"] == "accepted"
        await context.set_offline(False)
        await page.evaluate("window.dispatchEvent(new Event('online'))")
        await wait_outbox_empty(page)
        await go(page, "home", ".home [data-relabel]")
        await shoot(page, folder, lang, "home-relabel")
        await go(page, "pickup", "[data-tag=relabel]")
        await shoot(page, folder, lang, "pickup-relabel")

        # A parcel handed over before, scanned again.
        await page.click("[data-parcel='781111222233334']")
        await page.click("[data-action=hand-over]")
        await page.wait_for_selector("[data-parcel='781111222233334']", state="detached")
        await go(page, "record/received", "form[data-form='parcel.received']")
        await page.fill("[name=tracking_no]", "781111222233334")
        await page.fill("[name=recipient_phone]", "13912345678")
        await page.click("form[data-form='parcel.received'] button[type=submit]")
        await page.wait_for_selector(".sheet [data-action=confirm]")
        await shoot(page, folder, lang, "received-again")
        assert len(list(folder.glob(f"counter-{lang}-*.png"))) == len(SCREENS)
    finally:
        await context.close()
