"""The township information officer of 城关镇 (demo login 13900000003) at a desktop, in zh-CN and
Uyghur: from the township page to a station's page (its opening day saved, its file's form
there, no closing form) and to the township's households (registering one), every page in the
language, right-to-left in Uyghur, no untranslated key; screenshots as
docs/screenshots/county-{lang}-officer-*.png when CUNZHAN_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import datetime
import os

import httpx
import pytest

from tests.browser.conftest import PASSWORD, SCREENSHOTS
from tests.browser.helpers import county_login, visible_keys
from tests.server_process import Server, environment, run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OFFICER = "13900000003"
STAFF = "13900000001"


def set_township_targets(base: str) -> None:
    """The county sets two targets for the officer's township (城关镇), through the API."""
    login = {"password": PASSWORD}
    officer = httpx.post(f"{base}/api/v1/auth/login", json={**login, "phone": OFFICER}).json()
    staff = httpx.post(f"{base}/api/v1/auth/login", json={**login, "phone": STAFF}).json()
    answer = httpx.put(
        f"{base}/api/v1/townships/{officer['user']['township_id']}/targets",
        json={"targets": [{"name": "village_pct", "target": 1},
                          {"name": "online_retail_fen", "target": 10_000_000_000}]},
        headers={"authorization": f"Bearer {staff['token']}"},
    )  # fmt: skip
    answer.raise_for_status()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo county's registry, without history (the officer edits, nothing is counted)."""
    data_dir = tmp_path_factory.mktemp("officer-server")
    env = environment(data_dir, f"sqlite:///{data_dir}/county.db", CUNZHAN_DEMO_HISTORY_DAYS="0")
    run(env, "migrate", "--quiet")
    run(env, "demo", timeout=300)
    server = Server(env)
    server.start()
    yield server
    server.stop()


async def shown_right(page, lang: str, name: str) -> None:
    assert await page.evaluate("document.documentElement.lang") == lang
    expected_dir = "rtl" if lang == "ug" else "ltr"
    assert await page.evaluate("document.documentElement.dir") == expected_dir
    assert await visible_keys(page) == [], name


@pytest.mark.parametrize("lang", ["zh-CN", "ug"])
async def test_the_officer_edits_a_station_and_registers_a_household(browser, demo_server, lang):
    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else None
    base = demo_server.url
    set_township_targets(base)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale=lang)
    page = await context.new_page()
    await county_login(page, base, OFFICER, lang)
    await page.wait_for_selector("#township-stations")
    await shown_right(page, lang, "township")
    # The county's targets for the township, judged (the demo's 城关镇 has a 村级服务点; no
    # township sells 1 亿元 in a year); no form to change them.
    assert await page.get_attribute("[data-target=village_pct]", "data-met") == "yes"
    assert await page.get_attribute("[data-target=online_retail_fen]", "data-met") == "no"
    assert not await page.is_visible("form[data-form=township-targets]")
    if folder:
        path = folder / f"county-{lang}-officer-township.png"
        await page.screenshot(path=str(path), full_page=True)

    # A station of the township: its page has the opening day and the file, no closing form.
    async with page.expect_navigation():
        await page.click("[data-table=township-stations] a[data-link=station-edit] >> nth=0")
    await shown_right(page, lang, "station")
    assert await page.is_visible("form[data-form=station-file]")
    assert not await page.is_visible("form[data-form=close]")
    assert await page.locator("form[data-form=edit] [name=name]").count() == 0
    opened_on = (datetime.date.today() - datetime.timedelta(days=100)).isoformat()
    await page.fill("form[data-form=edit] [name=opened_on]", opened_on)
    async with page.expect_navigation():
        await page.click("form[data-form=edit] button[type=submit]")
    assert await page.is_visible("p.ok[role=status]")
    assert await page.input_value("form[data-form=edit] [name=opened_on]") == opened_on
    if folder:
        await page.screenshot(
            path=str(folder / f"county-{lang}-officer-station.png"), full_page=True
        )

    # The township's households: the village choices are the township's; register one.
    await page.goto(f"{base}/county/township")
    async with page.expect_navigation():
        await page.click("a[data-link=households]")
    await shown_right(page, lang, "households")
    villages = await page.locator(
        "form[data-form=create] [name=village_id] option"
    ).all_inner_texts()
    towns = {text.split(" · ")[0] for text in villages if " · " in text}
    assert len(towns) == 1, towns  # 城关镇's villages only
    code = f"OFFICER-{lang.upper()}"
    await page.select_option("form[data-form=create] [name=village_id]", index=1)
    await page.fill("form[data-form=create] [name=code]", code)
    async with page.expect_navigation():
        await page.click("form[data-form=create] button[type=submit]")
    assert await page.is_visible("p.ok[role=status]")
    await page.fill("form[data-form=search] [name=q]", code)
    async with page.expect_navigation():
        await page.click("form[data-form=search] button[type=submit]")
    assert code in await page.inner_text("[data-table=registry]")
    if folder:
        path = folder / f"county-{lang}-officer-households.png"
        await page.screenshot(path=str(path), full_page=True)
    await context.close()
