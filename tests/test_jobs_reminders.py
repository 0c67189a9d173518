"""The reminder jobs as keepers feel them: what lands in their inbox, once, at the county's hour."""

from __future__ import annotations

import datetime
import zoneinfo

from backend.jobs.checkin import reminder_window
from backend.jobs.overdue import overdue_parcels
from backend.jobs.service import run_now
from backend.registry.tables import County
from tests.support import event, push, received, statuses

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
URUMQI = zoneinfo.ZoneInfo("Asia/Urumqi")
# A past week, so check-ins recorded "now" by other tests never fall into it.
MONDAY = datetime.date(2026, 11, 23)


def at(day: datetime.date, hour: int, zone=SHANGHAI, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


async def inbox(client, actor) -> list[dict]:
    response = await client.get("/api/v1/inbox", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def opened_before_the_week(client, world) -> None:
    """The world's stations opened when they were created, today: dated back to before MONDAY's
    week, or the job rightly leaves them alone (a station is reminded once it has opened)."""
    for station, staff in (
        (world.station_a, world.staff),
        (world.station_b, world.staff),
        (world.foreign_station, world.foreign_staff),
    ):
        answer = await client.patch(
            f"/api/v1/stations/{station}", json={"opened_on": "2026-01-05"}, headers=staff.headers
        )
        assert answer.status_code == 200, answer.text


async def set_reminder(county_id, weekday: int, hour: int) -> None:
    await County.update(
        {County.checkin_reminder_weekday: weekday, County.checkin_reminder_hour: hour}
    ).where(County.id == county_id)


async def test_only_the_station_without_a_checkin_this_week_is_reminded_once(app, client, world):
    today = datetime.datetime.now(SHANGHAI)
    # Due since midnight today, local time: the first nudge (the second would be tomorrow).
    await set_reminder(world.county_id, today.isoweekday(), 0)
    assert statuses(await push(client, world.keeper_a, [event("checkin.recorded", {})])) == [
        "accepted"
    ]

    first = await run_now(app.state.settings, "checkin-reminder")
    assert first.status == "done", first.error
    assert len(await inbox(client, world.keeper_b)) == 1
    assert await inbox(client, world.keeper_a) == []

    again = await run_now(app.state.settings, "checkin-reminder")
    assert again.status == "done"
    assert again.counts["keepers_notified"] == 0
    assert len(await inbox(client, world.keeper_b)) == 1
    assert await inbox(client, world.keeper_a) == []


async def test_a_reversed_checkin_does_not_count(app, client, world):
    today = datetime.datetime.now(SHANGHAI)
    await set_reminder(world.county_id, today.isoweekday(), 0)
    checkin = event("checkin.recorded", {"note": "开门"})
    undo = event("entry.reversed", {"target_id": checkin["id"], "reason": "点错了"})
    assert statuses(await push(client, world.keeper_a, [checkin, undo])) == [
        "accepted",
        "accepted",
    ]
    await run_now(app.state.settings, "checkin-reminder")
    assert len(await inbox(client, world.keeper_a)) == 1


async def test_the_second_nudge_goes_a_day_later_to_those_still_missing(app, client, world):
    await opened_before_the_week(client, world)
    await set_reminder(world.county_id, 1, 9)  # Monday 9:00, second nudge Tuesday 9:00

    before = await run_now(app.state.settings, "checkin-reminder", now=at(MONDAY, 8, minute=59))
    assert before.counts["counties_due"] == 0
    assert await inbox(client, world.keeper_a) == []

    await run_now(app.state.settings, "checkin-reminder", now=at(MONDAY, 9, minute=5))
    assert len(await inbox(client, world.keeper_a)) == 1
    assert len(await inbox(client, world.keeper_b)) == 1

    # Station A checks in on Monday afternoon (a late sync of an entry made that day).
    monday_afternoon = at(MONDAY, 15).isoformat()
    late = event("checkin.recorded", {}, occurred_at=monday_afternoon)
    assert statuses(await push(client, world.keeper_a, [late])) == ["accepted"]

    second = await run_now(
        app.state.settings,
        "checkin-reminder",
        now=at(MONDAY + datetime.timedelta(days=1), 9, minute=30),
    )
    assert second.counts["stations_missing"] >= 1
    assert len(await inbox(client, world.keeper_a)) == 1
    assert len(await inbox(client, world.keeper_b)) == 2

    await run_now(
        app.state.settings, "checkin-reminder", now=at(MONDAY + datetime.timedelta(days=3), 16)
    )
    assert len(await inbox(client, world.keeper_a)) == 1
    assert len(await inbox(client, world.keeper_b)) == 2


async def test_an_urumqi_county_is_reminded_at_its_own_local_hour(app, client, world):
    # The home county keeps Beijing time, the foreign one Asia/Urumqi (two hours behind).
    await opened_before_the_week(client, world)
    await set_reminder(world.county_id, 1, 10)
    await set_reminder(world.foreign_county_id, 1, 10)

    beijing_ten = at(MONDAY, 10)  # 08:00 in Urumqi
    result = await run_now(app.state.settings, "checkin-reminder", now=beijing_ten)
    assert result.counts["counties_due"] == 1
    assert len(await inbox(client, world.keeper_a)) == 1
    assert await inbox(client, world.foreign_keeper) == []

    urumqi_ten = at(MONDAY, 10, zone=URUMQI)  # 12:00 in Beijing
    result = await run_now(app.state.settings, "checkin-reminder", now=urumqi_ten)
    assert result.counts["counties_due"] == 2
    assert len(await inbox(client, world.foreign_keeper)) == 1
    assert len(await inbox(client, world.keeper_a)) == 1  # nothing sent twice


def test_reminder_windows_follow_the_county_time_zone():
    now = at(MONDAY, 10)  # 02:00 UTC
    shanghai = reminder_window("Asia/Shanghai", 1, 10, now)
    urumqi = reminder_window("Asia/Urumqi", 1, 10, now)
    assert shanghai.nudge_due(now) == 1
    assert urumqi.nudge_due(now) == 0
    assert urumqi.first_at == at(MONDAY, 12)
    # A Sunday reminder has no second nudge inside its week.
    assert reminder_window("Asia/Shanghai", 7, 9, now).second_at is None
    # A window missed while the server was down still fires later that week.
    thursday = at(MONDAY + datetime.timedelta(days=3), 18)
    assert shanghai.nudge_due(thursday) == 2


async def test_an_overdue_parcel_is_marked_and_reminded_once_per_day(app, client, world):
    today = datetime.datetime.now(SHANGHAI).date()
    ten_days_ago = at(today - datetime.timedelta(days=10), 9).isoformat()
    old = received()
    old["occurred_at"] = ten_days_ago
    fresh = received()
    assert statuses(await push(client, world.keeper_a, [old, fresh])) == ["accepted", "accepted"]

    noon = at(today, 12)
    first = await run_now(app.state.settings, "parcel-overdue", now=noon)
    assert first.status == "done", first.error
    marked = await overdue_parcels(world.station_a)
    assert [str(p["parcel_id"]) for p in marked] == [old["id"]]
    assert len(await inbox(client, world.keeper_a)) == 1
    assert await inbox(client, world.keeper_b) == []

    again = await run_now(
        app.state.settings, "parcel-overdue", now=noon + datetime.timedelta(hours=3)
    )
    assert again.counts["newly_marked"] == 0
    assert len(await inbox(client, world.keeper_a)) == 1

    tomorrow = await run_now(
        app.state.settings, "parcel-overdue", now=noon + datetime.timedelta(days=1)
    )
    assert tomorrow.counts["stations_reminded"] == 1
    assert len(await inbox(client, world.keeper_a)) == 2

    # Returned to the carrier: no longer on the list.
    returned = event(
        "parcel.returned", {"tracking_no": old["data"]["tracking_no"], "reason": "超期"}
    )
    assert statuses(await push(client, world.keeper_a, [returned])) == ["accepted"]
    assert await overdue_parcels(world.station_a) == []


async def test_overdue_reminders_wait_for_the_county_working_hours(app, client, world):
    today = datetime.datetime.now(SHANGHAI).date()
    old = received()
    old["occurred_at"] = at(today - datetime.timedelta(days=9), 9).isoformat()
    assert statuses(await push(client, world.keeper_a, [old])) == ["accepted"]
    early = await run_now(app.state.settings, "parcel-overdue", now=at(today, 3))
    assert early.counts["newly_marked"] == 1
    assert early.counts["stations_reminded"] == 0
    assert await inbox(client, world.keeper_a) == []


async def test_a_second_run_reaches_only_a_push_subscription_added_since(
    app, client, world, monkeypatch
):
    """API.md: `jobs run` sends nothing twice to a subscription, but one added since gets it."""
    from tests.push_fakes import FakeBrowser, LoopbackServer

    monkeypatch.setenv("CUNZHAN_PUSH_ALLOW_HTTP", "1")
    today = datetime.datetime.now(SHANGHAI)
    await set_reminder(world.county_id, today.isoweekday(), 0)
    with LoopbackServer() as push_service:
        phone = FakeBrowser(push_service.url)
        saved = await client.post(
            "/api/v1/push/subscriptions", json=phone.subscription(), headers=world.keeper_b.headers
        )
        assert saved.status_code == 201, saved.text

        await run_now(app.state.settings, "checkin-reminder")
        assert len(push_service.requests) == 1
        message = phone.decrypt(push_service.requests[0])
        assert message["url"] == "/app/#/checkin"

        await run_now(app.state.settings, "checkin-reminder")
        assert len(push_service.requests) == 1  # nothing twice

        tablet = FakeBrowser(push_service.url)
        saved = await client.post(
            "/api/v1/push/subscriptions", json=tablet.subscription(), headers=world.keeper_b.headers
        )
        assert saved.status_code == 201, saved.text
        await run_now(app.state.settings, "checkin-reminder")
        assert [r.path for r in push_service.requests[1:]] == [tablet.path]
    assert len(await inbox(client, world.keeper_b)) == 1


async def test_a_county_with_broken_settings_does_not_stop_the_others(app, client, world):
    await County.update({County.timezone: "Mars/Olympus_Mons"}).where(
        County.id == world.foreign_county_id
    )
    today = datetime.datetime.now(SHANGHAI)
    await set_reminder(world.county_id, today.isoweekday(), 0)
    result = await run_now(app.state.settings, "checkin-reminder")
    assert result.status == "failed"
    assert str(world.foreign_county_id) in result.error
    assert result.counts["counties_due"] == 1
    assert len(await inbox(client, world.keeper_a)) == 1
    overdue = await run_now(app.state.settings, "parcel-overdue")
    assert overdue.status == "failed" and str(world.foreign_county_id) in overdue.error


async def test_closed_and_not_yet_opened_stations_are_not_reminded(app, client, world):
    from backend.registry.tables import Station

    closed = await client.post(
        f"/api/v1/stations/{world.station_b}/close",
        json={"reason": "站长外出务工"},
        headers=world.staff.headers,
    )
    assert closed.status_code == 200, closed.text
    next_month = datetime.date.today() + datetime.timedelta(days=40)
    await Station.update({Station.opened_on: next_month}).where(Station.id == world.station_a)
    today = datetime.datetime.now(SHANGHAI)
    await set_reminder(world.county_id, today.isoweekday(), 0)
    # Not due at Beijing noon (10:00 in Urumqi): only the home county counts.
    await set_reminder(world.foreign_county_id, today.isoweekday(), 23)

    result = await run_now(app.state.settings, "checkin-reminder", now=at(today.date(), 12))
    assert result.counts == {"counties_due": 1, "stations_missing": 0, "keepers_notified": 0}
    assert await inbox(client, world.keeper_a) == []
