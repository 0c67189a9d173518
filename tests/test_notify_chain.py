"""The channel chain with loopback providers: no push subscription → SMS; SMS failing → WeChat;
everything failing → the banner is still in the inbox; a hanging provider never holds a request;
a sender that dies leaves an outbox that `retry_due` finishes, without a second SMS."""

from __future__ import annotations

import dataclasses
import datetime
import time
import uuid

import pytest

from backend import clock, db
from backend.i18n import translate
from backend.notify import service
from backend.notify.chain import claim_until
from backend.notify.store import items as item_store
from backend.notify.store.items import NewItem
from tests.push_fakes import FakeBrowser, LoopbackServer, Plan
from tests.support import until_answered

WEEK = "2026-11-30"


@pytest.fixture
def providers(app, monkeypatch):
    """Push service, SMS and WeChat providers on loopback, configured as the settings say."""
    monkeypatch.setenv("CUNZHAN_PUSH_ALLOW_HTTP", "1")
    with (
        LoopbackServer(Plan(200)) as sms,
        LoopbackServer(Plan(200)) as wechat,
        LoopbackServer() as push,
    ):
        configured = dataclasses.replace(
            app.state.settings,
            sms_url=f"{sms.url}/sms",
            sms_key="sms-secret",
            sms_template="SMS_123",
            wechat_url=f"{wechat.url}/wechat",
            wechat_key="wx-secret",
            wechat_template="WX_TPL",
        )
        monkeypatch.setattr(app.state, "settings", configured)
        yield {"sms": sms, "wechat": wechat, "push": push}


async def insert_items(items: list[NewItem]) -> dict[uuid.UUID, uuid.UUID]:
    """Items as a notifying process writes them, claimed by it (inside a write transaction)."""
    moment = clock.utcnow()
    return await item_store.insert_items(items, moment, claim_until(moment, len(items)))


async def remind(settings, user_id, dedupe_key: str = "checkin:chain:1") -> bool:
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


async def attempts(client, world) -> list[tuple[str, str]]:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/deliveries", headers=world.staff.headers
    )
    assert response.status_code == 200, response.text
    return sorted((row["channel"], row["status"]) for row in response.json())


async def test_no_subscription_goes_to_sms_with_the_real_number(app, client, world, providers):
    sms, wechat = providers["sms"], providers["wechat"]
    assert await remind(app.state.settings, world.keeper_a.id) is True
    [request] = sms.requests
    assert request.headers["authorization"] == "Bearer sms-secret"
    body = request.json()
    assert body["phone"] == world.keeper_a.phone  # the provider needs the real number
    assert body["template"] == "SMS_123"
    assert body["params"]["title"] == translate("notify.checkin.title", "zh-CN")
    assert body["params"]["week"] == WEEK
    assert wechat.requests == []
    assert await attempts(client, world) == [("banner", "delivered"), ("sms", "delivered")]


async def test_sms_failing_goes_to_wechat(app, client, world, providers):
    sms, wechat = providers["sms"], providers["wechat"]
    sms.plan("/sms", Plan(500))
    await remind(app.state.settings, world.keeper_a.id)
    assert len(sms.requests) == 1
    [request] = wechat.requests
    assert request.headers["authorization"] == "Bearer wx-secret"
    assert request.json()["template"] == "WX_TPL"
    assert request.json()["url"] == "/app/#/checkin"
    assert await attempts(client, world) == [
        ("banner", "delivered"),
        ("sms", "failed"),
        ("wechat", "delivered"),
    ]


async def test_a_delivered_push_needs_no_sms(app, client, world, providers):
    browser = FakeBrowser(providers["push"].url)
    response = await client.post(
        "/api/v1/push/subscriptions", json=browser.subscription(), headers=world.keeper_a.headers
    )
    assert response.status_code == 201
    await remind(app.state.settings, world.keeper_a.id)
    assert len(providers["push"].requests) == 1
    assert providers["sms"].requests == [] and providers["wechat"].requests == []


