"""Upward reporting against a provincial receiver on loopback: a 500 is retried after its back-off,
the day is then sent once and never again, the signature verifies, every attempt is logged."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from backend.county.reporting import send_daily_reports
from backend.settings import Settings
from tests.support import event, push
from tests.test_county_pages import html_as

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
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def reporting_to(app, url: str, secret: str = SECRET) -> Settings:
    """The app's settings with the province's receiver configured."""
    return dataclasses.replace(app.state.settings, province_url=url, province_secret=secret)


def next_day_in_both_counties(
    now: datetime.datetime,
) -> tuple[datetime.datetime, datetime.datetime]:
    """The first and last minute when the day after `now` has begun in both test counties
    (Shanghai and Urumqi) and not yet ended in either: a test that moves the clock on by
    minutes or hours stays inside it whatever the time of day it runs (at 21:00 in Shanghai,
    `now + 1 day + 3 h` is already the day after tomorrow there)."""
    zones = [ZoneInfo("Asia/Shanghai"), ZoneInfo("Asia/Urumqi")]

    def next_midnight(moment: datetime.datetime, zone: ZoneInfo) -> datetime.datetime:
        day = moment.astimezone(zone).date() + datetime.timedelta(days=1)
        return datetime.datetime.combine(day, datetime.time(), tzinfo=zone)

    begun = max(next_midnight(now, zone) for zone in zones)
    ends = min(next_midnight(now, zone) + datetime.timedelta(days=1) for zone in zones)
    return begun + datetime.timedelta(minutes=1), ends - datetime.timedelta(minutes=1)


def _verifies(request: dict) -> bool:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    material = headers["x-cunzhan-timestamp"].encode() + b"." + request["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), material, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-cunzhan-signature"])


async def test_a_day_is_retried_after_a_500_then_sent_once(app, client, world, receiver):
    settings = reporting_to(app, receiver.url)
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
    now = datetime.datetime.now(datetime.UTC)
    tomorrow, later = next_day_in_both_counties(now)

    assert await send_daily_reports(settings, tomorrow) == 0
    assert len(receiver.requests) == 2  # one per county, both answered 500
    assert await send_daily_reports(settings, tomorrow + datetime.timedelta(seconds=30)) == 0
    assert len(receiver.requests) == 2  # still backing off

    assert await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=2)) == 2
    assert len(receiver.requests) == 4
    assert await send_daily_reports(settings, later) == 0
    assert len(receiver.requests) == 4  # sent days are never sent again

    assert all(_verifies(request) for request in receiver.requests)
    ours = [r for r in receiver.requests if r["headers"]["Idempotency-Key"].startswith("TEST:")]
    assert len(ours) == 2 and ours[0]["body"] == ours[1]["body"]  # the same bytes retried
    body = json.loads(ours[1]["body"])
    today = now.astimezone(ZoneInfo("Asia/Shanghai"))
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


def sale_of(amount_fen: int) -> dict:
    return event(
        "sale.recorded",
        {"product": "红枣", "quantity": 1, "unit": "kg", "amount_fen": amount_fen,
         "commission_fen": 0, "channel": "抖音"},
    )  # fmt: skip


async def test_a_day_whose_figures_change_after_it_was_sent_goes_again_as_revision_2(
    app, client, world, receiver
):
    """A keeper's entry of a reported day syncs late: the province gets the day again, same
    Idempotency-Key, `revision` 2, the new figures; the other county's day is not re-sent."""
    settings = reporting_to(app, receiver.url)
    await push(client, world.keeper_a, [sale_of(25000)])
    now = datetime.datetime.now(datetime.UTC)
    tomorrow, later = next_day_in_both_counties(now)
    await send_daily_reports(settings, tomorrow)
    assert await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=2)) == 2
    first = [r for r in receiver.requests if r["headers"]["Idempotency-Key"].startswith("TEST:")]
    assert json.loads(first[-1]["body"])["revision"] == 1

    await push(client, world.keeper_a, [sale_of(1500)])  # entered yesterday, synced today
    assert await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=3)) == 1
    again = receiver.requests[-1]
    assert again["headers"]["Idempotency-Key"] == first[-1]["headers"]["Idempotency-Key"]
    body = json.loads(again["body"])
    assert body["revision"] == 2 and body["figures"]["farm_retail_fen"] == 26500
    assert _verifies(again)
    assert await send_daily_reports(settings, later) == 0  # nothing changed since
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/province-reports", headers=world.staff.headers
    )
    [report] = response.json()
    assert report["revision"] == 2 and report["state"] == "sent"
    assert report["figures_sent"]["farm_retail_fen"] == 26500


async def test_every_finished_day_from_the_programme_start_is_reported(
    app, client, world, receiver
):
    start = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date() - datetime.timedelta(days=9)
    answer = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"programme_start": start.isoformat()},
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    tomorrow, _ = next_day_in_both_counties(datetime.datetime.now(datetime.UTC))
    await send_daily_reports(reporting_to(app, receiver.url), tomorrow)
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    ours = sorted(key.removeprefix("TEST:") for key in keys if key.startswith("TEST:"))
    assert ours[0] == start.isoformat() and len(ours) == 10  # the start day to the county's today


