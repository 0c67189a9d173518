"""货架与价格 (#/counter-setup, issue 12) in Chromium at 360 px: from 我的 the keeper sets up the
shelf (shelves, layers, the names used), the opening hours and the station's own 代发 prices,
typing on the keyboard (a decimal comma too); a refused input saves nothing; the server's state is
checked through the API afterwards. Screenshots in zh-CN and ug."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.browser.conftest import PHONE, SCREENSHOTS, Api
from tests.browser.helpers import go, login, visible_keys

pytestmark = [pytest.mark.browser]

# Keepers no other browser test uses: their stations' shelves and prices are theirs to change.
KEEPER_ZH = "13800000027"
KEEPER_UG = "13800000028"


def put(api: Api, path: str, body: dict) -> dict:
    answer = httpx.put(f"{api.base}{path}", json=body, headers=api.headers)
    answer.raise_for_status()
    return answer.json()


def restore(api: Api, shelf: dict) -> None:
    """Leave the station as the demo made it, for whichever test comes next."""
    station = f"/api/v1/stations/{api.user['station_id']}"
    put(api, f"{station}/shelf", shelf)
    put(api, f"{station}/prices", {"prices": {}})


async def retype(page, selector: str, text: str) -> None:
    await page.click(selector)
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Backspace")
    if text:
        await page.keyboard.type(text, delay=20)


async def open_setup(page) -> None:
    await go(page, "me", ".me")
    await page.click("[data-link=counter-setup]")
    await page.wait_for_selector("form[data-form=prices]")


async def test_the_keeper_sets_up_shelf_hours_and_own_prices(phone, pwa_server):
    api = Api(pwa_server.url, KEEPER_ZH)
    station = f"/api/v1/stations/{api.user['station_id']}"
    original = api.get(f"{station}/shelf")
    base = api.get(f"{station}/prices")["base"]
    page = await phone.new_page()
    try:
        await login(page, pwa_server.url, KEEPER_ZH)
        await open_setup(page)
        assert await page.evaluate("location.hash") == "#/counter-setup"
        assert await page.get_attribute("[data-tab=me]", "aria-current") == "page"

        # Three shelves of five layers; one name per shelf appears as the count is typed.
        await retype(page, "input[name=shelves]", "3")
        await retype(page, "input[name=layers]", "5")
        assert await page.locator("[data-shelf-names] input").count() == 3
        await retype(page, "input[name=shelf_name_0]", "A")
        await retype(page, "input[name=shelf_name_1]", "A")
        await retype(page, "input[name=opening_hours]", "8:00-19:30")
        # The same name twice is refused before anything is sent.
        await page.click("[data-action=save-shelf]")
        await page.wait_for_selector("[data-error-for=shelf_names]:not(:empty)")
        assert api.get(f"{station}/shelf") == original
        await retype(page, "input[name=shelf_name_1]", "冷柜")
        await page.click("[data-action=save-shelf]")
        await page.wait_for_selector(".toast-shown")
        assert api.get(f"{station}/shelf") == {
            "shelves": 3,
            "layers": 5,
            "shelf_names": ["A", "冷柜", "3"],
            "opening_hours": "8:00-19:30",
        }

        # 顺丰's own prices: 16 and 22,5 元 typed; the other bands keep the county's fee.
        await page.click("details[data-carrier=SF] summary")
        await retype(page, "input[name=fee_SF_1000]", "16")
        await retype(page, "input[name=fee_SF_3000]", "22,5")
        # 1,250 is ambiguous (¥1,250 or ¥1.25?): refused next to the cell, nothing saved.
        await page.click("details[data-carrier=ZTO] summary")
        await retype(page, "input[name=fee_ZTO_1000]", "1,250")
        await page.click("[data-action=save-prices]")
        await page.wait_for_selector("input[name=fee_ZTO_1000][aria-invalid=true]")
        assert await page.locator("[data-form=prices] .field-error:not(:empty)").count() == 1
        assert api.get(f"{station}/prices")["station"] == {}
        await retype(page, "input[name=fee_ZTO_1000]", "8,5")
        await page.click("[data-action=save-prices]")
        await page.wait_for_selector("[data-price-state=ZTO].setup-state-own")

        own = api.get(f"{station}/prices")
        assert own["station"] == {
            "SF": [[1000, 1600], [3000, 2250], *base["SF"][2:]],
            "ZTO": [[1000, 850], *base["ZTO"][1:]],
        }
        assert own["prices"]["YTO"] == base["YTO"]  # untouched carriers follow the county

        # Opened again: the saved values are there, in 元.
        await go(page, "home", ".home")
        await open_setup(page)
        assert await page.input_value("input[name=shelves]") == "3"
        assert await page.input_value("input[name=shelf_name_1]") == "冷柜"
        assert await page.input_value("input[name=fee_SF_3000]") == "22.50"
        assert await page.input_value("input[name=fee_YTO_1000]") == ""

        # Back to the county's prices with one tap.
        await page.click("[data-action=reset-prices]")
        await page.wait_for_selector("[data-price-state=SF]:not(.setup-state-own)")
        assert api.get(f"{station}/prices")["station"] == {}
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        restore(api, original)


@pytest.mark.parametrize("lang,keeper", [("zh-CN", KEEPER_ZH), ("ug", KEEPER_UG)])
async def test_screenshots_of_the_setup_screen(browser, pwa_server, lang, keeper, tmp_path):
    """Written to docs/screenshots/ when CUNZHAN_UPDATE_SCREENSHOTS=1. No untranslated key;
    Uyghur is right-to-left with the weights and fees left to right."""
    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    api = Api(pwa_server.url, keeper)
    station = f"/api/v1/stations/{api.user['station_id']}"
    original = api.get(f"{station}/shelf")
    put(api, f"{station}/shelf", {**original, "shelves": 4, "shelf_names": ["A", "B", "冷柜"],
                                  "opening_hours": "8:00-20:00"})  # fmt: skip
    put(api, f"{station}/prices", {"prices": {"SF": [[1000, 1600], [3000, 2250]]}})
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=lang)
    try:
        page = await context.new_page()
        await page.goto(f"{pwa_server.url}/app/")
        await page.wait_for_selector("form.login-form")
        await page.click(f".language-links button[lang='{lang}']")
        await page.wait_for_function("lang => document.documentElement.lang === lang", arg=lang)
        await login(page, pwa_server.url, keeper)
        await open_setup(page)
        await page.click("details[data-carrier=ZTO] summary")
        await retype(page, "input[name=fee_ZTO_1000]", "1,250")
        await page.click("[data-action=save-prices]")
        await page.wait_for_selector("input[name=fee_ZTO_1000][aria-invalid=true]")
        if lang == "ug":
            assert await page.evaluate("document.documentElement.dir") == "rtl"
            # The fee reads left to right: "22.50" begins at its left edge.
            assert (
                await page.evaluate(
                    """() => { const e = document.querySelector('input[name=fee_SF_3000]');
                     return getComputedStyle(e).direction; }"""
                )
                == "ltr"
            )
            label = await page.inner_text("details[data-carrier=SF] .setup-band-weight")
            assert "\u20661\u2069" in label, label  # the weight isolated inside Uyghur text
        await page.wait_for_selector(".toast-shown", state="detached")
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.evaluate("window.scrollTo(0, 0)")  # the fixed bar at the top of the picture
        assert await visible_keys(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await page.screenshot(path=str(folder / f"{lang}-counter-setup.png"), full_page=True)
    finally:
        await context.close()
        restore(api, original)
