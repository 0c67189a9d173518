"""County-to-village delivery (县到村 48 h) and the villagers' tracking, through HTTP: the hub's
hand-overs make legs, the stations' receipts close them, the month's figures count them, and a
tracking number with the phone's last four finds the parcel without ever showing a phone."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import re

import httpx
import pytest

from backend import clock
from tests.support import PASSWORD, Actor, World, event, login, push, tracking
from tests.test_county_pages import HTML, page_login

UTC = datetime.UTC
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
REAL_NOW = clock.utcnow
# Any phone number or masked label in an answer: 11 digits, or digits around stars.
PHONE_LIKE = re.compile(r"1[3-9][0-9]{9}|[0-9]{0,3}\*{2,}[0-9]{4}")


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


async def dispatch(client, actor: Actor, county_id, station_id, numbers, when=None):
    """POST hub-dispatches, with the server's clock at `when` (UTC) when given."""
    if when is not None:
        clock.utcnow = lambda: when  # type: ignore[assignment]
    try:
        return await client.post(
            f"/api/v1/counties/{county_id}/hub-dispatches",
            json={"station_id": str(station_id), "tracking_nos": numbers},
            headers=actor.headers,
        )
    finally:
        clock.utcnow = REAL_NOW  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    clock.utcnow = REAL_NOW  # type: ignore[assignment]


def receipt(number: str, when: datetime.datetime, phone: str = "13812345678", carrier="SF"):
    """A station's parcel.received whose phone clock says `when`."""
    return event(
        "parcel.received",
        {"tracking_no": number, "carrier": carrier, "recipient_phone": phone},
        occurred_at=when.astimezone(SHANGHAI).isoformat(),
    )


