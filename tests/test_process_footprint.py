"""A `serve` process that takes the phones' entries and serves the county's pages does not carry
the Web Push stack (pywebpush with aiohttp and cryptography, ~33 MB), Pillow, or Piccolo's app
machinery with `black` (~8 MB): each is loaded by the process that first sends a push, checks a
subscription or takes a photo, or by `cunzhan migrate`.

Read from the process's own memory map (/proc/PID/maps), where the compiled parts of aiohttp,
cryptography, Pillow and black show once they are imported."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from tests.server_process import Server, environment, run
from tests.support import received

KEEPER = {"phone": "13800000001", "password": "demo1234"}
STAFF = {"phone": "13900000001", "password": "demo1234"}
LOADED_ONLY_WHEN_NEEDED = ("/aiohttp/", "/cryptography/", "/PIL/", "/black/")

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/PID/maps")


def mapped_packages(pid: int) -> set[str]:
    text = Path(f"/proc/{pid}/maps").read_text()
    return {package for package in LOADED_ONLY_WHEN_NEEDED if package in text}


def bearer(http: httpx.Client, server: Server, login: dict[str, str]) -> dict[str, str]:
    token = http.post(f"{server.url}/api/v1/auth/login", json=login).json()["token"]
    return {"authorization": f"Bearer {token}"}


@pytest.mark.slow
def test_taking_entries_and_serving_pages_loads_only_what_they_need(tmp_path, fresh_database_url):
    env = environment(tmp_path / "data", fresh_database_url)
    run(env, "migrate", "--quiet")
    run(env, "demo", "--if-empty")
    server = Server(env)
    server.start()
    try:
        with httpx.Client(timeout=30) as http:
            keeper = bearer(http, server, KEEPER)
            pushed = http.post(
                f"{server.url}/api/v1/sync",
                json={
                    "device_id": "0c0c0c0c-0000-4000-8000-000000000000",
                    "events": [received() for _ in range(20)],
                },
                headers=keeper,
            )
            assert pushed.status_code == 200, pushed.text
            staff = {**bearer(http, server, STAFF), "accept": "text/html"}
            for page in ("/county/", "/county/stations", "/county/coverage", "/county/scorecard"):
                answer = http.get(f"{server.url}{page}", headers=staff)
                assert answer.status_code == 200, (page, answer.status_code)
            assert server.process is not None
            assert mapped_packages(server.process.pid) == set()
            # The first push sent would load it; the public key a subscribing phone asks for
            # loads cryptography in that process, as it must.
            key = http.get(f"{server.url}/api/v1/push/key", headers=keeper)
            assert key.status_code == 200, key.text
            assert "/cryptography/" in mapped_packages(server.process.pid)
    finally:
        server.stop()
