"""Web Push for real: the test is the browser (own P-256 key pair and auth secret) and the push
service (an HTTP server on loopback); the server encrypts with pywebpush and signs a VAPID JWT.
Also: subscriptions (validation, upsert, delete), 404/410 → deleted, 429/5xx → kept, backed off
and retried, and idempotence of a dedupe key."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid

import pytest

from backend import db
from backend.i18n import translate
from backend.notify import service
from tests.push_fakes import FakeBrowser, LoopbackServer, Plan, b64url_decode, verify_vapid

WEEK = "2026-11-30"


@pytest.fixture
def push_service(monkeypatch):
    monkeypatch.setenv("CUNZHAN_PUSH_ALLOW_HTTP", "1")  # the loopback push service is plain http
    with LoopbackServer() as server:
        yield server


async def subscribe(client, actor, browser: FakeBrowser, device_id: str | None = None):
    response = await client.post(
        "/api/v1/push/subscriptions", json=browser.subscription(device_id), headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def remind(settings, user_id, dedupe_key: str = "checkin:test:1") -> bool:
    return await service.notify_user(
        settings,
        user_id,
        kind="checkin",
        title_key="notify.checkin.title",
        body_key="notify.checkin.body",
        params={"week": WEEK},
        url="/app/#/checkin",
        dedupe_key=dedupe_key,
    )


async def subscription_row(endpoint: str) -> dict | None:
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT failures, next_attempt_at, last_success_at FROM notify_push_subscription "
            "WHERE endpoint = $1",
            endpoint,
        )
    return rows[0] if rows else None


async def deliveries_of(client, world, channel: str = "push") -> list[dict]:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/deliveries", headers=world.staff.headers
    )
    assert response.status_code == 200, response.text
    return [row for row in response.json() if row["channel"] == channel]


async def test_push_round_trip_encrypted_signed_in_the_keepers_language(
    app, client, world, push_service
):
    response = await client.post(
        "/api/v1/auth/language", json={"language": "ug"}, headers=world.keeper_a.headers
    )
    assert response.status_code < 300, response.text
    browser = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, browser, device_id=str(uuid.uuid4()))
    key = (await client.get("/api/v1/push/key", headers=world.keeper_a.headers)).json()
    assert len(b64url_decode(key["public_key"])) == 65  # an uncompressed P-256 point

    assert await remind(app.state.settings, world.keeper_a.id) is True

    [request] = push_service.to(browser.path)
    payload = browser.decrypt(request)
    assert payload == {
        "title": translate("notify.checkin.title", "ug"),
        "body": translate("notify.checkin.body", "ug", week=WEEK),
        "url": "/app/#/checkin",
        "tag": "checkin:test:1",
    }
    assert payload["title"] != translate("notify.checkin.title", "zh-CN")  # really Uyghur

    claims, signer = verify_vapid(request.headers["authorization"])
    assert signer == key["public_key"]
    assert claims["aud"] == push_service.url  # the push service's origin
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert claims["sub"].startswith(("mailto:", "https:"))
    assert int(request.headers["ttl"]) >= 3600  # a sleeping phone still gets it
    assert request.headers["urgency"] == "high"

    [logged] = await deliveries_of(client, world)
    assert (logged["status"], logged["http_status"]) == ("delivered", 201)
    assert (await subscription_row(browser.endpoint))["last_success_at"] is not None


async def test_every_subscription_of_the_keeper_gets_it(app, client, world, push_service):
    phone, tablet = FakeBrowser(push_service.url), FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, phone)
    await subscribe(client, world.keeper_a, tablet)
    other = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_b, other)
    await remind(app.state.settings, world.keeper_a.id)
    assert len(push_service.to(phone.path)) == 1
    assert len(push_service.to(tablet.path)) == 1
    assert push_service.to(other.path) == []


@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_subscription_is_deleted(app, client, world, push_service, status):
    browser = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, browser)
    push_service.plan(browser.path, Plan(status))
    await remind(app.state.settings, world.keeper_a.id)
    assert await subscription_row(browser.endpoint) is None
    [logged] = await deliveries_of(client, world)
    assert (logged["status"], logged["http_status"]) == ("gone", status)
    await remind(app.state.settings, world.keeper_a.id, dedupe_key="checkin:test:2")
    assert len(push_service.to(browser.path)) == 1  # never called again


async def _make_due(endpoint: str) -> None:
    """The back-off has run out (the clock moves on instead of the test sleeping)."""
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    async with db.write_transaction():
        await db.execute(
            "UPDATE notify_push_subscription SET next_attempt_at = $1 WHERE endpoint = $2",
            past,
            endpoint,
        )


@pytest.mark.parametrize("status", [429, 503])
async def test_throttled_or_failing_push_is_kept_backed_off_and_retried(
    app, client, world, push_service, status
):
    browser = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, browser)
    push_service.plan(browser.path, Plan(status, {"Retry-After": "120"}))
    before = datetime.datetime.now(datetime.UTC)
    await remind(app.state.settings, world.keeper_a.id)

    row = await subscription_row(browser.endpoint)
    assert row is not None and row["failures"] == 1  # kept
    wait = db_moment(row["next_attempt_at"]) - before
    assert datetime.timedelta(seconds=119) <= wait <= datetime.timedelta(seconds=200)
    [logged] = await deliveries_of(client, world)
    assert (logged["status"], logged["http_status"]) == ("failed", status)

    assert await service.retry_due(app.state.settings) == 0  # still backing off: nothing sent
    assert len(push_service.to(browser.path)) == 1

    await _make_due(browser.endpoint)
    assert await service.retry_due(app.state.settings) == 1
    assert len(push_service.to(browser.path)) == 2
    statuses = [row["status"] for row in await deliveries_of(client, world)]
    assert sorted(statuses) == ["delivered", "failed"]
    row = await subscription_row(browser.endpoint)
    assert row["failures"] == 0 and row["next_attempt_at"] is None
    assert await service.retry_due(app.state.settings) == 0  # delivered: nothing owed any more


async def test_back_off_grows_with_each_failure(app, client, world, push_service):
    browser = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, browser)
    push_service.plan(browser.path, Plan(500), Plan(500), Plan(500))
    waits = []
    for attempt in range(3):
        before = datetime.datetime.now(datetime.UTC)
        if attempt == 0:
            await remind(app.state.settings, world.keeper_a.id)
        else:
            await _make_due(browser.endpoint)
            await service.retry_due(app.state.settings)
        row = await subscription_row(browser.endpoint)
        assert row["failures"] == attempt + 1
        waits.append((db_moment(row["next_attempt_at"]) - before).total_seconds())
    assert waits[0] < waits[1] < waits[2]
    assert len(push_service.to(browser.path)) == 3


def db_moment(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromisoformat(str(value)).replace(tzinfo=datetime.UTC)


async def test_same_dedupe_key_twice_pushes_once_but_reaches_a_new_subscription(
    app, client, world, push_service
):
    first = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, first)
    assert await remind(app.state.settings, world.keeper_a.id) is True
    assert await remind(app.state.settings, world.keeper_a.id) is False
    assert len(push_service.requests) == 1
    inbox = (await client.get("/api/v1/inbox", headers=world.keeper_a.headers)).json()["items"]
    assert len(inbox) == 1

    second = FakeBrowser(push_service.url)  # a subscription added since
    await subscribe(client, world.keeper_a, second)
    assert await remind(app.state.settings, world.keeper_a.id) is True
    assert len(push_service.to(first.path)) == 1
    assert len(push_service.to(second.path)) == 1
    assert await remind(app.state.settings, world.keeper_a.id) is False
    assert len(push_service.requests) == 2


async def test_station_keepers_are_notified_once_per_key(app, client, world, push_service):
    browser = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, browser)
    message = {
        "kind": "parcel_overdue",
        "title_key": "notify.parcel_overdue.title",
        "body_key": "notify.parcel_overdue.body",
        "params": {"count": 3, "days": 7},
        "url": "/app/#/pickup",
        "dedupe_key": "overdue:test",
    }
    assert await service.notify_station_keepers(app.state.settings, world.station_a, **message) == 1
    assert await service.notify_station_keepers(app.state.settings, world.station_a, **message) == 0
    payload = browser.decrypt(push_service.to(browser.path)[0])
    assert payload["body"] == translate("notify.parcel_overdue.body", "zh-CN", count=3, days=7)


# Subscriptions ---------------------------------------------------------------------------------


async def test_subscribing_again_updates_the_same_endpoint(client, world, push_service):
    browser = FakeBrowser(push_service.url)
    first = await subscribe(client, world.keeper_a, browser, device_id="phone-1")
    again = await subscribe(client, world.keeper_a, browser, device_id="phone-1")
    assert first == again
    async with db.read_transaction():
        rows = await db.fetch("SELECT keeper FROM notify_push_subscription")
    assert [str(row["keeper"]) for row in rows] == [str(world.keeper_a.id)]  # not doubled
    # Another keeper cannot move it to himself (test_hardening.py has the whole story).
    taken = await client.post(
        "/api/v1/push/subscriptions", json=browser.subscription(), headers=world.keeper_b.headers
    )
    assert taken.status_code == 409

    response = await client.request(
        "DELETE",
        "/api/v1/push/subscriptions",
        json={"endpoint": browser.endpoint},
        headers=world.keeper_a.headers,
    )
    assert response.status_code == 204
    assert await subscription_row(browser.endpoint) is None
    # An endpoint that cannot exist (a NUL in it) is not there to delete: 204, not a 500.
    nothing = await client.request(
        "DELETE",
        "/api/v1/push/subscriptions",
        json={"endpoint": "https://push.example.com/\u0000"},
        headers=world.keeper_a.headers,
    )
    assert nothing.status_code == 204


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": "ftp://push.example.com/x"},
        {"endpoint": "not a url"},
        {"keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
        {"keys": {"p256dh": None, "auth": "x"}},
    ],
)
async def test_a_broken_subscription_is_refused_with_a_problem(client, world, push_service, change):
    body = FakeBrowser(push_service.url).subscription() | change
    response = await client.post(
        "/api/v1/push/subscriptions",
        json=body,
        headers={**world.keeper_a.headers, "accept-language": "en"},
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    async with db.read_transaction():
        assert await db.fetch("SELECT id FROM notify_push_subscription") == []


async def test_plain_http_endpoints_need_the_loopback_switch(client, world, monkeypatch):
    monkeypatch.delenv("CUNZHAN_PUSH_ALLOW_HTTP", raising=False)
    body = FakeBrowser("http://127.0.0.1:9").subscription()
    response = await client.post(
        "/api/v1/push/subscriptions", json=body, headers=world.keeper_a.headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "push_subscription_invalid"


async def test_staff_cannot_subscribe_and_anyone_logged_in_gets_the_key(client, world):
    response = await client.post(
        "/api/v1/push/subscriptions",
        json=FakeBrowser("https://push.example.com").subscription(),
        headers=world.staff.headers,
    )
    assert response.status_code == 403
    assert (await client.get("/api/v1/push/key", headers=world.staff.headers)).status_code == 200
    assert (await client.get("/api/v1/push/key")).status_code == 401


async def test_a_push_service_that_never_answers_is_given_up_on_and_retried_later(
    app, client, world, push_service, monkeypatch
):
    from backend.notify import channels

    monkeypatch.setattr(channels, "PUSH_TIMEOUT_S", 0.5)
    browser = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, browser)
    push_service.plan(browser.path, Plan(201, hang=True))
    started = time.monotonic()
    await remind(app.state.settings, world.keeper_a.id)
    assert time.monotonic() - started < 5  # never hangs with it
    [logged] = await deliveries_of(client, world)
    assert logged["status"] == "failed" and logged["http_status"] is None
    row = await subscription_row(browser.endpoint)
    assert row["failures"] == 1 and row["next_attempt_at"] is not None  # kept, backed off


async def test_a_refused_payload_is_failed_but_not_retried(app, client, world, push_service):
    browser = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, browser)
    push_service.plan(browser.path, Plan(413))
    await remind(app.state.settings, world.keeper_a.id)
    [logged] = await deliveries_of(client, world)
    assert (logged["status"], logged["http_status"]) == ("failed", 413)
    await _make_due(browser.endpoint)
    assert (
        await service.retry_due(app.state.settings) == 0
    )  # the same payload would be refused again
    assert await subscription_row(browser.endpoint) is not None


async def test_two_senders_retrying_at_once_send_once(app, client, world, push_service):
    """Two processes' retry runs race for the same owed message: the claim lets one send."""
    browser = FakeBrowser(push_service.url)
    await subscribe(client, world.keeper_a, browser)
    push_service.plan(browser.path, Plan(503))
    await remind(app.state.settings, world.keeper_a.id)
    await _make_due(browser.endpoint)
    taken = await asyncio.gather(
        service.retry_due(app.state.settings),
        service.retry_due(app.state.settings),
        service.retry_due(app.state.settings),
    )
    assert sum(taken) >= 1
    assert len(push_service.to(browser.path)) == 2  # the first 503, then exactly one retry
