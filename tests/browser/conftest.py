"""Browser tests: a real `cunzhan serve` process on a fresh SQLite database with the demo county,
and Debian's Chromium driven by Playwright at a phone's size (360×740)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.server_process import Server, environment, run

CHROMIUM = os.environ.get("CUNZHAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
PASSWORD = "demo1234"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def pwa_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("pwa-server")
    # Loopback is our own proxy here, so a test can look up from an address of its own
    # (X-Forwarded-For) and not spend the per-address limits the other tests share.
    env = environment(data_dir, f"sqlite:///{data_dir}/pwa.db", CUNZHAN_TRUSTED_PROXIES="127.0.0.1")
    run(env, "migrate", "--quiet")
    run(env, "demo")
    server = Server(env)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def browser():
    # The async API: the sync one would hold an event loop that pytest-asyncio needs too.
    from playwright.async_api import async_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.fixture
async def phone(browser):
    """A fresh phone: its own storage, 360×740, Chinese."""
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    yield context
    await context.close()


class Api:
    """The server as a test sees it: bearer-token calls as one keeper."""

    def __init__(self, base: str, phone_number: str):
        self.base = base
        answer = httpx.post(
            f"{base}/api/v1/auth/login", json={"phone": phone_number, "password": PASSWORD}
        )
        answer.raise_for_status()
        self.token = answer.json()["token"]
        self.user = answer.json()["user"]
        self.headers = {"authorization": f"Bearer {self.token}"}

    def events(self) -> list[dict]:
        events, cursor = [], ""
        while True:
            page = httpx.get(
                f"{self.base}/api/v1/sync", params={"since": cursor}, headers=self.headers
            ).json()
            events.extend(page["events"])
            cursor = page["cursor"]
            if not page["more"]:
                return events

    def get(self, path: str, **params) -> dict | list:
        answer = httpx.get(f"{self.base}{path}", params=params, headers=self.headers)
        answer.raise_for_status()
        return answer.json()


@pytest.fixture
def api_as(pwa_server):
    return lambda phone_number: Api(pwa_server.url, phone_number)
