"""Reminders in the PWA: inbox banners until read, push permission asked only after an
explanation, a push message shown by the service worker with the app's icon, and Background Sync
pushing the outbox while no page is open.

The inbox is answered at the browser (Playwright routes, shapes from the contract: this is the
PWA's side); the push endpoints too until the server has them. The push
service itself (FCM) is out of reach of a test browser, so `pushManager.subscribe` is replaced by
one returning a fixed subscription."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.helpers import go, login, outbox, record_received, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def server_has(base: str, path: str) -> bool:
    schema = httpx.get(f"{base}/schema/openapi.json").json()
    return path in schema["paths"]


async def test_inbox_items_show_as_banners_until_read(phone, pwa_server):
    items = [
        {
            "id": "n1",
            "kind": "notice",
            "title": "县中心通知",
            "body": "周五下午停电，请提前充值",
            "created_at": "2026-11-20T09:00:00+08:00",
            "read_at": None,
            "url": "/app/#/checkin",
        },
        {
            "id": "n2",
            "kind": "reminder",
            "title": "本周还没打卡",
            "body": "",
            "created_at": "2026-11-20T09:00:00+08:00",
            "read_at": "2026-11-20T10:00:00+08:00",
            "url": None,
        },
    ]
    read = []

    async def inbox(route):
        await route.fulfill(json={"items": items})

    async def mark_read(route):
        read.append(route.request.url.rsplit("/", 2)[-2])
        items[0]["read_at"] = "2026-11-21T08:00:00+08:00"
        await route.fulfill(status=200, json={"status": "read"})

    await phone.route("**/api/v1/inbox", inbox)
    await phone.route("**/api/v1/inbox/*/read", mark_read)
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000014")
    await page.wait_for_selector("[data-inbox=n1]")
    assert "周五下午停电" in await page.inner_text("[data-inbox=n1]")
    await expect(page.locator("[data-inbox=n2]")).to_have_count(0)  # already read

    await page.click("[data-inbox=n1]")
    await page.wait_for_selector("form.checkin-form")  # the notice's own screen

    async def marked():
        return read == ["n1"]

    await wait_until(marked, message="the notice marked read")
    await go(page, "home", ".home")
    await expect(page.locator("[data-inbox=n1]")).to_have_count(0)


FAKE_SUBSCRIPTION = """
  PushManager.prototype.getSubscription = function () {
    return Promise.resolve(window.__sub || null);
  };
  PushManager.prototype.subscribe = function (options) {
    window.__subscribeKeyLength = new Uint8Array(options.applicationServerKey).length;
    window.__sub = {
      endpoint: "https://push.example/send/abc",
      toJSON() {
        return {
          endpoint: this.endpoint,
          expirationTime: null,
          keys: {
            // a real P-256 point: the server checks it
            p256dh: "BBqDf6GfrKUvYccjupV0cvFloKBl5f1uagJaNjWYSk7d9NAxF31qUMD78tPM" +
              "RijsAPJZ6EV0gE5PGipj8P9DHP8",
            auth: "tBHItJI5svbpez7KI4CCXg",
          },
        };
      },
    };
    return Promise.resolve(window.__sub);
  };
"""
# An uncompressed P-256 point, URL-safe base64 (65 bytes): what GET /api/v1/push/key gives.
PUBLIC_KEY = (
    "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U"
)


async def test_push_permission_is_asked_only_after_an_explanation(phone, pwa_server):
    posted = []

    async def subscriptions(route):
        posted.append(route.request.post_data_json)
        await route.fulfill(status=201, json={"status": "subscribed"})

    if not server_has(pwa_server.url, "/api/v1/push/key"):

        async def key(route):
            await route.fulfill(json={"public_key": PUBLIC_KEY})

        await phone.route("**/api/v1/push/key", key)
    # push.example resolves nowhere, so the server would refuse it (non-public endpoint, 422):
    # this test is about the keeper's flow; tests/test_push_roundtrip.py covers the server.
    await phone.route("**/api/v1/push/subscriptions", subscriptions)
    await phone.add_init_script(FAKE_SUBSCRIPTION)
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000015")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await go(page, "me", "[data-action=push]")
    await page.click("[data-action=push]")
    await page.wait_for_selector(".sheet [data-action=push-enable]")
    # The explanation is on screen and the browser has asked nothing yet.
    assert await page.evaluate("Notification.permission") == "default"
    assert "打卡" in await page.inner_text(".sheet")

    await phone.grant_permissions(["notifications"])  # the keeper answers "Allow"
    await page.click("[data-action=push-enable]")
    await page.wait_for_selector(".toast-shown:has-text('消息提醒已开启')")
    assert await page.evaluate("window.__subscribeKeyLength") == 65
    if posted:
        body = posted[0]
        assert body["endpoint"] == "https://push.example/send/abc"
        assert set(body["keys"]) == {"p256dh", "auth"}
        assert len(body["device_id"]) == 36


async def cdp_registration(page, scope_suffix: str = "/app/"):
    """A DevTools session and the service worker registration's id (for push and sync events)."""
    session = await page.context.new_cdp_session(page)
    registrations = []
    session.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    await session.send("ServiceWorker.enable")

    async def found():
        return any(r["scopeURL"].endswith(scope_suffix) for r in registrations)

    await wait_until(found, message="the service worker registration")
    registration = next(r for r in registrations if r["scopeURL"].endswith(scope_suffix))
    return session, registration["registrationId"]


