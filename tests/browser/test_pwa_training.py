"""The keeper signs a village session's trainees in on the phone (issue 15), offline: typed as a
scanner types (the household card's code, then Enter), kept in the outbox through a reload, synced
as `training.attended` once online, and counted by the county's training figures at the station."""

from __future__ import annotations

import datetime
import os

import pytest

from tests.browser.conftest import PHONE, SCREENSHOTS
from tests.browser.helpers import go, login, outbox, wait_outbox_empty
from tests.browser.test_counter_screens import shoot
from tests.browser.test_pwa_offline import controlled, launch_phone

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KEEPER = "13800000039"
STAFF = "13900000001"


async def test_a_keeper_signs_trainees_in_offline_and_the_county_counts_them(
    browser, pwa_server, api_as, tmp_path
):
    staff = api_as(STAFF)
    county = staff.user["county_id"]
    poor = next(h for h in staff.get(f"/api/v1/counties/{county}/households") if h["poverty"])
    station = staff.get(f"/api/v1/stations/{api_as(KEEPER).user['station_id']}")

    context = await launch_phone(browser, tmp_path / "phone")
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(f"{pwa_server.url}/app/")
    await page.wait_for_selector(".toast-shown:has-text('可离线使用')")
    await login(page, pwa_server.url, KEEPER)
    await controlled(page)
    await go(page, "record", ".tiles")
    await page.click("a.tile[href='#/training']")
    await page.wait_for_selector("form[data-form='training.attended']")

    await context.set_offline(True)
    await page.reload()  # offline: the service worker serves the app and the screen
    await page.wait_for_selector("form[data-form='training.attended']")
    await page.click("[data-action=training]")
    assert "请填写培训名称" in await page.inner_text("form[data-form='training.attended']")
    await page.click("[name=title]")
    await page.keyboard.type("直播带货入门", delay=8)
    await page.select_option("[name=kind]", "livestream")
    await page.click("[name=trainees]")
    await page.keyboard.type("张三 ", delay=8)
    await page.keyboard.type(poor["code"].lower(), delay=8)  # the card's code, as scanned
    await page.keyboard.press("Enter")
    await page.keyboard.type("李四", delay=8)
    await page.keyboard.press("Enter")
    # The card scanned again after 李四: the same person twice, one 人次 counted twice. Refused
    # on the phone, while the villagers are still there; nothing goes to the outbox.
    again = f"张三 {poor['code'].lower()}"
    await page.keyboard.type(again, delay=8)
    await page.keyboard.press("Enter")
    await page.click("[data-action=training]")
    form = page.locator("form[data-form='training.attended']")
    await form.locator("text=“张三”写了两次").wait_for()
    assert not [e for e in await outbox(page) if e["type"] == "training.attended"]
    await page.click("[name=trainees]")
    await page.keyboard.press("End")
    for _ in range(len(again) + 1):  # the line and its Enter
        await page.keyboard.press("Backspace")
    await page.click("[data-action=training]")
    await page.wait_for_selector(".tiles")  # back to the record menu
    (entry,) = [e for e in await outbox(page) if e["type"] == "training.attended"]
    assert entry["data"] == {
        "title": "直播带货入门",
        "kind": "livestream",
        "trainees": [{"name": "张三", "household_code": poor["code"]}, {"name": "李四"}],
    }
    await page.reload()  # still offline: the entry waits in the outbox
    await page.wait_for_selector(".tiles")
    assert entry["id"] in {e["id"] for e in await outbox(page)}

    await context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await wait_outbox_empty(page)
    await go(page, "history", ".screen")
    await context.close()

    year = datetime.date.fromisoformat(entry["local_date"]).year
    figures = staff.get(f"/api/v1/counties/{county}/trainings", year=str(year))
    session = next(s for s in figures["sessions"] if s["id"] == entry["id"])
    assert (session["title"], session["kind"], session["station_code"]) == (
        "直播带货入门", "livestream", station["code"]
    )  # fmt: skip
    assert session["township_id"] == station["township_id"]
    assert session["held_on"] == entry["local_date"]
    assert [(t["name"], t["poor"]) for t in session["trainees"]] == [
        ("张三", True),
        ("李四", False),
    ]


@pytest.mark.parametrize("lang,keeper", [("zh-CN", "13800000037"), ("ug", "13800000038")])
async def test_screenshots_of_the_sign_in_screen(browser, pwa_server, lang, keeper, tmp_path):
    """The village session's sign-in at 360 px, two trainees typed; written to
    docs/screenshots/<lang>-training.png when CUNZHAN_UPDATE_SCREENSHOTS=1. No untranslated key;
    Uyghur right to left."""
    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=lang)
    try:
        page = await context.new_page()
        await page.goto(f"{pwa_server.url}/app/")
        await page.wait_for_selector("form.login-form")
        await page.click(f".language-links button[lang='{lang}']")
        await page.wait_for_function("lang => document.documentElement.lang === lang", arg=lang)
        await login(page, pwa_server.url, keeper)
        await go(page, "training", "form[data-form='training.attended']")
        expected_dir = "rtl" if lang == "ug" else "ltr"
        assert await page.evaluate("document.documentElement.dir") == expected_dir
        await page.click("[name=title]")
        await page.keyboard.type("农产品网上销售", delay=8)
        await page.click("[name=trainees]")
        await page.keyboard.type("张三 QS-0001", delay=8)
        await page.keyboard.press("Enter")
        await page.keyboard.type("李四", delay=8)
        await shoot(page, folder, lang, "training", prefix="")
    finally:
        await context.close()