async def test_push_failing_then_sms_then_wechat_all_failing_leaves_the_banner(
    app, client, world, providers
):
    push, sms, wechat = providers["push"], providers["sms"], providers["wechat"]
    browser = FakeBrowser(push.url)
    await client.post(
        "/api/v1/push/subscriptions", json=browser.subscription(), headers=world.keeper_a.headers
    )
    push.plan(browser.path, Plan(500))
    sms.plan("/sms", Plan(500))
    wechat.plan("/wechat", Plan(503))
    assert await remind(app.state.settings, world.keeper_a.id) is True
    assert (len(push.requests), len(sms.requests), len(wechat.requests)) == (1, 1, 1)
    assert await attempts(client, world) == [
        ("banner", "delivered"),
        ("push", "failed"),
        ("sms", "failed"),
        ("wechat", "failed"),
    ]
    response = await client.get(
        "/api/v1/inbox", headers={**world.keeper_a.headers, "accept-language": "en"}
    )
    [item] = response.json()["items"]
    assert item["kind"] == "reminder"
    assert item["title"] == translate("notify.checkin.title", "en")  # rendered at read time
    assert item["body"] == translate("notify.checkin.body", "en", week=WEEK)
    assert item["url"] == "/app/#/checkin" and item["read_at"] is None


async def test_unconfigured_providers_are_skipped(app, client, world):
    plain = dataclasses.replace(app.state.settings, sms_url="", wechat_url="")
    await remind(plain, world.keeper_a.id)
    assert await attempts(client, world) == [
        ("banner", "delivered"),
        ("sms", "skipped"),
        ("wechat", "skipped"),
    ]


async def test_a_hanging_provider_does_not_hold_the_notice_request(app, client, world, providers):
    sms = providers["sms"]
    sms.plan("/sms", Plan(200, hang=True), Plan(200, hang=True))
    answer = await until_answered(
        app,
        "POST",
        f"/api/v1/counties/{world.county_id}/notices",
        world.staff.headers,
        {"scope": "county", "title": "停电通知", "body": "周五下午停电，请提前充值。"},
    )
    assert answer.status == 201
    assert answer.seconds < 1.0, f"the notice request took {answer.seconds:.2f} s"
    # The banner is there before any channel answers.
    for keeper in (world.keeper_a, world.keeper_b):
        inbox = (await client.get("/api/v1/inbox", headers=keeper.headers)).json()["items"]
        assert [item["title"] for item in inbox] == ["停电通知"]
    sms.released.set()  # the provider answers at last; the chains finish after the answer
    await answer.finished
    assert len(sms.requests) == 2


async def claim_runs_out() -> None:
    """The dead sender's claim expires (the clock moves on instead of the test sleeping)."""
    past = clock.utcnow() - datetime.timedelta(seconds=1)
    async with db.write_transaction():
        await db.execute("UPDATE notify_inbox_item SET claimed_until = $1", past)


async def test_a_dead_sender_leaves_an_outbox_that_retry_due_sends(app, client, world, providers):
    """The business commit happened (the item is pending), the process died before sending."""
    async with db.write_transaction():
        created = await insert_items(
            [
                NewItem(
                    keeper=world.keeper_a.id,
                    county=world.county_id,
                    station=world.station_a,
                    kind="checkin",
                    dedupe_key="checkin:dead-sender",
                    url="/app/#/checkin",
                    title_key="notify.checkin.title",
                    body_key="notify.checkin.body",
                    params='{"week": "2026-11-30"}',
                )
            ]
        )
    assert len(created) == 1
    assert await service.retry_due(app.state.settings) == 0  # its sender's claim still runs
    await claim_runs_out()
    assert await service.retry_due(app.state.settings) == 1
    assert len(providers["sms"].requests) == 1
    assert await service.retry_due(app.state.settings) == 0  # done: nothing sent twice
    assert len(providers["sms"].requests) == 1


