"""Offline first, exactly once: entries made offline survive a reload and a browser restart and
reach the server once; a lost answer is resent and stored once; an ended session keeps the
outbox; two phones of one station agree; an app update waits for the keeper and loses nothing."""

from __future__ import annotations

import shutil

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.browser.helpers import (
    go,
    login,
    meta,
    outbox,
    record_received,
    submit,
    wait_outbox_empty,
    wait_until,
)
from tests.server_process import REPO, Server, environment, run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def launch_phone(browser, profile):
    """A phone whose storage (IndexedDB, service worker, cookies) lives in `profile` on disk."""
    return await browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        viewport=PHONE,
        device_scale_factor=2,
        locale="zh-CN",
    )


async def controlled(page) -> None:
    """Wait until the service worker has precached the shell and controls the page."""
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.wait_for_function("navigator.serviceWorker.controller !== null")


async def test_offline_entries_survive_reload_and_restart_then_reach_the_server_once(
    browser, pwa_server, api_as, tmp_path
):
    profile = tmp_path / "phone"
    context = await launch_phone(browser, profile)
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(f"{pwa_server.url}/app/")
    await page.wait_for_selector(".toast-shown:has-text('可离线使用')")
    await login(page, pwa_server.url, "13800000004")
    await controlled(page)

    await context.set_offline(True)
    await record_received(page, "SF1111222233334", "13511112222", carrier="SF")
    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.fill("[name=product]", "土鸡蛋")
    await page.fill("[name=quantity]", "30")
    await page.fill("[name=amount_fen]", "45")
    await submit(page, "sale.recorded")
    await go(page, "checkin", "form.checkin-form")
    await page.click("[data-action=checkin]")
    await page.wait_for_selector(".home")
    made = {e["id"] for e in await outbox(page)}
    assert len(made) == 3
    assert await meta(page, "persist_asked") is True  # persistent storage asked after a save

    await page.reload()  # offline: the service worker serves the app
    await page.wait_for_selector(".home [data-sync=pending]")
    assert "3" in await page.inner_text(".home [data-sync=pending]")
    assert await page.locator("[data-todo=checkin]").count() == 0  # the offline check-in counts
    await context.close()  # the browser is killed; only what is on disk remains

    context = await launch_phone(browser, profile)
    await context.set_offline(True)
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(f"{pwa_server.url}/app/")
    await page.wait_for_selector(".home [data-sync=pending]")
    await go(page, "pickup", "[data-parcel='SF1111222233334']")
    assert {e["id"] for e in await outbox(page)} == made
    assert not made & {e["id"] for e in api_as("13800000004").events()}  # nothing sent yet

    await context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await wait_outbox_empty(page)
    await go(page, "home", ".home [data-sync=ok]")
    await context.close()

    stored = [e["id"] for e in api_as("13800000004").events() if e["id"] in made]
    assert sorted(stored) == sorted(made)  # each once


async def test_a_lost_answer_is_sent_again_and_stored_once(phone, pwa_server, api_as):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000013")
    lost = []

    async def lose_the_answer(route):
        # The server gets the batch and stores it; the answer never reaches the phone.
        await route.fetch()
        lost.append(route.request.post_data_json)
        await route.abort("connectionreset")

    await page.route("**/api/v1/sync", lose_the_answer)
    await go(page, "record/service", "form[data-form='service.recorded']")
    await page.fill("[name=amount_fen]", "100")
    await submit(page, "service.recorded")

    async def answer_lost():
        return any(batch and batch["events"] for batch in lost)

    await wait_until(answer_lost, message="a push whose answer was lost")
    (entry,) = await outbox(page)
    assert entry["status"] == "pending"  # no acknowledgement: it stays
    await page.unroute("**/api/v1/sync")
    await go(page, "home", "[data-action=sync-now]")
    await page.click("[data-action=sync-now]")
    await wait_outbox_empty(page)
    services = [e for e in api_as("13800000013").events() if e["type"] == "service.recorded"]
    assert [e["id"] for e in services] == [entry["id"]]


