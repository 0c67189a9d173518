"""Notices through a real `cunzhan serve` process configured only by its environment: staff post a
notice over HTTP, the answer comes at once, and in the background the keeper with a browser
subscription gets an encrypted push while the others get an SMS from the loopback provider."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.push_fakes import FakeBrowser, LoopbackServer, Plan
from tests.server_process import Server, environment, run

pytestmark = pytest.mark.slow
PASSWORD = "demo1234"


def log_in(base: str, phone: str) -> dict:
    response = httpx.post(
        f"{base}/api/v1/auth/login", json={"phone": phone, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    answer["headers"] = {"authorization": f"Bearer {answer['token']}"}
    return answer


def eventually(condition, timeout: float = 30.0):
    """Poll until the background work is visible (the condition is the assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_a_notice_posted_to_serve_is_pushed_and_texted_in_the_background(
    tmp_path, fresh_database_url
):
    with LoopbackServer() as push, LoopbackServer(Plan(200)) as sms:
        env = environment(
            tmp_path / "data",
            fresh_database_url,
            CUNZHAN_PUSH_ALLOW_HTTP="1",
            CUNZHAN_SMS_URL=f"{sms.url}/send",
            CUNZHAN_SMS_KEY="k-123",
            CUNZHAN_SMS_TEMPLATE="SMS_NOTICE",
        )
        run(env, "migrate", "--quiet")
        run(env, "demo")
        server = Server(env)
        server.start()
        try:
            base = server.url
            keeper = log_in(base, "13800000001")
            staff = log_in(base, "13900000001")
            county_id = staff["user"]["county_id"]
            browser = FakeBrowser(push.url)
            response = httpx.post(
                f"{base}/api/v1/push/subscriptions",
                json=browser.subscription("device-1"),
                headers=keeper["headers"],
            )
            assert response.status_code == 201, response.text

            started = time.monotonic()
            response = httpx.post(
                f"{base}/api/v1/counties/{county_id}/notices",
                json={"scope": "county", "title": "停电通知", "body": "周五下午停电。"},
                headers=staff["headers"],
                timeout=10,
            )
            assert response.status_code == 201, response.text
            assert time.monotonic() - started < 1.0

            assert eventually(lambda: len(push.to(browser.path)) == 1)
            payload = browser.decrypt(push.to(browser.path)[0])
            assert (payload["title"], payload["body"]) == ("停电通知", "周五下午停电。")

            notices = httpx.get(
                f"{base}/api/v1/counties/{county_id}/notices", headers=staff["headers"]
            ).json()
            recipients = notices[0]["recipients"]
            assert recipients >= 2
            # Everyone without a subscription gets one SMS; the subscribed keeper does not.
            assert eventually(lambda: len(sms.requests) == recipients - 1), (
                recipients,
                len(sms.requests),
                httpx.get(
                    f"{base}/api/v1/counties/{county_id}/deliveries",
                    params={"limit": 10},
                    headers=staff["headers"],
                ).json(),
            )
            phones = {request.json()["phone"] for request in sms.requests}
            assert "13800000001" not in phones and len(phones) == recipients - 1
            assert all(r.headers["authorization"] == "Bearer k-123" for r in sms.requests)

            def all_reached():
                listed = httpx.get(
                    f"{base}/api/v1/counties/{county_id}/notices", headers=staff["headers"]
                ).json()
                return listed[0]["delivered"] == recipients

            assert eventually(all_reached)
            inbox = httpx.get(f"{base}/api/v1/inbox", headers=keeper["headers"]).json()
            assert [item["title"] for item in inbox["items"]] == ["停电通知"]
        finally:
            server.kill()


def expire_claims(database_url: str) -> None:
    """The killed sender's claims run out (the clock moves on instead of the test waiting)."""
    statement = "UPDATE notify_inbox_item SET claimed_until = '2000-01-01 00:00:00+00:00'"
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            connection.execute(statement)
        return
    import asyncio

    import asyncpg

    async def update() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(update())


def test_a_sender_killed_mid_chain_leaves_nothing_unsent_and_nothing_twice(
    tmp_path, fresh_database_url
):
    """SIGKILL while SMS requests hang at the provider: after the restart every keeper has
    exactly one SMS: the ones in flight are not resent, the ones not yet sent are sent."""
    with LoopbackServer(Plan(200, hang=True)) as sms:
        env = environment(
            tmp_path / "data",
            fresh_database_url,
            CUNZHAN_SMS_URL=f"{sms.url}/send",
            CUNZHAN_SMS_KEY="k",
            CUNZHAN_SMS_TEMPLATE="T",
        )
        run(env, "migrate", "--quiet")
        run(env, "demo")
        server = Server(env)
        server.start()
        try:
            staff = log_in(server.url, "13900000001")
            county_id = staff["user"]["county_id"]
            response = httpx.post(
                f"{server.url}/api/v1/counties/{county_id}/notices",
                json={"scope": "county", "title": "培训通知", "body": "周五培训。"},
                headers=staff["headers"],
                timeout=10,
            )
            assert response.status_code == 201, response.text
            assert eventually(lambda: len(sms.requests) >= 8)  # the first round is in flight
            in_flight = len(sms.requests)
        finally:
            server.kill()
        assert in_flight < 40

        sms.default = Plan(200)  # the provider is well again
        sms.released.set()
        expire_claims(fresh_database_url)
        run(env, "jobs", "run", "push-retry")

        phones = [request.json()["phone"] for request in sms.requests]
        assert len(phones) == 40, (in_flight, len(phones))
        assert len(set(phones)) == 40  # one SMS per keeper, none twice