async def figures(client, actor: Actor, county_id, month: str):
    response = await client.get(
        f"/api/v1/counties/{county_id}/delivery", params={"month": month}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def station_row(answer: dict, station_id) -> dict:
    return next(row for row in answer["stations"] if row["station_id"] == str(station_id))


# The month's figures ---------------------------------------------------------------------------


async def test_a_months_legs_within_and_over_48_hours(client, world: World):
    n = [f"SF90000000000{i:02d}" for i in range(9)]
    plan = [
        # (number, station, keeper, dispatched, received or None); hours by hand
        (n[1], world.station_a, world.keeper_a, "2026-10-05T02:00", "2026-10-06T02:00"),  # 24
        (n[2], world.station_a, world.keeper_a, "2026-10-05T02:00", "2026-10-07T14:00"),  # 60
        (n[3], world.station_a, world.keeper_a, "2026-10-10T00:00", None),  # open, late
        # 1 October, 01:00 in Shanghai: October's, though September's in UTC
        (n[6], world.station_a, world.keeper_a, "2026-09-30T17:00", "2026-10-01T05:00"),  # 12
        (n[5], world.station_b, world.keeper_b, "2026-10-20T00:00", "2026-10-20T06:00"),  # 6
        (n[8], world.station_b, world.keeper_b, "2026-10-21T00:00", "2026-10-23T00:00"),  # 48
        # 1 November, 00:30 in Shanghai: not October's
        (n[7], world.station_b, world.keeper_b, "2026-10-31T16:30", "2026-11-01T00:00"),
    ]
    for number, station, _, dispatched, _ in plan:
        answer = await dispatch(
            client, world.staff, world.county_id, station, [number], at(dispatched)
        )
        assert answer.status_code == 201, answer.text
    for number, _, keeper, _, got in plan:
        if got:
            assert (await push(client, keeper, [receipt(number, at(got))]))[0][
                "status"
            ] == "accepted"
    # Received a day BEFORE its dispatch: that receipt does not close the later leg.
    early = receipt(n[4], at("2026-10-11T00:00"))
    assert (await push(client, world.keeper_a, [early]))[0]["status"] == "accepted"
    answer = await dispatch(
        client, world.staff, world.county_id, world.station_a, [n[4]], at("2026-10-12T00:00")
    )
    assert answer.json()["created"] == 1

    october = await figures(client, world.staff, world.county_id, "2026-10")
    # 7 legs: within 48 h n1 (24 h), n6 (12 h), n5 (6 h), n8 (48 h exactly); late n2 (60 h),
    # n3 and n4 still open; closed hours 6, 12, 24, 48, 60 → median 24.
    assert october["totals"] == {
        "legs": 7,
        "within_48h": 4,
        "rate": round(4 / 7, 4),
        "late": 3,
        "late_open": 2,
        "pending": 0,
        "median_hours": 24.0,
    }
    a = station_row(october, world.station_a)
    assert (a["legs"], a["within_48h"], a["rate"], a["late_open"], a["median_hours"]) == (
        5,
        2,
        0.4,
        2,
        24.0,  # 12, 24, 60
    )
    b = station_row(october, world.station_b)
    assert (b["legs"], b["within_48h"], b["rate"], b["late_open"], b["median_hours"]) == (
        2,
        2,
        1.0,
        0,
        27.0,  # 6, 48
    )
    assert sorted(leg["tracking_no"] for leg in october["late_open_legs"]) == [n[3], n[4]]
    november = await figures(client, world.staff, world.county_id, "2026-11")
    assert november["totals"]["legs"] == 1 and november["totals"]["within_48h"] == 1
    # The foreign county's stations are not in the home county's figures.
    assert str(world.foreign_station) not in {row["station_id"] for row in october["stations"]}


async def test_legs_per_carrier_counted_by_hand_on_the_api_and_the_page(client, world: World):
    sf = [f"SF91000000000{i:02d}" for i in range(3)]
    zto = ["753210000000001", "753210000000002"]
    plan = [
        # (number, dispatched, received or None); hours by hand
        (sf[0], "2026-10-05T02:00", "2026-10-05T12:00"),  # 10 h
        (sf[1], "2026-10-05T02:00", "2026-10-06T08:00"),  # 30 h
        (sf[2], "2026-10-06T02:00", None),  # open past 48 h: late
        (zto[0], "2026-10-07T00:00", "2026-10-09T02:00"),  # 50 h: late
        (zto[1], "2026-10-07T00:00", "2026-10-07T04:00"),  # 4 h
    ]
    for number, dispatched, _ in plan:
        answer = await dispatch(
            client, world.staff, world.county_id, world.station_a, [number], at(dispatched)
        )
        assert answer.status_code == 201, answer.text
    receipts = [
        receipt(n, at(got), carrier="SF" if n in sf else "ZTO") for n, _, got in plan if got
    ]
    assert {r["status"] for r in await push(client, world.keeper_a, receipts)} == {"accepted"}

    october = await figures(client, world.staff, world.county_id, "2026-10")
    assert october["carriers"] == [
        {"carrier": "SF", "legs": 3, "within_48h": 2, "rate": round(2 / 3, 4), "late": 1,
         "late_open": 1, "pending": 0, "median_hours": 20.0},  # 10, 30
        {"carrier": "ZTO", "legs": 2, "within_48h": 1, "rate": 0.5, "late": 1,
         "late_open": 0, "pending": 0, "median_hours": 27.0},  # 4, 50
    ]  # fmt: skip
    # The carriers add up to the month's totals.
    assert sum(c["legs"] for c in october["carriers"]) == october["totals"]["legs"] == 5
    assert (await figures(client, world.staff, world.county_id, "2026-11"))["carriers"] == []

    await page_login(client, world.staff.phone)
    page = await client.get("/county/delivery?month=2026-10", headers=HTML)
    assert page.status_code == 200
    row = re.search(r'<tr data-leg-carrier="ZTO">(.*?)</tr>', page.text).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[0] == "中通" and cells[1] == "2 件" and cells[2] == "1 件"
    assert "50" in cells[3] and "27.0" in cells[6]


async def test_an_open_leg_within_48_hours_is_pending_then_late(client, world):
    number = tracking()
    dispatched = at("2026-11-10T00:00")
    await dispatch(client, world.staff, world.county_id, world.station_a, [number], dispatched)
    clock.utcnow = lambda: dispatched + datetime.timedelta(hours=47)  # type: ignore[assignment]
    before = await figures(client, world.staff, world.county_id, "2026-11")
    clock.utcnow = lambda: dispatched + datetime.timedelta(hours=49)  # type: ignore[assignment]
    after = await figures(client, world.staff, world.county_id, "2026-11")
    assert (before["totals"]["pending"], before["totals"]["late_open"]) == (1, 0)
    assert (after["totals"]["pending"], after["totals"]["late_open"]) == (0, 1)
    # On its way it is neither in time nor late (it counted as a failure: rate 0 at 47 h).
    assert (before["totals"]["rate"], after["totals"]["rate"]) == (None, 0.0)


async def test_the_month_must_be_a_month(client, world):
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/delivery?month=2026-13", headers=world.staff.headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == "county_invalid_month"
    default = await client.get(
        f"/api/v1/counties/{world.county_id}/delivery", headers=world.staff.headers
    )
    assert default.status_code == 200
    assert default.json()["month"] == REAL_NOW().astimezone(SHANGHAI).strftime("%Y-%m")


# The hub's hand-overs ----------------------------------------------------------------------------


async def test_dispatching_again_while_the_leg_is_open_makes_no_second_leg(client, world):
    number = tracking()
    first = await dispatch(client, world.staff, world.county_id, world.station_a, [number])
    # The scanner's spacing and lower case, and a second scan in the same batch.
    spaced = f"{number[:2].lower()} {number[2:8]}-{number[8:]}"
    again = await dispatch(client, world.staff, world.county_id, world.station_a, [spaced, number])
    assert first.status_code == again.status_code == 201
    assert (first.json()["created"], again.json()["created"]) == (1, 0)
    assert again.json()["already_open"] == 1
    (parcel,) = again.json()["parcels"]
    assert parcel["new"] is False and parcel["tracking_no"] == number
    assert parcel["leg_id"] == first.json()["parcels"][0]["leg_id"]
    assert parcel["carrier"] == "SF"
    month = REAL_NOW().astimezone(SHANGHAI).strftime("%Y-%m")
    assert (await figures(client, world.staff, world.county_id, month))["totals"]["legs"] == 1
    # Once the station has it, a new hand-over (a return sent out again) is a new leg.
    await push(client, world.keeper_a, [receipt(number, REAL_NOW())])
    later = await dispatch(
        client,
        world.staff,
        world.county_id,
        world.station_a,
        [number],
        REAL_NOW() + datetime.timedelta(hours=1),
    )
    assert later.json()["created"] == 1


async def test_two_simultaneous_scans_of_one_parcel_make_one_leg(client, world):
    number = tracking()
    answers = await asyncio.gather(
        *(
            dispatch(client, world.staff, world.county_id, world.station_a, [number])
            for _ in range(4)
        )
    )
    assert [a.status_code for a in answers] == [201] * 4
    assert sum(a.json()["created"] for a in answers) == 1
    assert len({a.json()["parcels"][0]["leg_id"] for a in answers}) == 1


async def test_a_scan_that_loses_the_race_for_a_leg_answers_the_winners_leg(
    client, world, monkeypatch
):
    """Both scans read "no leg yet" before either writes (PostgreSQL lets them; SQLite's
    writers queue, so there the second simply reads the first's leg): one leg all the same."""
    from backend.delivery import store

    real_latest_legs = store.latest_legs
    readers: list[int] = []
    both_read = asyncio.Event()

    async def latest_legs_in_step(station_id, numbers):
        found = await real_latest_legs(station_id, numbers)
        readers.append(1)
        if len(readers) >= 2:
            both_read.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both_read.wait(), 0.5)
        return found

    monkeypatch.setattr(store, "latest_legs", latest_legs_in_step)
    number = tracking()
    answers = await asyncio.gather(
        *(
            dispatch(client, world.staff, world.county_id, world.station_a, [number])
            for _ in range(2)
        )
    )
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert sorted(a.json()["created"] for a in answers) == [0, 1]
    assert len({a.json()["parcels"][0]["leg_id"] for a in answers}) == 1


