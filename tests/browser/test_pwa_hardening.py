"""Issue #11 in the keeper's app: a session that is not the keeper's never gets the outbox."""

from __future__ import annotations

import pytest

from tests.browser.helpers import login, outbox, record_received, wait_outbox_empty

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_another_accounts_session_logs_out_and_keeps_the_outbox(phone, pwa_server, api_as):
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000013")
    await phone.set_offline(True)
    await record_received(page, "YT4444555566667", "13922224444", carrier="YTO")
    # Login CSRF: another site logged this browser into the attacker's account.
    attacker = api_as("13800000014")
    await phone.add_cookies(
        [{"name": "cz_session", "value": attacker.token, "url": pwa_server.url}]
    )
    await phone.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await page.wait_for_selector("[data-banner=login]")
    assert [e["status"] for e in await outbox(page)] == ["pending"]
    # The app logged the planted session out; the attacker's station got nothing.
    stolen = [e for e in api_as("13800000014").events() if e["type"] == "parcel.received"]
    assert not any(e["data"].get("tracking_no") == "YT4444555566667" for e in stolen)

    await page.click("[data-banner=login]")
    await page.wait_for_selector(".login .notice")
    await page.fill("form.login-form [name=password]", "demo1234")
    await page.click("form.login-form button[type=submit]")
    await page.wait_for_selector(".home")
    await wait_outbox_empty(page)
    keeper = api_as("13800000013")
    received = [e for e in keeper.events() if e["type"] == "parcel.received"]
    assert "YT4444555566667" in [e["data"]["tracking_no"] for e in received]
