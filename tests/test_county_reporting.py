"""Upward reporting against a provincial receiver on loopback: a 500 is retried after its back-off,
the day is then sent once and never again, the signature verifies, every attempt is logged."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.county.reporting import send_daily_reports
from backend.settings import get_settings
from tests.support import event, push

SECRET = "province-shared-secret"


class Receiver:
    """Answers 500 to the first delivery of each idempotency key, 200 afterwards."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.seen: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                key = self.headers["idempotency-key"]
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = 200 if key in receiver.seen else 500
                receiver.seen.add(key)
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cunzhan/daily"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def fresh_settings():
    """The settings are read once per process: these tests change them."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def receiver(monkeypatch):
    running = Receiver()
    monkeypatch.setenv("CUNZHAN_PROVINCE_URL", running.url)
    monkeypatch.setenv("CUNZHAN_PROVINCE_SECRET", SECRET)
    get_settings.cache_clear()
    yield running
    running.close()


def _verifies(request: dict) -> bool:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    material = headers["x-cunzhan-timestamp"].encode() + b"." + request["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), material, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-cunzhan-signature"])


async def test_a_day_is_retried_after_a_500_then_sent_once(client, world, receiver):
    sale = event(
        "sale.recorded",
        {
            "product": "红枣",
            "quantity": 5,
            "unit": "kg",
            "amount_fen": 25000,
            "commission_fen": 1000,
            "channel": "抖音",
        },
    )
    await push(client, world.keeper_a, [sale, event("checkin.recorded", {})])
    # Tomorrow the counties' "today" (both created today) is a finished day.
    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)

    assert await send_daily_reports(tomorrow) == 0
    assert len(receiver.requests) == 2  # one per county, both answered 500
    assert await send_daily_reports(tomorrow + datetime.timedelta(seconds=30)) == 0
    assert len(receiver.requests) == 2  # still backing off

    assert await send_daily_reports(tomorrow + datetime.timedelta(minutes=2)) == 2
    assert len(receiver.requests) == 4
    # Past the next back-off a failed day would be due again; a sent one is never sent again.
    # (Minutes, not hours: hours from now may end another day in Shanghai or Urumqi, whose new
    # report would be a fifth request.)
    assert await send_daily_reports(tomorrow + datetime.timedelta(minutes=10)) == 0
    assert len(receiver.requests) == 4

    assert all(_verifies(request) for request in receiver.requests)
    ours = [r for r in receiver.requests if r["headers"]["Idempotency-Key"].startswith("TEST:")]
    assert len(ours) == 2 and ours[0]["body"] == ours[1]["body"]  # the same bytes retried
    body = json.loads(ours[1]["body"])
    today = (tomorrow - datetime.timedelta(days=1)).astimezone(
        datetime.timezone(datetime.timedelta(hours=8))
    )
    assert ours[1]["headers"]["Idempotency-Key"] == f"TEST:{today.date()}"
    assert body["county_code"] == "TEST" and body["day"] == today.date().isoformat()
    assert body["figures"]["farm_retail_fen"] == 25000
    assert body["figures"]["checkins"] == 1
    assert body["stations_active"] == 1

    response = await client.get(
        f"/api/v1/counties/{world.county_id}/province-reports", headers=world.staff.headers
    )
    assert response.status_code == 200
    reports = response.json()
    assert len(reports) == 1
    report = reports[0]
    assert report["state"] == "sent" and report["attempts"] == 2 and report["sent_at"]
    assert [attempt["status"] for attempt in report["log"]] == [500, 200]
    assert report["log"][0]["error"] == "HTTP 500"


async def test_an_unreachable_province_is_logged_and_retried(client, world, monkeypatch):
    monkeypatch.setenv("CUNZHAN_PROVINCE_URL", "http://127.0.0.1:9/unreachable")
    monkeypatch.setenv("CUNZHAN_PROVINCE_SECRET", SECRET)
    get_settings.cache_clear()
    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert await send_daily_reports(tomorrow) == 0
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/province-reports", headers=world.staff.headers
    )
    report = response.json()[0]
    assert report["state"] == "failed" and report["attempts"] == 1
    assert report["log"][0]["status"] is None and "Connect" in report["log"][0]["error"]
    due = datetime.datetime.fromisoformat(report["next_attempt_at"])
    assert due >= tomorrow + datetime.timedelta(seconds=59)


async def test_nothing_is_sent_without_a_province_url(client, world, monkeypatch):
    monkeypatch.setenv("CUNZHAN_PROVINCE_URL", "")
    get_settings.cache_clear()
    assert await send_daily_reports() == 0
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/province-reports", headers=world.staff.headers
    )
    assert response.json() == []


async def test_nothing_is_sent_unsigned(client, world, receiver, monkeypatch):
    monkeypatch.setenv("CUNZHAN_PROVINCE_SECRET", "")
    get_settings.cache_clear()
    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert await send_daily_reports(tomorrow) == 0
    assert receiver.requests == []
