"""The real server's inbox in the real PWA: a notice staff send over the API shows on the keeper's
home as a banner (the PWA's own inbox contract, no stubs), and tapping it marks it read."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.browser.conftest import Api
from tests.browser.helpers import login, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]
KEEPER = "13800000036"
STAFF = "13900000001"


async def test_a_notice_from_the_county_is_a_banner_until_the_keeper_taps_it(phone, pwa_server):
    keeper, staff = Api(pwa_server.url, KEEPER), Api(pwa_server.url, STAFF)
    title = f"停水通知{uuid.uuid4().hex[:4]}"
    response = httpx.post(
        f"{pwa_server.url}/api/v1/counties/{staff.user['county_id']}/notices",
        json={
            "scope": "station",
            "target_id": keeper.user["station_id"],
            "title": title,
            "body": "明天上午停水，请提前储水。",
        },
        headers=staff.headers,
    )
    assert response.status_code == 201, response.text
    [item] = [i for i in keeper.get("/api/v1/inbox")["items"] if i["title"] == title]

    page = await phone.new_page()
    await login(page, pwa_server.url, KEEPER)
    banner = f"[data-inbox='{item['id']}']"
    await page.wait_for_selector(banner)
    assert "明天上午停水" in await page.inner_text(banner)
    await page.click(banner)

    async def read():
        [now] = [i for i in keeper.get("/api/v1/inbox")["items"] if i["id"] == item["id"]]
        return now["read_at"] is not None

    await wait_until(read, message="the notice marked read on the server")