async def test_jd_packages_are_legs_of_their_own_closed_by_their_own_receipt(client, world):
    base = "JD0012345678901"
    answer = await dispatch(
        client, world.staff, world.county_id, world.station_a, [f"{base}-1-2-", f"{base}-2-2-"]
    )
    assert [(p["tracking_no"], p["package"]) for p in answer.json()["parcels"]] == [
        (base, "1/2"),
        (base, "2/2"),
    ]
    await push(client, world.keeper_a, [receipt(f"{base}-1-2-", REAL_NOW(), carrier="JD")])
    month = REAL_NOW().astimezone(SHANGHAI).strftime("%Y-%m")
    totals = (await figures(client, world.staff, world.county_id, month))["totals"]
    assert (totals["legs"], totals["within_48h"], totals["pending"]) == (2, 1, 1)
    # The package still on its way is no failure: the rate and the year's target count the one
    # leg decided (they said 50 %).
    assert totals["rate"] == 1.0
    await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"targets": [{"name": "delivery_48h_pct", "target": 90}]},
        headers=world.staff.headers,
    )
    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis", params={"month": month},
        headers=world.staff.headers,
    )  # fmt: skip
    judged = {t["name"]: t for t in kpis.json()["targets"]}["delivery_48h_pct"]
    assert (judged["actual"], judged["met"]) == (100.0, True)