async def test_an_ended_session_asks_to_log_in_again_and_keeps_the_outbox(
    phone, pwa_server, api_as
):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000011")
    await phone.set_offline(True)
    await record_received(page, "YT5555666677778", "13922223333", carrier="YTO")
    # The session ends on the server (expired, or revoked from another device).
    cookie = next(c for c in await phone.cookies() if c["name"] == "cz_session")
    api = api_as("13800000011")
    httpx.post(
        f"{pwa_server.url}/api/v1/auth/logout",
        headers={"authorization": f"Bearer {cookie['value']}"},
    ).raise_for_status()

    await phone.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await page.wait_for_selector("[data-banner=login]")
    assert [e["status"] for e in await outbox(page)] == ["pending"]

    await page.click("[data-banner=login]")
    await page.wait_for_selector(".login .notice")  # "your entries are kept"
    await page.fill("form.login-form [name=password]", "demo1234")
    await page.click("form.login-form button[type=submit]")
    await page.wait_for_selector(".home")
    await wait_outbox_empty(page)
    received = [e for e in api.events() if e["type"] == "parcel.received"]
    assert [e["data"]["tracking_no"] for e in received] == ["YT5555666677778"]


async def test_two_phones_of_one_station_agree(browser, pwa_server):
    phones = [
        await browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
        for _ in range(2)
    ]
    try:
        first, second = [await p.new_page() for p in phones]
        for page in (first, second):
            await login(page, pwa_server.url, "13800000010")
        code = await record_received(first, "JT9999888877776", "13855556666", carrier="JT")
        await wait_outbox_empty(first)

        await go(second, "home", "[data-action=sync-now]")
        await second.click("[data-action=sync-now]")
        await go(second, "pickup", ".pickup-list")
        await second.wait_for_selector("[data-parcel='JT9999888877776']")
        text = await second.inner_text("[data-parcel='JT9999888877776']")
        assert code in text
        assert "138****6666" in text  # the other phone's copy comes masked
        await second.click("[data-parcel='JT9999888877776']")
        await second.click("[data-action=hand-over]")
        await wait_outbox_empty(second)

        await go(first, "home", "[data-action=sync-now]")
        await first.click("[data-action=sync-now]")
        await go(first, "pickup", ".pickup-list")
        await expect(first.locator("[data-parcel='JT9999888877776']")).to_have_count(0)
    finally:
        for context in phones:
            await context.close()


@pytest.fixture
def own_shell_server(tmp_path):
    """A server of its own, serving a copy of the PWA that the test may change (a deploy)."""
    shell = tmp_path / "pwa"
    shutil.copytree(REPO / "pwa", shell)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = environment(data_dir, f"sqlite:///{data_dir}/db.sqlite", CUNZHAN_PWA_DIR=str(shell))
    run(env, "migrate", "--quiet")
    run(env, "demo")
    server = Server(env)
    server.start()
    yield server, shell
    server.stop()


async def test_a_new_version_waits_for_the_keepers_tap_and_loses_nothing(
    browser, own_shell_server, tmp_path
):
    server, shell = own_shell_server
    context = await launch_phone(browser, tmp_path / "phone")
    page = context.pages[0] if context.pages else await context.new_page()
    await login(page, server.url, "13800000001")
    await controlled(page)
    old_version = await page.evaluate(
        "document.querySelector('link[rel=icon]').getAttribute('href')"
    )
    await context.set_offline(True)
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.fill("[name=tracking_no]", "75000000000001")
    await page.fill("[name=recipient_phone]", "13700000001")
    await submit(page, "parcel.received")
    await context.set_offline(False)

    # A deploy: one file of the shell changes, so every versioned URL and the worker change.
    with (shell / "app.css").open("a") as css:
        css.write("\n/* deployed again */\n")
    await page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    await page.wait_for_selector("[data-banner=update]", timeout=20000)
    # Nothing happens by itself: the keeper may be typing.
    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.fill("[name=product]", "板栗")
    await page.wait_for_timeout(500)
    assert await page.input_value("[name=product]") == "板栗"

    await page.click("[data-banner=update]")
    await page.wait_for_function(
        "old => document.querySelector('link[rel=icon]').getAttribute('href') !== old",
        arg=old_version,
        timeout=20000,
    )
    await page.wait_for_selector("#screen")
    await wait_outbox_empty(page)  # the entry made before the update was not lost
    await context.close()


