"""The sync protocol of API.md as a phone meets it: every event type, duplicates, conflicts, limits,
the pull, and the station boundary."""

import json
import uuid

from backend.ledger.tables import Conflict, Event
from tests.support import event, new_id, now_iso, push, received, statuses, tracking


def every_kind(household_code: str) -> list[dict]:
    """One valid entry of every event type, in an order where references resolve."""
    parcel = received(recipient_name="王秀英")
    purchase = event(
        "purchase.ordered",
        {
            "platform": "pinduoduo",
            "item": "电饭煲",
            "amount_fen": 15900,
            "commission_fen": 300,
            "customer_phone": "13912345678",
            "household_code": household_code,
        },
    )
    sale = event(
        "sale.recorded",
        {
            "product": "核桃",
            "quantity": 12.5,
            "unit": "斤",
            "amount_fen": 25000,
            "commission_fen": 1250,
            "channel": "拼多多店铺",
            "household_code": household_code,
        },
    )
    return [
        parcel,
        event(
            "parcel.picked_up",
            {"tracking_no": parcel["data"]["tracking_no"], "pickup_code": "WILL-BE-SET"},
        ),
        received(),
        event(
            "parcel.dispatched",
            {
                "tracking_no": tracking("YT"),
                "carrier": "YTO",
                "weight_g": 5200,
                "fee_fen": 1200,
                "destination": "杭州市",
                "farm_product": True,
                "household_code": household_code,
            },
        ),
        purchase,
        event("purchase.delivered", {"purchase_id": purchase["id"]}),
        sale,
        event(
            "service.recorded",
            {"service": "phone_topup", "amount_fen": 5000, "fee_fen": 0, "account": "13712340000"},
        ),
        event("checkin.recorded", {"lat": 26.58, "lng": 106.71, "note": "正常营业"}),
        event("entry.reversed", {"target_id": sale["id"], "reason": "数量记错"}),
    ]


async def test_every_event_type_round_trips(client, world):
    entries = every_kind(world.household_code)
    first = await push(client, world.keeper_a, entries[:1])
    assert statuses(first) == ["accepted"]
    code = first[0]["pickup_code"]
    assert code
    entries[1]["data"]["pickup_code"] = code
    results = await push(client, world.keeper_a, entries[1:])
    assert statuses(results) == ["accepted"] * (len(entries) - 1), results
    assert [r["seq"] for r in [*first, *results]] == list(range(1, len(entries) + 1))
    pulled = (await client.get("/api/v1/sync", headers=world.keeper_a.headers)).json()
    assert [e["id"] for e in pulled["events"]] == [e["id"] for e in entries]
    assert [e["type"] for e in pulled["events"]] == [e["type"] for e in entries]
    assert pulled["cursor"] == str(len(entries))
    sale = next(e for e in pulled["events"] if e["type"] == "sale.recorded")
    assert sale["reversed_by"] == entries[-1]["id"]
    assert sale["data"]["quantity"] == 12.5


async def test_same_batch_again_is_all_duplicates_and_nothing_is_stored_twice(client, world):
    entries = [received(), received(), event("checkin.recorded", {})]
    first = await push(client, world.keeper_a, entries)
    again = await push(client, world.keeper_a, entries)
    assert statuses(first) == ["accepted"] * 3
    assert statuses(again) == ["duplicate"] * 3
    assert [r["seq"] for r in again] == [r["seq"] for r in first]
    assert [r.get("pickup_code") for r in again] == [r.get("pickup_code") for r in first]
    assert await Event.count() == 3


async def test_same_id_other_content_is_a_conflict_and_the_original_stays(client, world):
    original = event(
        "service.recorded", {"service": "electricity", "amount_fen": 10000, "fee_fen": 0}
    )
    await push(client, world.keeper_a, [original])
    changed = {**original, "data": {**original["data"], "amount_fen": 99999}}
    for _ in range(3):
        assert statuses(await push(client, world.keeper_a, [changed])) == ["conflict"]
    stored = await Event.select(Event.data).where(Event.id == uuid.UUID(original["id"])).first()
    assert json.loads(stored["data"])["amount_fen"] == 10000
    assert await Conflict.count().where(Conflict.event_id == uuid.UUID(original["id"])) == 3


async def test_same_instant_written_with_another_offset_is_a_duplicate(client, world):
    entry = event("checkin.recorded", {}, occurred_at="2026-11-20T09:30:00+08:00")
    await push(client, world.keeper_a, [entry])
    same = {**entry, "occurred_at": "2026-11-20T01:30:00Z"}
    assert statuses(await push(client, world.keeper_a, [same])) == ["duplicate"]


async def test_another_station_replaying_an_id_is_refused_and_stores_nothing(client, world):
    entry = received()
    await push(client, world.keeper_a, [entry])
    for actor in (world.keeper_b, world.foreign_keeper):
        assert statuses(await push(client, actor, [entry])) == ["conflict"]
    assert await Event.count().where(Event.station == world.station_b) == 0
    assert await Event.count().where(Event.station == world.foreign_station) == 0


async def test_events_of_a_batch_are_judged_in_order(client, world):
    parcel = received()
    pickup_before = event(
        "parcel.picked_up",
        {"tracking_no": parcel["data"]["tracking_no"], "pickup_code": "1-1-0000"},
    )
    results = await push(client, world.keeper_a, [pickup_before, parcel])
    assert statuses(results) == ["rejected", "accepted"]
    assert results[0]["error"]["code"] == "parcel_not_on_shelf"


