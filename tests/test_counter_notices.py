"""Pickup notices to villagers (取件通知) through a loopback SMS provider: one SMS per parcel with
the station's name, the pickup code and opening hours; nothing more for a retried or duplicate
event, a crash between commit and send, a masked label or an opted-out household; the parcel shows
the notice state; the county counts SMS per station and month; shelf reminders keep their rules."""

from __future__ import annotations

import dataclasses
import datetime
import zoneinfo

import pytest

from backend import db
from backend.jobs.service import run_now
from backend.notify import villagers
from backend.registry.tables import Household, Station
from tests.push_fakes import LoopbackServer, Plan
from tests.support import event, push, received, statuses, tracking

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sms(app, monkeypatch):
    """An SMS provider on loopback, and the app's settings pointing at it."""
    with LoopbackServer(Plan(200)) as server:
        configured = dataclasses.replace(
            app.state.settings, sms_url=f"{server.url}/sms", sms_key="sms-secret"
        )
        monkeypatch.setattr(app.state, "settings", configured)
        yield server


async def never_sent(settings, ids) -> None:
    """The process stopped right after the commit: the send after the answer never runs."""


def sent_to(server) -> list[dict]:
    return [request.json() for request in server.requests]


async def parcels(client, actor, **query) -> list[dict]:
    response = await client.get(
        f"/api/v1/stations/{actor.station_id}/parcels",
        params={"state": "all", **query},
        headers=actor.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_full_number_gets_one_sms_with_station_code_and_hours(app, client, world, sms):
    await Station.update({Station.opening_hours: "9:00-21:00"}).where(Station.id == world.station_a)
    parcel = received(phone="13812345678")
    [result] = await push(client, world.keeper_a, [parcel])
    assert result["status"] == "accepted"
    # The send runs once the answer is out, inside the request the test client waits for.

    [body] = sent_to(sms)
    assert body["phone"] == "13812345678"
    assert body["template"] == "pickup"
    assert body["params"]["code"] == result["pickup_code"]
    assert body["params"]["station"] == "A001服务站"
    assert body["params"]["hours"] == "9:00-21:00"
    assert result["pickup_code"] in body["params"]["body"]
    assert "A001服务站" in body["params"]["body"] and "9:00-21:00" in body["params"]["body"]
    assert sms.requests[0].headers["authorization"] == "Bearer sms-secret"

    [shown] = await parcels(client, world.keeper_a)
    assert (shown["notice"], shown["notices_sent"]) == ("sent", 1)

    # The phone retries the same batch (the answer was lost), and sends the event again later.
    again = await push(client, world.keeper_a, [parcel])
    assert statuses(again) == ["duplicate"]
    assert statuses(await push(client, world.keeper_a, [parcel, parcel])) == [
        "duplicate",
        "duplicate",
    ]
    assert await villagers.send_pending(app.state.settings) == 0
    assert len(sms.requests) == 1


async def test_several_parcels_in_one_batch_each_get_their_own(client, world, sms):
    batch = [received(phone="13912340001"), received(phone="13912340002")]
    results = await push(client, world.keeper_a, batch)
    assert statuses(results) == ["accepted", "accepted"]
    by_phone = {body["phone"]: body["params"]["code"] for body in sent_to(sms)}
    assert by_phone == {
        "13912340001": results[0]["pickup_code"],
        "13912340002": results[1]["pickup_code"],
    }


async def test_masked_and_tail_labels_send_nothing_and_show_none(app, client, world, sms):
    results = await push(
        client,
        world.keeper_a,
        [received(phone="138****5678"), received(phone="5678"), received(phone="****5678")],
    )
    assert statuses(results) == ["accepted"] * 3
    assert await villagers.send_pending(app.state.settings) == 0
    assert sms.requests == []
    assert {p["notice"] for p in await parcels(client, world.keeper_a)} == {"none"}


async def test_an_opted_out_household_gets_nothing(client, world, sms):
    await Household.update({Household.phone: "13700005555", Household.sms_opt_out: True}).where(
        Household.code == world.household_code
    )
    results = await push(client, world.keeper_a, [received(phone="13700005555")])
    assert statuses(results) == ["accepted"]
    assert sms.requests == []
    [shown] = await parcels(client, world.keeper_a)
    assert shown["notice"] == "none"


async def test_no_provider_configured_means_none(app, client, world):
    assert not app.state.settings.sms_url
    assert statuses(await push(client, world.keeper_a, [received()])) == ["accepted"]
    [shown] = await parcels(client, world.keeper_a)
    assert shown["notice"] == "none"


async def test_a_server_stopping_after_the_commit_sends_it_once_later(
    app, client, world, sms, monkeypatch
):
    # The sender never runs (the process stopped right after the commit): the row is pending.
    monkeypatch.setattr(villagers, "send_after_commit", never_sent)
    [result] = await push(client, world.keeper_a, [received(phone="13812340000")])
    [shown] = await parcels(client, world.keeper_a)
    assert shown["notice"] == "pending"
    assert sms.requests == []

    retry = await run_now(app.state.settings, "push-retry")
    assert retry.status == "done", retry.error
    assert [body["params"]["code"] for body in sent_to(sms)] == [result["pickup_code"]]
    await run_now(
        app.state.settings,
        "push-retry",
        now=datetime.datetime.now(datetime.UTC) + datetime.timedelta(1),
    )
    assert len(sms.requests) == 1
    [shown] = await parcels(client, world.keeper_a)
    assert shown["notice"] == "sent"


async def test_a_send_cut_off_midway_is_never_repeated(app, client, world, sms, monkeypatch):
    monkeypatch.setattr(villagers, "send_after_commit", never_sent)
    await push(client, world.keeper_a, [received(phone="13812340001")])
    # A sender claimed it ("sending") and died before the provider answered.
    async with db.write_transaction():
        await db.execute(
            "UPDATE notify_villager_sms SET state = 'sending', attempted_at = $1",
            datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10),
        )
    assert await villagers.send_pending(app.state.settings) == 0
    assert sms.requests == []
    [shown] = await parcels(client, world.keeper_a)
    assert shown["notice"] == "failed"


