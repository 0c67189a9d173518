"""The county hub's scanner page (`/county/hub`) at a desktop with a scanner gun: 15 parcels scanned
key by key (10 at 8 ms a key like a USB gun, 5 at 40 ms like a Bluetooth one) with the page
stalling 40–400 ms in the middle of bursts, a reload and a lost connection before the hand-over,
then "交接" and the server's delivery figures; screenshots in zh-CN and Uyghur
(docs/screenshots/county-hub-*.png when CUNZHAN_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid

import httpx
import pytest

from tests.browser.conftest import PASSWORD, SCREENSHOTS
from tests.browser.helpers import county_login, visible_keys, visual_text
from tests.browser.test_counter_scans import scan_with_stalls
from tests.support import received

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
HUB = "13900000002"  # the demo county's hub worker
STAFF = "13900000001"


def bearer(base: str, phone: str) -> dict:
    answer = httpx.post(f"{base}/api/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    answer.raise_for_status()
    return answer.json()


def station_figures(base: str, staff: dict, station_id: str) -> dict:
    county = staff["user"]["county_id"]
    answer = httpx.get(
        f"{base}/api/v1/counties/{county}/delivery",
        headers={"authorization": f"Bearer {staff['token']}"},
    )
    answer.raise_for_status()
    return next(row for row in answer.json()["stations"] if row["station_id"] == station_id)


async def log_in(page, base: str, lang: str = "zh-CN") -> None:
    await county_login(page, base, HUB, lang)
    await ready(page)


async def ready(page) -> None:
    """The page's script has read the rules and the stored list."""
    await page.wait_for_selector("form#hub-form[data-ready=true]")


async def listed(page) -> list[str]:
    return await page.locator("#hub-list li").evaluate_all(
        "items => items.map(li => li.dataset.trackingNo)"
    )


async def test_fifteen_stalled_scans_a_reload_a_lost_connection_and_the_hand_over(
    browser, pwa_server, tmp_path
):
    base = pwa_server.url
    staff = bearer(base, STAFF)
    station = bearer(base, "13800000005")["user"]["station_id"]
    before = station_figures(base, staff, station)
    rng = random.Random(16)
    numbers = [f"SF{rng.randrange(10**12, 10**13)}" for _ in range(10)] + [
        f"75{rng.randrange(10**12, 10**13)}" for _ in range(5)
    ]
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await log_in(page, base)
    assert page.url.endswith("/county/hub")
    await page.select_option("#hub-station", station)
    assert await page.evaluate("document.activeElement.id") == "hub-scan"

    async def scan(number: str, delay_ms: int) -> None:
        await scan_with_stalls(page, number, delay_ms, rng)

    for index, number in enumerate(numbers):
        if index == 7:
            # Mid-way the page is reloaded: the list, and the chosen station, are still there.
            await page.reload()
            await ready(page)
            assert await page.input_value("#hub-station") == station
            assert await listed(page) == numbers[:7]
        await scan(number, 8 if index < 10 else 40)
        assert (await listed(page))[-1] == number
        assert await page.input_value("#hub-scan") == ""
    assert await listed(page) == numbers  # every number whole, each once, in order
    assert "15 件" in await page.inner_text("#hub-count")

    # A second scan of a parcel in the list, and a read that cannot be a tracking number.
    await scan(numbers[3], 8)
    message = page.locator("#hub-message")
    assert "已在清单中" in await message.inner_text()
    assert await message.get_attribute("role") == "alert"
    await scan("AB-12-C", 8)
    assert "不是快递单号" in await message.inner_text()
    assert await listed(page) == numbers

    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / "county-hub-zh-CN.png"), full_page=True)

    # The connection is lost as "交接" is pressed: nothing is handed over, nothing is lost.
    await context.set_offline(True)
    await page.click("#hub-submit", no_wait_after=True)
    await page.wait_for_timeout(500)
    await context.set_offline(False)
    assert station_figures(base, staff, station)["legs"] == before["legs"]
    await page.goto(f"{base}/county/hub")
    await ready(page)
    assert await listed(page) == numbers

    async with page.expect_navigation():
        await page.click("#hub-submit")
    await ready(page)
    result = await page.inner_text("[data-result]")
    assert "已将 15 件包裹交给" in result, result
    taken = await page.locator("[data-result] li").evaluate_all(
        "items => items.map(li => li.dataset.trackingNo)"
    )
    assert sorted(taken) == sorted(numbers)  # the server took each number whole
    assert await listed(page) == []  # cleared once the server answered
    assert "0 件" in await page.inner_text("#hub-count")
    after = station_figures(base, staff, station)
    assert after["legs"] == before["legs"] + 15
    assert after["pending"] == before["pending"] + 15
    # Each parcel is on its way to the village (the villagers' lookup says so).
    for number in (numbers[0], numbers[-1]):
        answer = httpx.get(f"{base}/api/v1/track", params={"tracking_no": number})
        assert answer.json()["status"] == "on_route"
    # A reload now shows an empty list: nothing is handed over twice.
    await page.goto(f"{base}/county/hub")
    await ready(page)
    assert await listed(page) == []
    await context.close()