async def test_a_rejected_id_can_be_sent_again_fixed(client, world):
    bad = event("service.recorded", {"service": "water", "amount_fen": 12.5, "fee_fen": 0})
    assert statuses(await push(client, world.keeper_a, [bad])) == ["rejected"]
    fixed = {**bad, "data": {**bad["data"], "amount_fen": 1250}}
    assert statuses(await push(client, world.keeper_a, [fixed])) == ["accepted"]


async def test_a_batch_over_500_events_is_413(client, world):
    entries = [event("checkin.recorded", {}) for _ in range(501)]
    response = await client.post(
        "/api/v1/sync",
        json={"device_id": new_id(), "events": entries},
        headers=world.keeper_a.headers,
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert await Event.count() == 0


async def test_a_body_over_1_mib_is_413(client, world):
    note = "很" * 60
    entries = [event("checkin.recorded", {"note": note}) for _ in range(5000)]
    response = await client.post(
        "/api/v1/sync",
        json={"device_id": new_id(), "events": entries},
        headers=world.keeper_a.headers,
    )
    assert response.status_code == 413
    assert await Event.count() == 0


async def test_500_events_is_fine(client, world):
    entries = [event("checkin.recorded", {}) for _ in range(500)]
    assert statuses(await push(client, world.keeper_a, entries)) == ["accepted"] * 500


async def test_envelope_errors_are_400_problems(client, world):
    for body in (
        {"events": []},
        {"device_id": "not-a-uuid", "events": []},
        {"device_id": new_id(), "events": [], "extra": 1},
        {"device_id": new_id(), "events": "nope"},
    ):
        response = await client.post("/api/v1/sync", json=body, headers=world.keeper_a.headers)
        assert response.status_code == 400, body
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_staff_cannot_push_or_pull(client, world):
    response = await client.post(
        "/api/v1/sync",
        json={"device_id": new_id(), "events": [received()]},
        headers=world.staff.headers,
    )
    assert response.status_code == 403
    assert (await client.get("/api/v1/sync", headers=world.staff.headers)).status_code == 403


async def test_pull_pages_with_a_stable_cursor_and_masks_personal_data(client, world):
    entries = [received(phone="13899998888") for _ in range(3)]
    entries.append(
        event(
            "service.recorded",
            {
                "service": "broadband",
                "amount_fen": 100,
                "fee_fen": 0,
                "account": "6222021234567890",
            },
        )
    )
    await push(client, world.keeper_a, entries)
    first = (await client.get("/api/v1/sync?since=0", headers=world.keeper_a.headers)).json()
    assert first["more"] is False
    assert first["events"][0]["data"]["recipient_phone"] == "138****8888"
    assert first["events"][3]["data"]["account"] == "************7890"
    assert "13899998888" not in json.dumps(first)
    cursor = first["cursor"]
    empty = (
        await client.get(f"/api/v1/sync?since={cursor}", headers=world.keeper_a.headers)
    ).json()
    assert empty["events"] == [] and empty["cursor"] == cursor
    await push(client, world.keeper_a, [event("checkin.recorded", {})])
    later = (
        await client.get(f"/api/v1/sync?since={cursor}", headers=world.keeper_a.headers)
    ).json()
    assert [e["seq"] for e in later["events"]] == [5]
    bad = await client.get("/api/v1/sync?since=abc", headers=world.keeper_a.headers)
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_cursor"


async def test_pull_pages_of_500(client, world):
    await push(client, world.keeper_a, [event("checkin.recorded", {}) for _ in range(500)])
    await push(client, world.keeper_a, [event("checkin.recorded", {}) for _ in range(20)])
    first = (await client.get("/api/v1/sync", headers=world.keeper_a.headers)).json()
    assert len(first["events"]) == 500 and first["more"] is True
    rest = (
        await client.get(f"/api/v1/sync?since={first['cursor']}", headers=world.keeper_a.headers)
    ).json()
    assert len(rest["events"]) == 20 and rest["more"] is False
    seqs = [e["seq"] for e in first["events"] + rest["events"]]
    assert seqs == list(range(1, 521))


async def test_a_phone_clock_ahead_counts_on_the_day_the_server_got_it(client, world):
    entry = event(
        "service.recorded",
        {"service": "water", "amount_fen": 300, "fee_fen": 0},
        occurred_at=now_iso(offset_hours=24 * 30),
    )
    results = await push(client, world.keeper_a, [entry])
    assert statuses(results) == ["accepted"]
    assert results[0]["warnings"] == ["clock_ahead"]
    today = (
        await client.get(
            f"/api/v1/stations/{world.station_a}/cashbook", headers=world.keeper_a.headers
        )
    ).json()
    assert [line["kind"] for line in today["kinds"]] == ["service_water"]


async def test_business_day_follows_the_county_time_zone(client, world):
    # 23:30 in Urumqi on the 20th is 01:30 on the 21st in Beijing time; Urumqi's day counts.
    entry = event("checkin.recorded", {}, occurred_at="2026-11-20T23:30:00+06:00")
    await push(client, world.foreign_keeper, [entry])
    day = await client.get(
        f"/api/v1/stations/{world.foreign_station}/cashbook?date=2026-11-20",
        headers=world.foreign_keeper.headers,
    )
    assert [line["kind"] for line in day.json()["kinds"]] == ["checkin_recorded"]
