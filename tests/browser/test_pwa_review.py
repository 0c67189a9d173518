"""The keeper's app as a UI review at 360 px saw it: what the screens draw, measured in the
browser (colours, the lines glyphs land on, what a title or an icon shows), in zh-CN, Uyghur
(right-to-left) and English."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE
from tests.browser.helpers import go, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The rules parity test only signs in as this keeper; nothing here needs another's state.
KEEPER = "13800000029"
WARN = "rgb(198, 40, 40)"  # --warn
GOOD = "rgb(6, 107, 52)"  # the payout's green


async def keeper_page(browser, pwa_server, lang: str):
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=lang)
    page = await context.new_page()
    await login(page, pwa_server.url, KEEPER)
    assert await page.evaluate("document.documentElement.lang") == lang
    return context, page


@pytest.mark.parametrize("lang", ["zh-CN", "ug"])
async def test_a_commission_above_the_sale_shows_no_payout_in_the_good_colour(
    browser, pwa_server, lang
):
    context, page = await keeper_page(browser, pwa_server, lang)
    try:
        await go(page, "record/sale", "form[data-form='sale.recorded']")
        await page.fill("[name=product]", "核桃")
        await page.fill("[name=quantity]", "10")
        await page.fill("[name=amount_fen]", "5")
        await page.fill("[name=commission_fen]", "60")
        line = page.locator("[data-payout]")
        await expect(line).to_be_visible()
        await expect(line).to_contain_text("55.00")
        # While the commission is above the sale the line warns; no minus sign, never green.
        assert await line.evaluate("el => getComputedStyle(el).color") == WARN
        assert not {"-", "\u2212"} & set(await line.inner_text())
        await page.click("form[data-form='sale.recorded'] button[type=submit]")
        await expect(page.locator("[data-field=commission_fen] .field-error")).not_to_be_empty()
        assert await line.evaluate("el => getComputedStyle(el).color") == WARN
        # A commission the sale covers: the payout, in green.
        await page.fill("[name=commission_fen]", "0.5")
        await expect(line).to_contain_text("4.50")
        assert await line.evaluate("el => getComputedStyle(el).color") == GOOD
    finally:
        await context.close()