@pytest.mark.parametrize("receipt_first", [False, True])
async def test_a_hub_scan_racing_the_stations_receipt_gives_one_closed_leg(
    client, world, receipt_first
):
    number = tracking()
    scan = dispatch(client, world.staff, world.county_id, world.station_a, [number])
    sync = push(client, world.keeper_a, [receipt(number, REAL_NOW())])
    if receipt_first:
        await sync
        answers = [await scan]
    else:
        answers = [await scan]
        await sync
    assert answers[0].status_code == 201
    # And both at once.
    other = tracking()
    await asyncio.gather(
        dispatch(client, world.staff, world.county_id, world.station_b, [other]),
        push(client, world.keeper_b, [receipt(other, REAL_NOW())]),
    )
    month = REAL_NOW().astimezone(SHANGHAI).strftime("%Y-%m")
    answer = await figures(client, world.staff, world.county_id, month)
    for station in (world.station_a, world.station_b):
        row = station_row(answer, station)
        assert (row["legs"], row["within_48h"], row["pending"]) == (1, 1, 0)


async def test_bad_hand_overs_are_localized_problems_and_change_nothing(client, world):
    url = f"/api/v1/counties/{world.county_id}/hub-dispatches"
    good = tracking()

    async def post(body, language="zh-CN"):
        return await client.post(
            url, json=body, headers={**world.staff.headers, "accept-language": language}
        )

    station = str(world.station_a)
    control = await post({"station_id": station, "tracking_nos": [good, "SF12\x0034567890"]})
    assert control.status_code == 422
    assert control.json()["code"] == "delivery_invalid_tracking_no_at"
    assert control.json()["field"] == "tracking_nos"
    assert "第 2 个" in control.json()["detail"]
    english = await post({"station_id": station, "tracking_nos": [good, "ABC"]}, "en")
    assert english.status_code == 422 and "Number 2" in english.json()["detail"]
    uyghur = await post({"station_id": station, "tracking_nos": ["  "]}, "ug")
    assert uyghur.status_code == 422 and uyghur.json()["detail"] != control.json()["detail"]
    for body in (
        {"station_id": station, "tracking_nos": []},
        {"station_id": station, "tracking_nos": [tracking() for _ in range(501)]},
        {"station_id": station, "tracking_nos": ["SF" + "1" * 70]},
        {"station_id": station},
        {"station_id": station, "tracking_nos": [good], "carrier": "SF"},
        {"station_id": "not-a-uuid", "tracking_nos": [good]},
    ):
        refused = await post(body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    foreign = await post({"station_id": str(world.foreign_station), "tracking_nos": [good]})
    assert foreign.status_code == 422 and foreign.json()["code"] == "delivery_unknown_station"
    # Nothing was handed over: the good number's first real hand-over is new.
    first = await post({"station_id": station, "tracking_nos": [good]})
    assert first.json()["created"] == 1
    most = await post({"station_id": station, "tracking_nos": [tracking() for _ in range(500)]})
    assert most.status_code == 201 and most.json()["created"] == 500


async def test_who_may_hand_over_and_read_the_figures(client, world):
    number = tracking()
    home, foreign = world.county_id, world.foreign_county_id
    assert (
        await dispatch(client, world.keeper_a, home, world.station_a, [number])
    ).status_code == 403
    assert (
        await dispatch(client, world.foreign_staff, home, world.station_a, [number])
    ).status_code == 403
    assert (await dispatch(client, world.admin, home, world.station_a, [number])).status_code == 201
    for actor in (world.keeper_a, world.foreign_staff):
        response = await client.get(f"/api/v1/counties/{home}/delivery", headers=actor.headers)
        assert response.status_code == 403
    anonymous = await client.post(f"/api/v1/counties/{home}/hub-dispatches", json={})
    assert anonymous.status_code == 401
    # A hub account: made by the county's staff, scans for its county only, reads nothing else.
    made = await client.post(
        f"/api/v1/counties/{home}/users",
        json={"phone": "13700000099", "name": "分拣员", "password": PASSWORD, "role": "hub"},
        headers=world.staff.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "hub" and made.json()["station_id"] is None
    with_station = await client.post(
        f"/api/v1/counties/{home}/users",
        json={
            "phone": "13700000098",
            "name": "分拣员",
            "password": PASSWORD,
            "role": "hub",
            "station_id": str(world.station_a),
        },
        headers=world.staff.headers,
    )
    assert with_station.status_code == 422
    token = (await login(client, "13700000099"))["token"]
    hub = Actor(id=made.json()["id"], phone="13700000099", token=token, role="hub", county_id=home)
    assert (await dispatch(client, hub, home, world.station_b, [tracking()])).status_code == 201
    assert (
        await dispatch(client, hub, foreign, world.foreign_station, [tracking()])
    ).status_code == 403
    for path in (
        f"/api/v1/counties/{home}/delivery",
        f"/api/v1/counties/{home}/stations",
        f"/api/v1/stations/{world.station_a}/parcels",
        f"/api/v1/counties/{home}/users",
        "/api/v1/sync",
    ):
        assert (await client.get(path, headers=hub.headers)).status_code == 403, path


# The villagers' lookup --------------------------------------------------------------------------


async def track(client, number: str, last4: str | None = None, **headers):
    params = {"tracking_no": number}
    if last4 is not None:
        params["phone_last4"] = last4
    response = await client.get("/api/v1/track", params=params, headers=headers)
    assert not PHONE_LIKE.search(response.text), response.text
    return response


async def test_every_status_and_the_station_only_for_the_right_tail(client, world):
    unknown = await track(client, tracking(), "5678")
    assert (unknown.status_code, unknown.json()) == (200, {"status": "unknown"})
    assert (await track(client, "not a number")).json() == {"status": "unknown"}

    number = tracking()
    await dispatch(client, world.staff, world.county_id, world.station_a, [number])
    assert (await track(client, number, "5678")).json() == {"status": "on_route"}

    got = (await push(client, world.keeper_a, [receipt(number, REAL_NOW())]))[0]
    assert (await track(client, number)).json() == {"status": "on_shelf"}
    assert (await track(client, number, "0000")).json() == {"status": "on_shelf"}
    assert (await track(client, number.lower(), "5678")).json() == {
        "status": "on_shelf",
        "station": "A001服务站",
        "pickup_code": got["pickup_code"],
        "opening_hours": "8:00-20:00",
    }
    pickup = event("parcel.picked_up", {"tracking_no": number, "pickup_code": got["pickup_code"]})
    await push(client, world.keeper_a, [pickup])
    assert (await track(client, number, "5678")).json() == {
        "status": "picked_up",
        "station": "A001服务站",
    }
    assert (await track(client, number, "1234")).json() == {"status": "picked_up"}

    sent_back = tracking()
    await push(client, world.keeper_b, [receipt(sent_back, REAL_NOW(), phone="13900001111")])
    back = event("parcel.returned", {"tracking_no": sent_back, "reason": "超过7天未取"})
    await push(client, world.keeper_b, [back])
    assert (await track(client, sent_back, "1111")).json() == {
        "status": "returned",
        "station": "B001服务站",
    }
    bad = await track(client, number, "12a4")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_phone_last4"
    missing = await client.get("/api/v1/track")
    assert missing.status_code == 400
    assert missing.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("label", ["138****5678", "5678", "13812345678"])
async def test_a_privacy_label_or_last_four_match_like_a_full_number(client, world, label):
    number = tracking()
    code = (await push(client, world.keeper_a, [receipt(number, REAL_NOW(), phone=label)]))[0][
        "pickup_code"
    ]
    assert (await track(client, number, "5678")).json()["pickup_code"] == code
    assert "pickup_code" not in (await track(client, number, "5679")).json()


async def test_lookups_are_throttled_per_address_and_per_number(app, client, world):
    number = tracking()
    await push(client, world.keeper_a, [receipt(number, REAL_NOW())])
    # A guesser's wrong tails for one number: after 10 the number is refused to everybody for
    # the window, the right tail and another address included (no oracle).
    for tail in range(10):
        assert (await track(client, number, f"{tail:04d}")).status_code == 200
    refused = await track(client, number, "5678")
    assert refused.status_code == 429
    assert refused.json()["code"] == "delivery_track_throttled"
    assert int(refused.headers["retry-after"]) > 0
    elsewhere = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 50000)),
        base_url="http://testserver.local",
    )
    async with elsewhere:
        assert (await track(elsewhere, number, "5678")).status_code == 429
        # Another number from there is answered; one address walking through numbers is not.
        assert (await track(elsewhere, tracking(), "5678")).status_code == 200
        for _ in range(29):
            assert (await track(elsewhere, tracking(), "5678")).status_code == 200
        assert (await track(elsewhere, tracking(), "5678")).status_code == 429
        page = await elsewhere.get("/track", params={"tracking_no": tracking()})
        assert page.status_code == 429 and "查询次数太多" in page.text
    # The next window starts afresh.
    clock.utcnow = lambda: REAL_NOW() + datetime.timedelta(minutes=11)  # type: ignore[assignment]
    assert (await track(client, number, "5678")).json()["station"] == "A001服务站"