async def test_a_pickup_code_taken_meanwhile_by_another_phone_is_changed_and_said(
    browser, pwa_server, api_as
):
    phones = [
        await browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
        for _ in range(2)
    ]
    try:
        first, second = [await p.new_page() for p in phones]
        for page in (first, second):
            await login(page, pwa_server.url, "13800000023")
            await page.context.set_offline(True)
        # Offline, both phones propose the same code (same slot, same last four digits).
        code_first = await record_received(first, "75000000001111", "13700001111")
        code_second = await record_received(second, "76000000001111", "13700002222")
        assert code_first == code_second

        await phones[0].set_offline(False)
        await first.evaluate("window.dispatchEvent(new Event('online'))")
        await wait_outbox_empty(first)
        await phones[1].set_offline(False)
        await second.evaluate("window.dispatchEvent(new Event('online'))")
        toast = await second.wait_for_selector(".toast-shown:has-text('76000000001111')")
        await wait_outbox_empty(second)
        shelf = api_as("13800000023").get(
            f"/api/v1/stations/{api_as('13800000023').user['station_id']}/parcels"
        )
        codes = {p["tracking_no"]: p["pickup_code"] for p in shelf}
        assert codes["75000000001111"] == code_first
        assert codes["76000000001111"] != code_first
        assert codes["76000000001111"] in await toast.inner_text()
        await go(second, "pickup", "[data-parcel='76000000001111']")
        assert codes["76000000001111"] in await second.inner_text("[data-parcel='76000000001111']")
    finally:
        for context in phones:
            await context.close()


async def test_a_conflict_is_shown_never_resent_and_can_be_discarded(phone, pwa_server, api_as):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000024")
    await phone.set_offline(True)
    await go(page, "record/service", "form[data-form='service.recorded']")
    await page.fill("[name=amount_fen]", "20")
    await submit(page, "service.recorded")
    (entry,) = await outbox(page)
    # Another client already stored this id with other content.
    api = api_as("13800000024")
    other = dict(entry["data"], amount_fen=9900)
    answer = httpx.post(
        f"{pwa_server.url}/api/v1/sync",
        headers=api.headers,
        json={
            "device_id": "00000000-0000-4000-8000-000000000001",
            "events": [
                {"id": entry["id"], "type": entry["type"], "occurred_at": entry["occurred_at"],
                 "data": other}
            ],
        },
    )  # fmt: skip
    assert answer.json()["results"][0]["status"] == "accepted"

    await phone.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await go(page, "home", ".home [data-problem]")
    assert [e["status"] for e in await outbox(page)] == ["conflict"]
    pushes = []
    page.on("request", lambda r: pushes.append(r) if r.method == "POST" else None)
    await page.click("[data-action=sync-now]")
    await page.wait_for_timeout(1000)
    assert not [r for r in pushes if r.url.endswith("/api/v1/sync")]  # never sent again

    await page.click(".home [data-problem]")
    await page.click("[data-action=discard]")
    await page.click("[data-action=confirm]")
    await expect(page.locator(".home [data-problem]")).to_have_count(0)
    assert await outbox(page) == []
    stored = [e for e in api.events() if e["id"] == entry["id"]]
    assert [e["data"]["amount_fen"] for e in stored] == [9900]  # the original stays