async def test_an_unreachable_province_is_logged_and_retried(app, client, world):
    settings = reporting_to(app, "http://127.0.0.1:9/unreachable")
    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert await send_daily_reports(settings, tomorrow) == 0
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/province-reports", headers=world.staff.headers
    )
    report = response.json()[0]
    assert report["state"] == "failed" and report["attempts"] == 1
    assert report["log"][0]["status"] is None and "Connect" in report["log"][0]["error"]
    due = datetime.datetime.fromisoformat(report["next_attempt_at"])
    assert due >= tomorrow + datetime.timedelta(seconds=59)


async def test_nothing_is_sent_without_a_province_url(app, client, world):
    assert await send_daily_reports(reporting_to(app, "")) == 0
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/province-reports", headers=world.staff.headers
    )
    assert response.json() == []


async def test_nothing_is_sent_unsigned(app, client, world, receiver):
    settings = reporting_to(app, receiver.url, secret="")
    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert await send_daily_reports(settings, tomorrow) == 0
    assert receiver.requests == []


def _shanghai_day(days_ago: int) -> datetime.date:
    return datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date() - datetime.timedelta(
        days=days_ago
    )


async def _reported_days(app, client, world, receiver) -> tuple[Settings, datetime.datetime]:
    """The programme started two days ago; today a sale of 250.00 (its commission 10.00); each
    finished day from the start is sent (revision 1)."""
    answer = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"programme_start": _shanghai_day(2).isoformat()},
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    sale = sale_of(25000)
    sale["data"]["commission_fen"] = 1000
    await push(client, world.keeper_a, [sale, event("checkin.recorded", {})])
    settings = reporting_to(app, receiver.url)
    tomorrow, _ = next_day_in_both_counties(datetime.datetime.now(datetime.UTC))
    await send_daily_reports(settings, tomorrow)
    assert await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=2)) == 4
    return settings, tomorrow


async def _report_log(client, world) -> dict[str, dict]:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/province-reports", headers=world.staff.headers
    )
    assert response.status_code == 200
    return {report["day"]: report for report in response.json()}


async def test_a_back_dated_entry_revises_its_business_day_not_the_day_it_synced(
    app, client, world, receiver
):
    """An entry made two days ago on the phone (occurred_at) syncs today, after every day was
    sent: the day it happened goes again as revision 2; today, the day it synced, is untouched."""
    settings, tomorrow = await _reported_days(app, client, world, receiver)
    first = _shanghai_day(2)
    late = sale_of(1500)
    late["occurred_at"] = datetime.datetime.combine(
        first, datetime.time(10), tzinfo=ZoneInfo("Asia/Shanghai")
    ).isoformat()
    assert (await push(client, world.keeper_a, [late]))[0]["status"] == "accepted"
    assert await send_daily_reports(settings, tomorrow + datetime.timedelta(minutes=3)) == 1
    again = receiver.requests[-1]
    assert again["headers"]["Idempotency-Key"] == f"TEST:{first}"
    body = json.loads(again["body"])
    assert body["day"] == first.isoformat() and body["revision"] == 2
    assert body["figures"]["retail_fen"] == 1500
    log = await _report_log(client, world)
    assert log[first.isoformat()]["revision"] == 2
    assert log[first.isoformat()]["figures_sent"]["retail_fen"] == 1500
    today = _shanghai_day(0).isoformat()
    assert log[today]["revision"] == 1 and log[today]["figures_sent"]["retail_fen"] == 25000
    assert log[_shanghai_day(1).isoformat()]["figures_sent"]["retail_fen"] == 0


async def test_the_reports_page_shows_every_figure_sent_when_reporting_is_on(
    app, client, world, receiver, monkeypatch
):
    settings, _ = await _reported_days(app, client, world, receiver)
    monkeypatch.setattr(app.state, "settings", settings)  # the province configured
    page = await client.get("/county/reports?lang=zh-CN", headers=html_as(world.staff))
    assert page.status_code == 200, page.text
    assert 'data-reporting="off"' not in page.text
    today = _shanghai_day(0).isoformat()
    row = page.text.split(f'<tr data-day="{today}">')[1].split("</tr>")[0]
    sent = dict(re.findall(r'<div data-figure="(\w+)"><dt>.*?</dt><dd>(.*?)</dd></div>', row, re.S))
    body = json.loads(
        next(r for r in receiver.requests if r["headers"]["Idempotency-Key"] == f"TEST:{today}")[
            "body"
        ]
    )
    assert set(sent) == set(body["figures"])  # each figure the day's body carried
    assert sent["retail_fen"] == sent["farm_retail_fen"] == "250.00 元"
    assert sent["income_fen"] == "10.00 元"
    assert re.sub(r"<[^>]+>", "", sent["sales"]) == "1"
    assert re.sub(r"<[^>]+>", "", sent["checkins"]) == "1"
    assert "网络零售额 250.00 元" in row  # the line shown folded
    monkeypatch.undo()  # reporting off again: the page says so
    off = await client.get("/county/reports?lang=zh-CN", headers=html_as(world.staff))
    assert 'data-reporting="off"' in off.text