async def test_a_push_message_is_shown_with_the_app_icon_and_its_route(phone, pwa_server):
    await phone.grant_permissions(["notifications"])
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000016")
    # Deliver only to an activated worker: a push that reaches a worker still activating can be
    # dropped by DevTools (seen once in CI on a loaded machine).
    await page.wait_for_function("(navigator.serviceWorker.controller || {}).state === 'activated'")
    session, registration_id = await cdp_registration(page)
    payload = {
        "title": "打卡提醒",
        "body": "本周还没有打卡",
        "url": "/app/#/checkin",
        "tag": "checkin",
    }
    shown = []
    delivered_at = 0.0

    async def notification_shown():
        nonlocal delivered_at
        shown[:] = await page.evaluate(
            """navigator.serviceWorker.ready
                 .then(r => r.getNotifications())
                 .then(list => list.map(n => (
                   {title: n.title, body: n.body, icon: n.icon, tag: n.tag, data: n.data})))"""
        )
        if not shown and time.monotonic() - delivered_at > 5:
            # DevTools' delivery is the push service here, and like one it is tried again;
            # the tag makes a second delivery replace the first notification, not add one.
            delivered_at = time.monotonic()
            await session.send(
                "ServiceWorker.deliverPushMessage",
                {
                    "origin": pwa_server.url,
                    "registrationId": registration_id,
                    "data": json.dumps(payload, ensure_ascii=False),
                },
            )
        return bool(shown)

    await wait_until(notification_shown, timeout=30, message="the notification")
    (notification,) = shown
    assert (notification["title"], notification["body"], notification["tag"]) == (
        "打卡提醒",
        "本周还没有打卡",
        "checkin",
    )
    assert notification["icon"].endswith("/icons/icon-192.png")
    assert notification["data"]["url"] == "/app/#/checkin"


async def test_background_sync_pushes_the_outbox_while_no_page_is_open(phone, pwa_server, api_as):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000017")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await phone.set_offline(True)
    await record_received(page, "SF3333444455556", "13644445555", carrier="SF")
    (entry,) = await outbox(page)

    # The app is closed before the network comes back; only a page of another origin stays
    # open (it holds the DevTools session that fires the sync event).
    blank = await phone.new_page()
    session, registration_id = await cdp_registration(blank)
    await page.close()

    async def stored():
        return any(e["id"] == entry["id"] for e in api_as("13800000017").events())

    assert not await stored()
    await phone.set_offline(False)
    # Chromium fires the registered sync itself when the network returns; if it has not within
    # a few seconds, fire it as DevTools can. Either way the worker pushes: no app page is open.
    try:
        await wait_until(stored, timeout=5, message="the browser's own sync event")
    except AssertionError:
        await session.send(
            "ServiceWorker.dispatchSyncEvent",
            {
                "origin": pwa_server.url,
                "registrationId": registration_id,
                "tag": "cunzhan-outbox",
                "lastChance": False,
            },
        )
        await wait_until(stored, message="the service worker's push")
    # The app, opened again, finishes the bookkeeping: nothing waits, nothing is sent twice.
    page = await phone.new_page()
    await page.goto(f"{pwa_server.url}/app/")
    await page.wait_for_selector(".home [data-sync=ok]")

    async def outbox_empty():
        return await outbox(page) == []

    # The worker may still be writing its acknowledgement as the app opens; it then tells the app.
    await wait_until(outbox_empty, timeout=10, message="the app to take the pushed entry")
    await go(page, "pickup", "[data-parcel='SF3333444455556']")  # in the local ledger now
    stored_ids = [e["id"] for e in api_as("13800000017").events()]
    assert stored_ids.count(entry["id"]) == 1
    await blank.close()
