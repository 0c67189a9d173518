"""Languages: Uyghur turns the whole app right-to-left with translated labels and the server's
messages in Uyghur; no screen shows an untranslated key. Screenshots of every screen in zh-CN and
ug go to docs/screenshots/ (the README links them)."""

from __future__ import annotations

import json
import os
import time

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE, SCREENSHOTS
from tests.browser.helpers import (
    go,
    login,
    record_received,
    submit,
    visible_keys,
    wait_until,
)
from tests.server_process import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CATALOGS = {
    lang: json.loads((REPO / "pwa" / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
    for lang in ("zh-CN", "ug", "en")
}


async def choose_language(page, lang: str) -> None:
    await page.click(f".language-links button[lang='{lang}']")
    await page.wait_for_function("lang => document.documentElement.lang === lang", arg=lang)


async def quiet(page) -> None:
    """No toast on the picture, fonts loaded."""
    await page.wait_for_selector(".toast-shown", state="detached")
    await page.evaluate("document.fonts.ready.then(() => true)")


async def shoot(page, folder, lang: str, name: str) -> None:
    await quiet(page)
    assert await visible_keys(page) == [], name
    await page.screenshot(path=str(folder / f"{lang}-{name}.png"))


async def test_uyghur_is_right_to_left_translated_and_mirrored(phone, pwa_server, api_as):
    ug = CATALOGS["ug"]
    page = await phone.new_page()
    await page.goto(f"{pwa_server.url}/app/")
    await page.wait_for_selector("form.login-form")
    await choose_language(page, "ug")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    assert await page.inner_text("form.login-form button[type=submit]") == ug["login.submit"]
    await login(page, pwa_server.url, "13800000008")
    assert await page.evaluate("document.documentElement.dir") == "rtl"  # kept after login

    async def server_knows():  # so reminders sent to this keeper come in Uyghur
        return api_as("13800000008").get("/api/v1/auth/me")["language"] == "ug"

    await wait_until(server_knows, message="the server to know the keeper's language")

    labels = await page.locator(".tab-label").all_inner_texts()
    assert labels == [ug["tab.home"], ug["tab.record"], ug["tab.history"], ug["tab.me"]]
    tabs = page.locator(".tab")
    first, last = await tabs.nth(0).bounding_box(), await tabs.nth(3).bounding_box()
    assert first["x"] > last["x"]  # the first tab sits on the right

    await go(page, "record/received", "form[data-form='parcel.received']")
    back = await page.locator(".nav-back").bounding_box()
    assert back["x"] > PHONE["width"] / 2  # "back" points and sits on the right
    label = await page.inner_text(
        "label[for='" + await page.get_attribute("[name=tracking_no]", "id") + "']"
    )
    assert label == ug["field.tracking_no"]

    await go(page, "record/sale", "form[data-form='sale.recorded']")
    assert await page.input_value("[name=unit]") == ug["sale.unit_default"]
    await page.fill("[name=product]", "ياڭاق")
    await page.fill("[name=quantity]", "3")
    await page.fill("[name=amount_fen]", "45")
    await page.fill("[name=household_code]", "NOSUCH02")
    await submit(page, "sale.recorded")
    await go(page, "home", ".home [data-problem]")
    # The server's reason comes in Uyghur too (the app sends its language).
    assert "ئائىلە نومۇرى" in await page.inner_text(".home [data-problem]")

    for route, ready in [
        ("home", ".home"),
        ("record", ".tiles"),
        ("record/received", "form"),
        ("record/dispatched", "form"),
        ("record/ordered", "form"),
        ("record/delivered", "#screen"),
        ("record/sale", "form"),
        ("record/service", "form"),
        ("pickup", ".pickup-list"),
        ("history", ".history-list"),
        ("checkin", "form.checkin-form"),
        ("training", "form[data-form='training.attended']"),
        ("me", ".me"),
    ]:
        await go(page, route, ready)
        assert await visible_keys(page) == [], route
        assert await page.evaluate("document.documentElement.dir") == "rtl", route


async def walk_and_shoot(page, base: str, lang: str, keeper: str, folder) -> None:
    await page.goto(f"{base}/app/")
    await page.wait_for_selector("form.login-form")
    if lang != "zh-CN":
        await choose_language(page, lang)
    # A first visit's "可离线使用" comes once the service worker is ready, which is after the
    # login screen is drawn (and IndexedDB opened): the picture waits for it to come and go.
    await page.wait_for_function("() => document.getElementById('toast').textContent !== ''")
    await shoot(page, folder, lang, "login")
    await login(page, base, keeper)
    await record_received(
        page, "731234500001", "13911110001", "张三" if lang == "zh-CN" else "ئەخمەت"
    )
    await record_received(page, "SF1234500000002", "13911110002", carrier="SF")
    await record_received(page, "YT1234500000003", "13911110003", carrier="YTO")
    await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
    await page.fill("[name=tracking_no]", "78123450000004")
    await page.select_option("[name=carrier]", "ZTO")
    await page.fill("[name=weight_g]", "5")
    await page.fill("[name=fee_fen]", "8")
    await page.fill("[name=destination]", "乌鲁木齐" if lang == "zh-CN" else "ئۈرۈمچى")
    await page.check("[name=farm_product]")
    await submit(page, "parcel.dispatched")
    await go(page, "record/service", "form[data-form='service.recorded']")
    await page.fill("[name=amount_fen]", "50")
    await page.fill("[name=fee_fen]", "1")
    await submit(page, "service.recorded")
    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.fill("[name=product]", "核桃" if lang == "zh-CN" else "ياڭاق")
    await page.fill("[name=quantity]", "10")
    await page.fill("[name=amount_fen]", "150")
    await page.fill("[name=commission_fen]", "6")
    await page.fill("[name=household_code]", "NOSUCH09")
    await submit(page, "sale.recorded")
    await go(page, "home", ".home [data-problem]")
    await shoot(page, folder, lang, "home")

    await go(page, "record", ".tiles")
    await shoot(page, folder, lang, "record")
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.fill("[name=tracking_no]", "SF12345678")
    await page.click("form[data-form='parcel.received'] button[type=submit]")
    await expect(page.locator(".confirm-row")).to_be_visible()
    await shoot(page, folder, lang, "record-received")
    await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
    await shoot(page, folder, lang, "record-dispatched")
    await go(page, "record/service", "form[data-form='service.recorded']")
    await shoot(page, folder, lang, "record-service")

    await go(page, "pickup", ".pickup-list [data-parcel]")
    await shoot(page, folder, lang, "pickup")
    await page.click("[data-parcel='731234500001']")
    await page.wait_for_selector(".sheet [data-action=hand-over]")
    await shoot(page, folder, lang, "pickup-confirm")
    await page.click(".sheet-close")

    await go(page, "history", ".history-list [data-status=rejected]")
    await shoot(page, folder, lang, "history")
    await page.click(".history-list [data-status=rejected]")
    await page.wait_for_selector(".sheet [data-action=fix]")
    await shoot(page, folder, lang, "history-rejected")
    await page.click(".sheet-close")

    await go(page, "checkin", "form.checkin-form")
    await shoot(page, folder, lang, "checkin")
    await go(page, "training", "form[data-form='training.attended']")
    await page.click("[data-action=training]")  # refused: the title's message shows
    await shoot(page, folder, lang, "training")
    await go(page, "me", ".me")
    await shoot(page, folder, lang, "me")
    await page.click("[data-action=push]")
    await page.wait_for_selector(".sheet [data-action=push-enable]")
    await shoot(page, folder, lang, "push-explained")
    await page.click(".sheet-close")

    await page.context.set_offline(True)
    await record_received(page, "731234500005", "13911110005")
    await go(page, "home", ".home [data-sync=pending]")
    await shoot(page, folder, lang, "home-offline")
    await page.context.set_offline(False)


@pytest.mark.parametrize("lang,keeper", [("zh-CN", "13800000001"), ("ug", "13800000002")])
async def test_screenshots_of_every_screen(browser, pwa_server, lang, keeper, tmp_path):
    """Every screen shown, none with an untranslated key. The pictures go to docs/screenshots/
    when CUNZHAN_UPDATE_SCREENSHOTS=1 (so an ordinary test run leaves the checkout alone)."""
    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=lang)
    try:
        page = await context.new_page()
        started = time.time()
        await walk_and_shoot(page, pwa_server.url, lang, keeper, folder)
        # Counted by time: docs/screenshots also holds the counter's pictures (zh-CN-batch.png …).
        shot = [path for path in folder.glob(f"{lang}-*.png") if path.stat().st_mtime >= started]
        assert len(shot) == 15
    finally:
        await context.close()
