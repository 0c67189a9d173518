"""A first visit over village 3G (issue #18): the page alone draws the login screen.

The page carries the login screen's code and the keeper's strings (backend/shell/assets.py), so
nothing after it is needed before the keeper can type: here every module and catalog URL is
refused once the page has arrived, and the login screen must still show, translated, in Chinese
and in right-to-left Uyghur."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import PHONE
from tests.server_process import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def catalog(lang: str) -> dict[str, str]:
    return json.loads((REPO / "pwa" / "locales" / f"{lang}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("locale", "lang", "direction"), [("zh-CN", "zh-CN", "ltr"), ("ug", "ug", "rtl")]
)
async def test_the_login_screen_draws_from_the_page_alone(
    browser, pwa_server, locale, lang, direction
):
    # No service worker: what the page needs, it must carry (the worker would fetch the rest).
    context = await browser.new_context(viewport=PHONE, locale=locale, service_workers="block")
    refused: list[str] = []

    async def refuse(route):
        refused.append(route.request.url)
        await route.abort()

    await context.route("**/app/v/*/js/**", refuse)
    await context.route("**/app/v/*/locales/**", refuse)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{pwa_server.url}/app/")
    await page.wait_for_selector("form.login-form")
    strings = catalog(lang)
    assert await page.inner_text("form.login-form button[type=submit]") == strings["login.submit"]
    assert await page.inner_text(".login-tagline") == strings["login.tagline"]
    assert await page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
        lang,
        direction,
    ]
    # Typing a wrong phone number is answered on the spot, in the keeper's language.
    await page.fill("form.login-form [name=phone]", "123")
    await page.click("form.login-form button[type=submit]")
    await page.wait_for_selector("[name=phone][aria-invalid=true]")
    assert strings["error.phone"] in await page.inner_text("form.login-form")
    assert refused == [] and errors == []
    await context.close()


async def test_the_language_chosen_on_the_phone_comes_with_the_next_page(browser, pwa_server):
    """The keeper picks Uyghur on a Chinese phone: the next page the server sends is Uyghur's."""
    context = await browser.new_context(viewport=PHONE, locale="zh-CN", service_workers="block")
    page = await context.new_page()
    await page.goto(f"{pwa_server.url}/app/")
    await page.wait_for_selector("form.login-form")
    carried = "document.getElementById('cz-catalog').getAttribute('data-lang')"
    assert await page.evaluate(carried) == "zh-CN"
    await page.click(".language-links button[lang='ug']")
    await page.wait_for_function("() => document.documentElement.dir === 'rtl'")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    await page.reload()
    await page.wait_for_selector("form.login-form")
    assert await page.evaluate(carried) == "ug"
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    assert not [url for url in fetched if "/locales/" in url or "/js/" in url]
    await context.close()
