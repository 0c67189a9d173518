"""The counter's set-up and helpers as a keeper and county staff meet them: the shelf with the
keeper's own names, moving a parcel (an event), per-carrier counts of the day, the 代发 price table
(county, station override) and the household's QR card scanned at the counter."""

from __future__ import annotations

import segno  # noqa: F401  (the card is made with it; imported so a missing install fails here)

from backend.registry.tables import Household
from tests.support import event, push, received, statuses, tracking


async def test_the_keeper_sets_up_the_shelf_with_own_names(client, world):
    url = f"/api/v1/stations/{world.station_a}/shelf"
    response = await client.put(
        url,
        json={"shelves": 3, "layers": 5, "shelf_names": ["左", "中", "右"],
              "opening_hours": "9:00-19:30"},
        headers=world.keeper_a.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() == {
        "shelves": 3,
        "layers": 5,
        "shelf_names": ["左", "中", "右"],
        "opening_hours": "9:00-19:30",
    }
    # New parcels are placed on that grid.
    results = await push(client, world.keeper_a, [received() for _ in range(20)])
    slots = {tuple(int(x) for x in r["pickup_code"].split("-")[:2]) for r in results}
    assert max(s for s, _ in slots) == 3 and max(layer for _, layer in slots) == 5

    repeated = await client.put(
        url,
        json={"shelves": 2, "layers": 2, "shelf_names": ["A", "A"]},
        headers=world.keeper_a.headers,
    )
    assert repeated.status_code == 422
    assert repeated.json()["code"] == "shelf_names_repeat"
    other = await client.put(
        f"/api/v1/stations/{world.station_b}/shelf",
        json={"shelves": 2, "layers": 2},
        headers=world.keeper_a.headers,
    )
    assert other.status_code == 403


async def test_moving_a_parcel_is_an_event_and_its_new_code_hands_it_over(client, world):
    first, second = received(), received()
    results = await push(client, world.keeper_a, [first, second])
    move = event("parcel.moved", {"parcel_id": first["id"], "pickup_code": "9-9-0001"})
    clash = event("parcel.moved", {"parcel_id": second["id"], "pickup_code": "9-9-0001"})
    moved = await push(client, world.keeper_a, [move, clash])
    assert statuses(moved) == ["accepted", "rejected"]
    assert moved[1]["error"]["code"] == "pickup_code_in_use"

    found = await client.get(
        f"/api/v1/stations/{world.station_a}/parcels",
        params={"code": "9-9-0001"},
        headers=world.keeper_a.headers,
    )
    assert [p["id"] for p in found.json()] == [first["id"]]
    old_code = results[0]["pickup_code"]
    # The old slot is free again for the next parcel.
    assert statuses(
        await push(client, world.keeper_a, [
            event("parcel.moved", {"parcel_id": second["id"], "pickup_code": old_code})
        ])
    ) == ["accepted"]  # fmt: skip
    picked = event(
        "parcel.picked_up", {"tracking_no": first["data"]["tracking_no"], "pickup_code": "9-9-0001"}
    )
    assert statuses(await push(client, world.keeper_a, [picked])) == ["accepted"]
    # Reversing a move is refused: the keeper moves it back instead.
    undo = event("entry.reversed", {"target_id": move["id"], "reason": "错了"})
    [refused] = await push(client, world.keeper_a, [undo])
    assert refused["error"]["code"] == "move_again_instead"
    # A move touches no money.
    cashbook = await client.get(
        f"/api/v1/stations/{world.station_a}/cashbook", headers=world.keeper_a.headers
    )
    assert "parcel_moved" not in str(cashbook.json())


async def test_per_carrier_counts_for_the_day(client, world):
    sf = [received(tracking("SF", 13)) for _ in range(3)]
    zto = [received(tracking("", 12), carrier="ZTO") for _ in range(2)]
    results = await push(client, world.keeper_a, [*sf, *zto])
    picked = event(
        "parcel.picked_up",
        {"tracking_no": sf[0]["data"]["tracking_no"], "pickup_code": results[0]["pickup_code"]},
    )
    await push(client, world.keeper_a, [picked])
    response = await client.get(
        f"/api/v1/stations/{world.station_a}/carriers", headers=world.keeper_a.headers
    )
    assert response.status_code == 200, response.text
    lines = {line["carrier"]: line for line in response.json()["carriers"]}
    assert (lines["SF"]["received"], lines["SF"]["picked_up"]) == (3, 1)
    assert lines["ZTO"]["received"] == 2
    assert response.json()["received"] == 5


async def test_price_table_county_then_station_override(client, world):
    county = await client.put(
        f"/api/v1/counties/{world.county_id}/prices",
        json={"prices": {"ZTO": [[1000, 800], [5000, 1200]]}},
        headers=world.staff.headers,
    )
    assert county.status_code == 200, county.text
    own = await client.put(
        f"/api/v1/stations/{world.station_a}/prices",
        json={"prices": {"YUNDA": [[2000, 700]]}},
        headers=world.keeper_a.headers,
    )
    assert own.status_code == 200, own.text
    table = (
        await client.get(
            f"/api/v1/stations/{world.station_a}/prices", headers=world.keeper_a.headers
        )
    ).json()["prices"]
    assert table["ZTO"] == [[1000, 800], [5000, 1200]]
    assert table["YUNDA"] == [[2000, 700]]
    assert table["SF"][0] == [1000, 1800]  # built in
    b = (
        await client.get(
            f"/api/v1/stations/{world.station_b}/prices", headers=world.keeper_b.headers
        )
    ).json()["prices"]
    assert b["ZTO"] == [[1000, 800], [5000, 1200]] and b["YUNDA"] != [[2000, 700]]
    bad = await client.put(
        f"/api/v1/counties/{world.county_id}/prices",
        json={"prices": {"ZTO": [[5000, 800], [1000, 1200]]}},
        headers=world.staff.headers,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "price_bands_invalid"


async def test_household_card_is_a_qr_that_lists_its_parcels_at_the_counter(client, world):
    household = await Household.select().where(Household.code == world.household_code).first()
    await Household.update({Household.phone: "13712345678"}).where(Household.id == household["id"])
    card = await client.get(
        f"/api/v1/counties/{world.county_id}/households/{household['id']}/card.svg",
        headers=world.staff.headers,
    )
    assert card.status_code == 200
    assert card.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in card.content
    mine = [received(phone="13712345678") for _ in range(3)]
    await push(client, world.keeper_a, [*mine, received(phone="13800000000")])
    scanned = await client.get(
        f"/api/v1/stations/{world.station_a}/household",
        params={"code": f"CZHH:TEST:{world.household_code}"},
        headers=world.keeper_a.headers,
    )
    assert scanned.status_code == 200, scanned.text
    body = scanned.json()
    assert body["code"] == world.household_code
    assert sorted(body["parcel_ids"]) == sorted(p["id"] for p in mine)
    assert body["phone"] == "137****5678"
    unknown = await client.get(
        f"/api/v1/stations/{world.station_a}/household",
        params={"code": "NOPE-1"},
        headers=world.keeper_a.headers,
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_household"
    # What cannot be a household code is not looked up (a NUL was a 500 on PostgreSQL).
    for code in ("\x00", "T-0001\x00", "户码", "x" * 30):
        nothing = await client.get(
            f"/api/v1/stations/{world.station_a}/household",
            params={"code": code},
            headers=world.keeper_a.headers,
        )
        assert nothing.status_code == 404, (code, nothing.text)
        assert nothing.json()["code"] == "unknown_household"


async def test_staff_set_the_sms_opt_out_and_print_the_card_from_the_registry(client, world):
    from tests.test_county_pages import CSRF_FIELD, HTML, page_login

    await page_login(client, world.staff.phone)
    household = await Household.select().where(Household.code == world.household_code).first()
    path = f"/county/registry/households/{household['id']}"
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200
    card_url = f"/api/v1/counties/{world.county_id}/households/{household['id']}/card.svg"
    assert card_url in page.text  # the QR card is shown on the household's page, to print
    assert 'name="sms_opt_out"' in page.text
    token = CSRF_FIELD.search(page.text).group(1)
    saved = await client.post(
        path,
        data={"_csrf_token": token, "village_id": str(household["village"]),
              "sms_opt_out": "on"},
        headers=HTML,
    )  # fmt: skip
    assert saved.status_code == 303
    row = await Household.select().where(Household.id == household["id"]).first()
    assert row["sms_opt_out"] is True
    card = await client.get(card_url)
    assert card.status_code == 200 and b"<svg" in card.content
