"""Every way an entry is refused: a clear, localized reason, the field at fault, nothing stored."""

import pytest

from backend.ledger.tables import Event
from tests.support import event, new_id, now_iso, push, received, tracking

SERVICE = {"service": "phone_topup", "amount_fen": 1000, "fee_fen": 0}


def with_data(event_type: str, base: dict, **changes) -> dict:
    data = {**base, **changes}
    return event(event_type, {k: v for k, v in data.items() if v is not ...})


CASES = [
    # (entry, code, field)
    (with_data("service.recorded", SERVICE, amount_fen=12.5), "money_not_fen", "amount_fen"),
    (with_data("service.recorded", SERVICE, amount_fen="12.5"), "not_a_number", "amount_fen"),
    (with_data("service.recorded", SERVICE, amount_fen=-1), "out_of_range", "amount_fen"),
    (with_data("service.recorded", SERVICE, amount_fen=2**63), "out_of_range", "amount_fen"),
    (with_data("service.recorded", SERVICE, amount_fen=10_000_001), "out_of_range", "amount_fen"),
    (with_data("service.recorded", SERVICE, amount_fen=True), "invalid_value", "amount_fen"),
    (with_data("service.recorded", SERVICE, fee_fen=...), "missing_field", "fee_fen"),
    (with_data("service.recorded", SERVICE, colour="red"), "unknown_field", "colour"),
    (with_data("service.recorded", SERVICE, service="lottery"), "invalid_choice", "service"),
    (event("telepathy.recorded", {}), "unknown_event_type", "type"),
    (
        {"id": "not-a-uuid", "type": "checkin.recorded", "occurred_at": now_iso(), "data": {}},
        "invalid_id",
        "id",
    ),
    ({**event("checkin.recorded", {}), "color": 1}, "unknown_field", "color"),
    (
        {**event("checkin.recorded", {}), "occurred_at": "2026-11-22T09:30:00"},
        "time_without_zone",
        "occurred_at",
    ),
    ({**event("checkin.recorded", {}), "occurred_at": "yesterday"}, "invalid_time", "occurred_at"),
    (
        {**event("checkin.recorded", {}), "occurred_at": "2099-01-01T00:00:00+08:00"},
        "time_out_of_range",
        "occurred_at",
    ),
    (
        {**event("checkin.recorded", {}), "occurred_at": "2001-01-01T00:00:00+08:00"},
        "time_out_of_range",
        "occurred_at",
    ),
    # Beyond what a datetime holds once moved to UTC: refused alike, not a server error.
    (
        {**event("checkin.recorded", {}), "occurred_at": "0001-01-01T00:00:00+08:00"},
        "time_out_of_range",
        "occurred_at",
    ),
    (
        {**event("checkin.recorded", {}), "occurred_at": "9999-12-31T23:59:59-08:00"},
        "time_out_of_range",
        "occurred_at",
    ),
    (event("checkin.recorded", {"lat": 30.1}), "location_incomplete", "lng"),
    (event("checkin.recorded", {"lat": 91, "lng": 100}), "out_of_range", "lat"),
    (received(phone="12345678901"), "invalid_phone", "recipient_phone"),
    (received(phone="1381234567"), "invalid_phone", "recipient_phone"),
    (received(tracking_no="12345"), "invalid_tracking_no", "tracking_no"),
    (received(tracking_no="SF12345#67890"), "invalid_tracking_no", "tracking_no"),
    (received(tracking_no="YT1234567890123"), "tracking_no_unusual", "tracking_no"),
    (received(pickup_code="1 1 1"), "invalid_pickup_code", "pickup_code"),
    (
        with_data(
            "parcel.dispatched",
            {
                "tracking_no": "JT1234567890123",
                "carrier": "JT",
                "weight_g": 0,
                "fee_fen": 800,
                "destination": "昆明",
                "farm_product": False,
            },
        ),
        "out_of_range",
        "weight_g",
    ),
    (
        with_data(
            "parcel.dispatched",
            {
                "tracking_no": "JT1234567890123",
                "carrier": "JT",
                "weight_g": 800,
                "fee_fen": 800,
                "destination": "  ",
                "farm_product": False,
            },
        ),
        "missing_field",
        "destination",
    ),
    (
        with_data(
            "parcel.dispatched",
            {
                "tracking_no": "JT1234567890123",
                "carrier": "JT",
                "weight_g": 1.5,
                "fee_fen": 800,
                "destination": "昆明",
                "farm_product": False,
            },
        ),
        "not_integer",
        "weight_g",
    ),
    (
        with_data(
            "sale.recorded",
            {
                "product": "苹果",
                "quantity": 0,
                "unit": "斤",
                "amount_fen": 1,
                "commission_fen": 0,
                "channel": "微信",
            },
        ),
        "out_of_range",
        "quantity",
    ),
    (
        with_data(
            "purchase.ordered",
            {"platform": "amazon", "item": "锅", "amount_fen": 1, "commission_fen": 0},
        ),
        "invalid_choice",
        "platform",
    ),
    (
        with_data(
            "purchase.ordered",
            {
                "platform": "jd",
                "item": "锅",
                "amount_fen": 1,
                "commission_fen": 0,
                "household_code": "NOPE-1",
            },
        ),
        "unknown_household",
        "household_code",
    ),
    (event("purchase.delivered", {"purchase_id": new_id()}), "unknown_purchase", "purchase_id"),
    (
        event("entry.reversed", {"target_id": new_id(), "reason": "错了"}),
        "unknown_entry",
        "target_id",
    ),
    (event("entry.reversed", {"target_id": new_id(), "reason": ""}), "bad_length", "reason"),
    (
        event("parcel.returned", {"tracking_no": "SF1234567890123", "reason": "超期"}),
        "parcel_not_on_shelf",
        "tracking_no",
    ),
    ("just a string", "invalid_event", None),
]