async def carriers_listed(page, selector: str = "#hub-list li") -> list[tuple[str, str]]:
    """Each listed parcel's carrier: its code and the name the page shows."""
    pairs = await page.locator(selector).evaluate_all(
        "items => items.map(li => { const c = li.querySelector('.carrier');"
        " return [c.dataset.carrier, c.textContent]; })"
    )
    return [tuple(pair) for pair in pairs]


async def test_a_jd_package_pair_and_each_parcels_carrier(browser, pwa_server):
    """A JD number's two packages (JD…-1-2-, JD…-2-2-) are two parcels of the list, each shown
    as 京东 like the keeper's counter guesses it, beside a 顺丰 and a number no carrier's format
    fits (其他快递); the server's answer lists the same carriers."""
    base = pwa_server.url
    station = bearer(base, "13800000006")["user"]["station_id"]
    rng = random.Random(18)
    jd = f"JDVA{rng.randrange(10**10, 10**11)}"
    numbers = [f"{jd}-1-2-", f"{jd}-2-2-", f"SF{rng.randrange(10**12, 10**13)}", "AB12CD34"]
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await log_in(page, base)
    await page.select_option("#hub-station", station)
    for number in numbers:
        await scan_with_stalls(page, number, 8, rng)
    assert await listed(page) == numbers  # the second package is no duplicate of the first
    assert await carriers_listed(page) == [
        ("JD", "京东"), ("JD", "京东"), ("SF", "顺丰"), ("OTHER", "其他快递")
    ]  # fmt: skip
    # The same package scanned again is a duplicate.
    await scan_with_stalls(page, f"{jd}-2-2-", 8, rng)
    assert "已在清单中" in await page.inner_text("#hub-message")
    assert len(await listed(page)) == 4
    async with page.expect_navigation():
        await page.click("#hub-submit")
    await ready(page)
    assert "已将 4 件包裹交给" in await page.inner_text("[data-result]")
    handed = await carriers_listed(page, "[data-result] li")
    assert sorted(handed) == sorted(
        [("JD", "京东"), ("JD", "京东"), ("SF", "顺丰"), ("OTHER", "其他快递")]
    )
    await context.close()


async def test_the_page_in_uyghur(browser, pwa_server, tmp_path):
    base = pwa_server.url
    context = await browser.new_context(viewport=DESKTOP, locale="ug")
    page = await context.new_page()
    await log_in(page, base, "ug")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    rng = random.Random(17)
    for _ in range(4):
        await scan_with_stalls(page, f"YT{rng.randrange(10**12, 10**13)}", 8, rng)
    assert len(await listed(page)) == 4
    # Each parcel's carrier in Uyghur (圆通).
    assert await carriers_listed(page) == [("YTO", "يۈەنتۇڭ")] * 4
    assert await visible_keys(page) == []
    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / "county-hub-ug.png"), full_page=True)
    # On a phone, a long garbage scan is refused inside its red box (its text ran past it).
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.focus("#hub-scan")
    await page.keyboard.type("X" * 60, delay=8)
    await page.keyboard.press("Enter")
    box = page.locator("#hub-message.refused")
    await box.wait_for()
    assert await box.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await context.close()


async def test_the_length_rule_reads_8_to_30_in_uyghur(browser, pwa_server):
    """The refusal of a read that cannot be a tracking number says "8–30" characters: in the
    Uyghur page the range reads 8–30 on the screen, not 30–8 (the digits around the dash are
    isolated left to right), in the script's message and in the server's refusal (no script)."""
    base = pwa_server.url
    context = await browser.new_context(viewport=DESKTOP, locale="ug")
    page = await context.new_page()
    await log_in(page, base, "ug")
    await page.focus("#hub-scan")
    await page.keyboard.type("AB-12-C", delay=8)
    await page.keyboard.press("Enter")
    box = page.locator("#hub-message.refused")
    await box.wait_for()
    shown = await visual_text(box)
    assert "8–30" in shown and "30–8" not in shown, shown
    await context.close()

    # Without the script, the numbers typed into the box and refused by the server.
    context = await browser.new_context(viewport=DESKTOP, locale="ug", java_script_enabled=False)
    page = await context.new_page()
    await county_login(page, base, HUB, "ug")
    await page.focus("#hub-numbers")
    await page.keyboard.type("SF1234567890123\nAB-12-C", delay=8)
    async with page.expect_navigation():
        await page.click("#hub-submit")
    error = page.locator("[data-error]")
    shown = await visual_text(error)
    assert "8–30" in shown and "30–8" not in shown, shown
    await context.close()