async def test_an_sms_of_unknown_outcome_is_never_sent_again(app, client, world, providers):
    """The sender died after logging "sending" (the provider may have sent it): the restarted
    chain neither sends a second SMS nor falls through to WeChat."""
    async with db.write_transaction():
        created = await insert_items(
            [
                NewItem(
                    keeper=world.keeper_a.id,
                    county=world.county_id,
                    station=world.station_a,
                    kind="checkin",
                    dedupe_key="checkin:sms-unknown",
                    url="/app/#/checkin",
                    title_key="notify.checkin.title",
                    body_key="notify.checkin.body",
                )
            ]
        )
        item_id = created[world.keeper_a.id]
        await db.execute(
            "INSERT INTO notify_delivery (id, item, keeper, county, station, channel, status, "
            "dedupe_key, at) VALUES ($1, $2, $3, $4, $5, 'sms', 'sending', $6, $7)",
            uuid.uuid4(),
            item_id,
            world.keeper_a.id,
            world.county_id,
            world.station_a,
            "checkin:sms-unknown",
            clock.utcnow(),
        )
    await claim_runs_out()
    assert await service.retry_due(app.state.settings) == 1
    assert providers["sms"].requests == []
    assert providers["wechat"].requests == []
    sms_rows = [row for row in await attempts(client, world) if row[0] == "sms"]
    assert sms_rows == [("sms", "failed")]


async def test_deliveries_never_show_a_full_phone_number(app, client, world, providers):
    providers["sms"].plan("/sms", Plan(500))
    await remind(app.state.settings, world.keeper_a.id)
    await remind(app.state.settings, world.keeper_b.id)
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/deliveries", headers=world.staff.headers
    )
    text = response.text
    for keeper in (world.keeper_a, world.keeper_b):
        assert keeper.phone not in text
        assert f"{keeper.phone[:3]}****{keeper.phone[-4:]}" in text
    only_b = await client.get(
        f"/api/v1/counties/{world.county_id}/deliveries",
        params={"station_id": str(world.station_b)},
        headers=world.staff.headers,
    )
    assert {row["station_id"] for row in only_b.json()} == {str(world.station_b)}
    foreign = await client.get(
        f"/api/v1/counties/{world.county_id}/deliveries", headers=world.foreign_staff.headers
    )
    assert foreign.status_code == 403


async def test_a_provider_that_never_answers_times_out_and_the_chain_moves_on(
    app, client, world, providers
):
    sms, wechat = providers["sms"], providers["wechat"]
    sms.plan("/sms", Plan(200, hang=True))
    started = time.monotonic()
    await remind(app.state.settings, world.keeper_a.id)
    assert time.monotonic() - started < 9  # the 5 s provider timeout, not the hang
    assert len(wechat.requests) == 1
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/deliveries", headers=world.staff.headers
    )
    [sms_row] = [row for row in response.json() if row["channel"] == "sms"]
    assert sms_row["status"] == "failed" and "timeout" in sms_row["error"]


async def test_a_message_owed_past_its_time_to_live_is_not_sent(app, client, world, providers):
    """The server was down for days: last week's reminder stays a banner, no SMS goes out."""
    async with db.write_transaction():
        await insert_items(
            [
                NewItem(
                    keeper=world.keeper_a.id,
                    county=world.county_id,
                    station=world.station_a,
                    kind="checkin",
                    dedupe_key="checkin:last-week",
                    url="/app/#/checkin",
                    title_key="notify.checkin.title",
                    body_key="notify.checkin.body",
                    ttl_seconds=3600,
                )
            ]
        )
        await db.execute(
            "UPDATE notify_inbox_item SET created_at = $1",
            clock.utcnow() - datetime.timedelta(days=3),
        )
    await claim_runs_out()
    assert await service.retry_due(app.state.settings) == 0
    assert providers["sms"].requests == []
    assert await service.retry_due(app.state.settings) == 0  # closed, not owed any more
    inbox = (await client.get("/api/v1/inbox", headers=world.keeper_a.headers)).json()["items"]
    assert len(inbox) == 1