async def test_a_provider_refusing_shows_failed(client, world, sms):
    sms.plan("/sms", Plan(500))
    await push(client, world.keeper_a, [received(phone="13812340002")])
    assert len(sms.requests) == 1
    [shown] = await parcels(client, world.keeper_a)
    assert (shown["notice"], shown["notices_sent"]) == ("failed", 0)


async def test_the_county_sees_sms_counts_per_station_and_month(client, world, sms):
    await push(client, world.keeper_a, [received(phone="13812340003"), received(phone="5678")])
    await push(client, world.keeper_b, [received(phone="13812340004")])
    month = datetime.datetime.now(SHANGHAI).strftime("%Y-%m")
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/sms",
        params={"month": month},
        headers=world.staff.headers,
    )
    assert response.status_code == 200, response.text
    counts = {row["code"]: (row["pickup"], row["sent"]) for row in response.json()["stations"]}
    assert counts == {"A001": (1, 1), "B001": (1, 1)}
    assert response.json()["total"]["sent"] == 2
    refused = await client.get(
        f"/api/v1/counties/{world.county_id}/sms", headers=world.keeper_a.headers
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


# Shelf reminders ------------------------------------------------------------------------------


def local(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=SHANGHAI)


async def test_shelf_reminders_every_two_days_at_most_three_at_a_decent_hour(
    app, client, world, sms
):
    today = datetime.datetime.now(SHANGHAI).date()
    old = received(phone="13812349999")
    old["occurred_at"] = local(today - datetime.timedelta(days=5), 9).isoformat()
    masked_old = received(phone="138****1111")
    masked_old["occurred_at"] = old["occurred_at"]
    fresh = received(phone="13812348888")
    assert (
        statuses(await push(client, world.keeper_a, [old, masked_old, fresh])) == ["accepted"] * 3
    )
    assert len(sms.requests) == 2  # the two pickup notices

    def reminders(phone: str = "13812349999") -> list[dict]:
        return [
            b for b in sent_to(sms) if b["template"] == "pickup_reminder" and b["phone"] == phone
        ]

    async def job(day_offset: int, hour: int) -> None:
        moment = local(today + datetime.timedelta(days=day_offset), hour)
        run = await run_now(app.state.settings, "parcel-overdue", now=moment)
        assert run.status == "done", run.error

    await job(1, 10)  # within 2 days of the pickup notice: nothing yet
    assert reminders() == []
    await job(3, 3)  # 03:00 local: nobody is woken
    await job(3, 21)  # 21:00 local: too late
    assert reminders() == []
    await job(3, 10)
    assert [b["phone"] for b in reminders()] == ["13812349999"]
    assert reminders()[0]["params"]["days"] == "8"
    await job(3, 15)  # the same day again
    assert reminders("13812348888") == []  # received today: still within its free days
    await job(4, 10)  # one day later
    assert len(reminders()) == 1
    assert len(reminders("13812348888")) == 1  # its free days are over now
    await job(5, 10)
    await job(7, 10)
    await job(9, 10)  # a fourth would be one too many
    await job(11, 10)
    assert len(reminders()) == 3
    assert reminders("138****1111") == []  # a masked label never gets one
    [shown] = [p for p in await parcels(client, world.keeper_a) if p["id"] == old["id"]]
    assert shown["notices_sent"] == 4  # the notice and three reminders

    # The keeper's "notify again" keeps the limit too.
    response = await client.post(
        f"/api/v1/stations/{world.station_a}/parcels/{old['id']}/notify",
        headers=world.keeper_a.headers,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "notice_limit_reached"


async def test_notify_again_is_one_tap_and_a_second_tap_sends_nothing(client, world, sms):
    [result] = await push(client, world.keeper_a, [received(phone="13812347777")])
    url = f"/api/v1/stations/{world.station_a}/parcels/{result['id']}/notify"
    # Minutes after the notice: the keeper asks again anyway (the villager phoned).
    async with db.write_transaction():
        await db.execute(
            "UPDATE notify_villager_sms SET created_at = $1",
            datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1),
        )
    first = await client.post(url, headers=world.keeper_a.headers)
    assert first.status_code == 200, first.text
    assert first.json()["notices_sent"] == 2
    second = await client.post(url, headers=world.keeper_a.headers)
    assert second.status_code == 409
    assert second.json()["code"] == "notice_sent_recently"
    assert len(sms.requests) == 2
    other = await client.post(url, headers=world.keeper_b.headers)
    assert other.status_code == 403

    masked = await push(client, world.keeper_a, [received(phone="138****2222")])
    response = await client.post(
        f"/api/v1/stations/{world.station_a}/parcels/{masked[0]['id']}/notify",
        headers=world.keeper_a.headers,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "notice_needs_full_phone"


async def test_a_picked_up_parcel_gets_no_reminder(app, client, world, sms):
    today = datetime.datetime.now(SHANGHAI).date()
    old = received(phone="13812346666")
    old["occurred_at"] = local(today - datetime.timedelta(days=6), 9).isoformat()
    [result] = await push(client, world.keeper_a, [old])
    picked = event(
        "parcel.picked_up",
        {"tracking_no": old["data"]["tracking_no"], "pickup_code": result["pickup_code"]},
    )
    assert statuses(await push(client, world.keeper_a, [picked])) == ["accepted"]
    await run_now(
        app.state.settings, "parcel-overdue", now=local(today + datetime.timedelta(days=3), 10)
    )
    assert [b["template"] for b in sent_to(sms)] == ["pickup"]


async def test_the_county_notices_page_shows_this_months_sms_per_station(client, world, sms):
    from tests.test_county_pages import HTML, page_login

    await push(client, world.keeper_a, [received(phone="13812340005"), received(phone="5678")])
    await page_login(client, world.staff.phone)
    page = await client.get("/county/notices", headers=HTML)
    assert page.status_code == 200
    assert 'data-sms-station="A001"' in page.text
    row = page.text.split('data-sms-station="A001"')[1].split("</tr>")[0]
    assert '<td class="num sent">1</td>' in row  # one billed SMS; the tail label sent none


async def test_the_pickup_sms_links_to_the_public_tracking_page(
    app, client, world, sms, monkeypatch
):
    """With the server's public address set, the pickup SMS ends with a link to `/track` for
    its number (a JD package as labelled, the villager's language), never the phone's digits;
    the link opens the tracking page, where the tail shows the code."""
    from tests.test_county_pages import HTML

    base = "https://cz.example.cn"
    linked = dataclasses.replace(app.state.settings, public_url=base)
    monkeypatch.setattr(app.state, "settings", linked)
    # A tracking number without the phone's last digits: the check below looks for them (a
    # random number held "5678" about once in a thousand runs).
    number = next(n for n in iter(tracking, None) if "5678" not in n)
    parcel = received(tracking_no=number, phone="13812345678")
    [result] = await push(client, world.keeper_a, [parcel])
    [body] = sent_to(sms)
    url = f"{base}/track?tracking_no={number}"
    assert body["params"]["track_url"] == url
    assert body["params"]["body"].endswith(f"请凭取件码取件。查询包裹：{url}")
    assert "5678" not in body["params"]["body"]
    page = await client.get(
        url.removeprefix(base) + "&phone_last4=5678", headers={**HTML, "accept-language": "zh-CN"}
    )
    assert page.status_code == 200 and result["pickup_code"] in page.text

    # A JD package received in Uyghur: the link names the package as its label does.
    jd = received(tracking_no="JDVA12345678901-2-3-", carrier="JD", phone="13812340000")
    answer = await client.post(
        "/api/v1/sync",
        json={"device_id": "11111111-2222-4333-8444-555555555555", "events": [jd]},
        headers={**world.keeper_a.headers, "accept-language": "ug"},
    )
    assert answer.status_code == 200 and statuses(answer.json()["results"]) == ["accepted"]
    body = sent_to(sms)[-1]
    url = f"{base}/track?tracking_no=JDVA12345678901-2-3-&lang=ug"
    assert (body["language"], body["params"]["track_url"]) == ("ug", url)
    assert body["params"]["body"].endswith(f" بوغچىنى سۈرۈشتۈرۈش: {url}")
    shown = await client.get(url.removeprefix(base) + "&phone_last4=0000", headers=HTML)
    assert shown.status_code == 200 and 'lang="ug"' in shown.text
    assert answer.json()["results"][0]["pickup_code"] in shown.text


async def test_without_a_public_address_the_sms_has_no_link(client, world, sms):
    [_] = await push(client, world.keeper_a, [received(phone="13812345678")])
    [body] = sent_to(sms)
    assert "track_url" not in body["params"] and "/track" not in body["params"]["body"]
    assert body["params"]["body"].endswith("请凭取件码取件。")


@pytest.mark.parametrize(
    ("given", "kept"),
    [("https://cz.example.cn/", "https://cz.example.cn"), ("", ""),
     ("http://10.0.0.5:8000/cunzhan", "http://10.0.0.5:8000/cunzhan"),
     ("javascript:alert(1)", None), ("https://cz.example.cn/?x=1", None)],
)  # fmt: skip
def test_the_public_address_is_a_plain_http_url(monkeypatch, tmp_path, given, kept):
    from backend.settings import load_settings

    monkeypatch.setenv("CUNZHAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CUNZHAN_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("CUNZHAN_PUBLIC_URL", given)
    if kept is None:
        with pytest.raises(SystemExit, match="CUNZHAN_PUBLIC_URL"):
            load_settings()
    else:
        assert load_settings().public_url == kept