async def test_scans_while_the_page_loads_on_a_slow_line_are_kept(browser, pwa_server):
    """On a slow line the page's script and the rules arrive 2.5 s after the page: the worker
    scans two parcels (8 ms a key, and 40 ms) the moment the page shows, one of them twice. The
    page's text box has the focus until the script is ready, so the gun types into it, and the
    script takes each whole line into the list: none lost, none twice."""
    base = pwa_server.url
    station = bearer(base, "13800000007")["user"]["station_id"]
    rng = random.Random(19)
    first, second = (f"SF{rng.randrange(10**12, 10**13)}" for _ in range(2))
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await log_in(page, base)
    await page.select_option("#hub-station", station)

    async def slowly(route):
        await asyncio.sleep(2.5)
        await route.continue_()

    await context.route("**/county/static/hub.js", slowly)
    await context.route("**/app/data/rules.json", slowly)
    await page.goto(f"{base}/county/hub", wait_until="commit")
    await page.wait_for_selector("#hub-numbers")
    await page.wait_for_timeout(200)
    assert await page.locator("form#hub-form[data-ready=true]").count() == 0  # not ready yet
    for number, delay in ((first, 8), (second, 40), (first, 8)):
        await page.keyboard.type(number, delay=delay)
        await page.keyboard.press("Enter")
    await ready(page)
    assert await listed(page) == [first, second]
    assert await page.evaluate("document.activeElement.id") == "hub-scan"
    # The list is the stored one: a reload keeps it.
    await context.unroute("**/county/static/hub.js")
    await context.unroute("**/app/data/rules.json")
    await page.reload()
    await ready(page)
    assert await listed(page) == [first, second]
    await context.close()


def full_width(text: str) -> str:
    """As a Chinese input method in full-width mode types it (Ｓ for S, １ for 1)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


async def test_a_label_read_full_width_or_with_a_stray_space(browser, pwa_server):
    """A gun behind a Chinese input method left in full-width mode types ＳＦ１２…, another
    label's read has a full-width space in it: the page lists each number as the waybill has
    it, knows the second read of one as a duplicate, and the server takes them as scanned; the
    page without its script (numbers typed into the box) takes them too."""
    base = pwa_server.url
    station = bearer(base, "13800000008")["user"]["station_id"]
    rng = random.Random(20)
    numbers = [f"SF{rng.randrange(10**12, 10**13)}" for _ in range(3)]
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await log_in(page, base)
    await page.select_option("#hub-station", station)
    reads = [full_width(numbers[0]), numbers[1][:6] + "\u3000" + numbers[1][6:], numbers[0]]
    for read in reads:
        await page.focus("#hub-scan")
        await page.keyboard.type(read, delay=8)
        await page.keyboard.press("Enter")
    assert "已在清单中" in await page.inner_text("#hub-message")
    assert [n.replace(" ", "") for n in await listed(page)] == numbers[:2]
    async with page.expect_navigation():
        await page.click("#hub-submit")
    await ready(page)
    taken = await page.locator("[data-result] li").evaluate_all(
        "items => items.map(li => li.dataset.trackingNo)"
    )
    assert sorted(taken) == sorted(numbers[:2])
    assert await listed(page) == []
    await context.close()

    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN", java_script_enabled=False)
    page = await context.new_page()
    await county_login(page, base, HUB)
    await page.select_option("#hub-station", station)
    await page.focus("#hub-numbers")
    await page.keyboard.type(full_width(numbers[2]), delay=8)
    async with page.expect_navigation():
        await page.click("#hub-submit")
    assert await page.locator("[data-error]").count() == 0
    taken = await page.locator("[data-result] li").evaluate_all(
        "items => items.map(li => li.dataset.trackingNo)"
    )
    assert taken == [numbers[2]]
    await context.close()


async def test_a_list_of_more_than_500_parcels_is_handed_over_whole(browser, pwa_server):
    """A route's list on a busy day (双十一) holds 501 parcels, one of them scanned twice under
    another spelling: "交接" hands all 501 over (the API takes 500 at a time; the page hands
    the list over in parts) and says so, and the list is empty; before, the page refused the
    whole list with "“快递单号”填写不正确" though every number was right. (The list is put in
    the browser's storage as 501 scans would leave it: typing them takes minutes.)"""
    base = pwa_server.url
    staff = bearer(base, STAFF)
    station = bearer(base, "13800000009")["user"]["station_id"]
    before = station_figures(base, staff, station)
    numbers = [f"SF7{index:012d}" for index in range(501)]
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await log_in(page, base)
    await page.select_option("#hub-station", station)
    county = await page.get_attribute("#hub-form", "data-county")
    await page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [f"cunzhan.hub.{county}.{station}", json.dumps(numbers)],
    )
    await page.reload()
    await ready(page)
    assert "501 件" in await page.inner_text("#hub-count")
    await page.keyboard.type("SF 7000000000499", delay=8)  # the 500th parcel again
    await page.keyboard.press("Enter")
    assert "已在清单中" in await page.inner_text("#hub-message")
    async with page.expect_navigation():
        await page.click("#hub-submit")
    await ready(page)
    assert await page.locator("[data-error]").count() == 0
    assert "已将 501 件包裹交给" in await page.inner_text("[data-result]")
    assert await page.locator("[data-result] li").count() == 501
    assert await listed(page) == []
    after = station_figures(base, staff, station)
    assert after["legs"] == before["legs"] + 501
    await context.close()