async def test_the_tracking_page_in_three_languages_without_script(client, world):
    number = tracking()
    code = (await push(client, world.keeper_a, [receipt(number, REAL_NOW())]))[0]["pickup_code"]
    empty = await client.get("/track")
    assert empty.status_code == 200
    assert 'lang="zh-CN"' in empty.text and "查询包裹" in empty.text
    assert "<script" not in empty.text and 'method="get"' in empty.text
    found = await client.get("/track", params={"tracking_no": number, "phone_last4": "5678"})
    assert code in found.text and "A001服务站" in found.text
    assert found.headers["cache-control"] == "no-store"
    # The form shows the number typed; its random digits may look like a phone (1 in 5).
    assert not PHONE_LIKE.search(found.text.replace(number, ""))
    wrong = await client.get("/track", params={"tracking_no": number, "phone_last4": "0000"})
    assert code not in wrong.text and "A001" not in wrong.text and "可以取件" in wrong.text
    uyghur = await client.get(
        "/track", params={"tracking_no": number, "phone_last4": "5678", "lang": "ug"}
    )
    assert 'dir="rtl"' in uyghur.text and "ئېلىش نومۇرى" in uyghur.text
    assert f"\u2066{code}\u2069" in uyghur.text  # the code reads left to right
    english = await client.get(
        "/track", params={"tracking_no": number, "phone_last4": "5678", "lang": "en"}
    )
    assert "Pickup code" in english.text and "<script" not in english.text
    # The chosen language stays (the switcher's cookie) until another is chosen.
    bad = await client.get("/track", params={"tracking_no": number, "phone_last4": "12"})
    assert bad.status_code == 400 and "last 4 digits" in bad.text
    chinese = await client.get("/track", params={"tracking_no": number, "lang": "zh-CN"})
    assert 'lang="zh-CN"' in chinese.text and "输入收件人手机后4位" in chinese.text


async def test_the_tracking_page_is_styled_within_its_own_policy(client, world):
    """A browser applies the page's inline stylesheet only if the policy names its hash; the
    form may send only to the page itself, and no script may run."""
    page = await client.get("/track")
    style = page.text.split("<style>")[1].split("</style>")[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = page.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}'" in policy
    assert "form-action 'self'" in policy and "default-src 'none'" in policy
    assert "script-src" not in policy  # default-src 'none' covers it
    assert "button" in style and len(page.content) < 20 * 1024