@pytest.mark.parametrize(
    ("entry", "code", "field"), CASES, ids=[c[1] + "-" + str(i) for i, c in enumerate(CASES)]
)
async def test_bad_entries_are_rejected_with_a_reason_and_nothing_is_stored(
    client, world, entry, code, field
):
    results = await push(client, world.keeper_a, [entry])
    assert results[0]["status"] == "rejected"
    error = results[0]["error"]
    assert error["code"] == code, error
    assert error.get("field") == field
    assert error["detail"] and not error["detail"].startswith("problem.")
    assert error["title"] and not error["title"].startswith("problem.")
    assert await Event.count() == 0


async def test_rejection_messages_speak_the_callers_language(client, world):
    entry = with_data("service.recorded", SERVICE, amount_fen=12.5)
    answers = {}
    for language in ("zh-CN", "en", "ug"):
        response = await client.post(
            "/api/v1/sync",
            json={"device_id": new_id(), "events": [entry]},
            headers={**world.keeper_a.headers, "accept-language": language},
        )
        answers[language] = response.json()["results"][0]["error"]["detail"]
    assert "金额" in answers["zh-CN"] and "1250" in answers["zh-CN"]
    assert "amount" in answers["en"] and "1250" in answers["en"]
    assert "سومما" in answers["ug"]


async def test_unusual_tracking_number_is_accepted_once_the_keeper_confirms(client, world):
    unusual = received(tracking_no="YT1234567890123")
    assert (await push(client, world.keeper_a, [unusual]))[0]["status"] == "rejected"
    unusual["data"]["tracking_confirmed"] = True
    assert (await push(client, world.keeper_a, [unusual]))[0]["status"] == "accepted"


async def test_other_carrier_takes_any_plain_number_and_tracking_numbers_are_normalized(
    client, world
):
    entry = event(
        "parcel.received",
        {"tracking_no": "ab 1234-5678", "carrier": "OTHER", "recipient_phone": "13512345678"},
    )
    assert (await push(client, world.keeper_a, [entry]))[0]["status"] == "accepted"
    parcels = await client.get(
        f"/api/v1/stations/{world.station_a}/parcels", headers=world.keeper_a.headers
    )
    assert parcels.json()[0]["tracking_no"] == "AB12345678"


@pytest.mark.parametrize(
    ("carrier", "number"),
    [
        ("SF", "SF1234567890123"),
        ("ZTO", "731234567890"),
        ("YTO", "YT1234567890123"),
        ("STO", "7731234567890"),
        ("YUNDA", "4312345678901"),
        ("JD", "JDVA12345678901"),
        ("EMS", "EA123456789CN"),
        ("EMS", "9876543210123"),
        ("JT", "JT1234567890123"),
        ("BEST", "551234567890"),
    ],
)
async def test_each_carriers_usual_numbers_are_accepted(client, world, carrier, number):
    entry = event(
        "parcel.received",
        {"tracking_no": number, "carrier": carrier, "recipient_phone": "13612345678"},
    )
    assert (await push(client, world.keeper_a, [entry]))[0]["status"] == "accepted"