async def test_reloading_the_answer_hands_nothing_over_again(browser, pwa_server):
    """The answer to "交接" is the page the worker leaves open: when the station has received
    the parcel and the worker then reloads the page (F5, or the browser restoring the tab), the
    old list must not be posted again: that opened a second leg for a parcel already on the
    shelf, one that never closes and counts as late in the 48-hour figures."""
    base = pwa_server.url
    staff = bearer(base, STAFF)
    keeper = bearer(base, "13800000010")
    station = keeper["user"]["station_id"]
    number = f"SF{random.Random(21).randrange(10**12, 10**13)}"
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await log_in(page, base)
    await page.select_option("#hub-station", station)
    await page.keyboard.type(number, delay=8)
    await page.keyboard.press("Enter")
    async with page.expect_navigation():
        await page.click("#hub-submit")
    await ready(page)
    assert "已将 1 件包裹交给" in await page.inner_text("[data-result]")
    before = station_figures(base, staff, station)
    # The station receives it.
    answer = httpx.post(
        f"{base}/api/v1/sync",
        json={"device_id": str(uuid.uuid4()), "events": [received(number)]},
        headers={"authorization": f"Bearer {keeper['token']}"},
    )
    assert answer.json()["results"][0]["status"] == "accepted", answer.text
    methods = []
    page.on("request", lambda r: methods.append(r.method) if "/county/hub" in r.url else None)
    await page.reload()
    await ready(page)
    assert methods == ["GET"]
    after = station_figures(base, staff, station)
    assert after["legs"] == before["legs"]
    assert after["pending"] == before["pending"] - 1  # the leg closed, none opened
    await context.close()


async def test_the_answer_clears_the_list_though_the_rules_do_not_come(browser, pwa_server):
    """On a bad line the answer page comes but the rules file does not (the script cannot judge
    numbers): the parcels handed over still leave the list at once, and the page reloads as a
    GET; else the next visit showed them again, to be handed over a second time."""
    base = pwa_server.url
    station = bearer(base, "13800000011")["user"]["station_id"]
    rng = random.Random(22)
    numbers = [f"SF{rng.randrange(10**12, 10**13)}" for _ in range(2)]
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await log_in(page, base)
    await page.select_option("#hub-station", station)
    for number in numbers:
        await page.keyboard.type(number, delay=8)
        await page.keyboard.press("Enter")
    assert await listed(page) == numbers
    await context.route("**/app/data/rules.json", lambda route: route.abort())
    async with page.expect_navigation():
        await page.click("#hub-submit")
    await page.wait_for_selector("[data-result]")
    await page.wait_for_timeout(500)
    assert "已将 2 件包裹交给" in await page.inner_text("[data-result]")
    methods = []
    page.on("request", lambda r: methods.append(r.method) if "/county/hub" in r.url else None)
    await page.reload()
    assert methods == ["GET"]
    await context.unroute("**/app/data/rules.json")
    await page.goto(f"{base}/county/hub")
    await ready(page)
    assert await page.input_value("#hub-station") == station
    assert await listed(page) == []
    await context.close()