async def test_household_of_another_county_is_unknown(client, world):
    entry = with_data(
        "sale.recorded",
        {
            "product": "枣",
            "quantity": 3,
            "unit": "斤",
            "amount_fen": 3000,
            "commission_fen": 0,
            "channel": "抖音",
            "household_code": world.foreign_household_code,
        },
    )
    error = (await push(client, world.keeper_a, [entry]))[0]["error"]
    assert error["code"] == "unknown_household"


async def test_purchase_of_another_station_cannot_be_delivered_or_reversed(client, world):
    order = event(
        "purchase.ordered",
        {"platform": "taobao", "item": "化肥", "amount_fen": 8000, "commission_fen": 200},
    )
    await push(client, world.keeper_a, [order])
    deliver = event("purchase.delivered", {"purchase_id": order["id"]})
    reverse = event("entry.reversed", {"target_id": order["id"], "reason": "不是我的"})
    results = await push(client, world.keeper_b, [deliver, reverse])
    assert [r["error"]["code"] for r in results] == ["unknown_purchase", "unknown_entry"]


async def test_reversal_rules(client, world):
    """P2: reverse twice, reverse a reversal, reverse a received parcel already picked up."""
    sale = with_data(
        "sale.recorded",
        {
            "product": "蜂蜜",
            "quantity": 2,
            "unit": "瓶",
            "amount_fen": 9000,
            "commission_fen": 450,
            "channel": "微信群",
        },
    )
    reversal = event("entry.reversed", {"target_id": sale["id"], "reason": "录错"})
    twice = event("entry.reversed", {"target_id": sale["id"], "reason": "再冲"})
    of_reversal = event("entry.reversed", {"target_id": reversal["id"], "reason": "反冲"})
    results = await push(client, world.keeper_a, [sale, reversal, twice, of_reversal])
    assert [r["status"] for r in results] == ["accepted", "accepted", "rejected", "rejected"]
    assert results[2]["error"]["code"] == "already_reversed"
    assert results[3]["error"]["code"] == "cannot_reverse_reversal"
    # Later batches meet the same rules from the stored state.
    later = await push(
        client,
        world.keeper_a,
        [event("entry.reversed", {"target_id": sale["id"], "reason": "又一次"})],
    )
    assert later[0]["error"]["code"] == "already_reversed"

    parcel = received()
    code = (await push(client, world.keeper_a, [parcel]))[0]["pickup_code"]
    pickup = event(
        "parcel.picked_up", {"tracking_no": parcel["data"]["tracking_no"], "pickup_code": code}
    )
    undo_receipt = event("entry.reversed", {"target_id": parcel["id"], "reason": "录错"})
    results = await push(client, world.keeper_a, [pickup, undo_receipt])
    assert results[1]["error"]["code"] == "reverse_pickup_first"


async def test_no_update_or_delete_path_exists_for_events(client, world, app):
    await push(client, world.keeper_a, [received()])
    for method in ("PUT", "PATCH", "DELETE"):
        response = await client.request(method, "/api/v1/sync", headers=world.keeper_a.headers)
        assert response.status_code == 405
    paths = [route.path for route in app.routes]
    assert not [p for p in paths if "event" in p and "{event" in p]


async def test_dispatching_the_same_tracking_number_twice_is_refused(client, world):
    number = tracking("JT")
    entry = {
        "tracking_no": number,
        "carrier": "JT",
        "weight_g": 1000,
        "fee_fen": 800,
        "destination": "广州",
        "farm_product": True,
    }
    results = await push(
        client,
        world.keeper_a,
        [event("parcel.dispatched", entry), event("parcel.dispatched", entry)],
    )
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["error"]["code"] == "already_dispatched"


async def test_the_same_parcel_cannot_be_on_the_shelf_twice(client, world):
    number = tracking("SF")
    results = await push(
        client, world.keeper_a, [received(tracking_no=number), received(tracking_no=number)]
    )
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["error"]["code"] == "parcel_already_on_shelf"
