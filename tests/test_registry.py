"""Staff keep their county's registry: townships, villages, stations, households."""

import re

from backend.accounts.tables import AuditEntry


async def test_staff_builds_township_village_station_household(client, world):
    base = f"/api/v1/counties/{world.county_id}"
    headers = world.staff.headers
    township = await client.post(f"{base}/townships", json={"name": "新镇"}, headers=headers)
    assert township.status_code == 201, township.text
    village = await client.post(
        f"{base}/villages",
        json={"township_id": township.json()["id"], "name": "新村", "poor": True},
        headers=headers,
    )
    assert village.status_code == 201
    assert village.json()["poor"] is True
    station = await client.post(
        f"{base}/stations",
        json={"village_id": village.json()["id"], "name": "新村服务站", "code": "N001"},
        headers=headers,
    )
    assert station.status_code == 201
    assert station.json()["township_id"] == township.json()["id"]
    household = await client.post(
        f"{base}/households",
        json={"village_id": village.json()["id"], "code": "t-0099", "phone": "13912345678"},
        headers=headers,
    )
    assert household.status_code == 201
    assert household.json()["code"] == "T-0099"
    assert household.json()["phone"] == "139****5678"
    listed = await client.get(f"{base}/stations", headers=headers)
    assert "N001" in [row["code"] for row in listed.json()]
    assert await AuditEntry.count().where(AuditEntry.county == world.county_id) >= 4


async def test_county_keeps_its_time_zone_and_settings(client, world):
    url = f"/api/v1/counties/{world.foreign_county_id}"
    county = await client.get(url, headers=world.foreign_staff.headers)
    assert county.json()["timezone"] == "Asia/Urumqi"
    changed = await client.patch(
        url,
        json={"checkin_reminder_hour": 11, "target_village_pct": 70},
        headers=world.foreign_staff.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["checkin_reminder_hour"] == 11
    assert changed.json()["target_village_pct"] == 70


async def test_bad_time_zone_and_out_of_range_values_are_refused(client, world):
    url = f"/api/v1/counties/{world.county_id}"
    bad_zone = await client.patch(
        url, json={"timezone": "Mars/Olympus"}, headers=world.staff.headers
    )
    assert bad_zone.status_code == 422
    assert bad_zone.json()["code"] == "unknown_timezone"
    bad_hour = await client.patch(
        url, json={"checkin_reminder_hour": 25}, headers=world.staff.headers
    )
    assert bad_hour.status_code == 400
    assert bad_hour.json()["field"] == "checkin_reminder_hour"
    unknown = await client.patch(url, json={"colour": "red"}, headers=world.staff.headers)
    assert unknown.status_code == 400
    county = await client.get(url, headers=world.staff.headers)
    assert county.json()["timezone"] == "Asia/Shanghai"
    assert county.json()["checkin_reminder_hour"] == 9


async def test_duplicate_names_and_codes_are_409(client, world):
    base = f"/api/v1/counties/{world.county_id}"
    again = await client.post(
        f"{base}/villages",
        json={"township_id": str(world.township_id), "name": "东村"},
        headers=world.staff.headers,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "name_taken"
    station = await client.post(
        f"{base}/stations",
        json={"village_id": str(world.village_id), "name": "重复", "code": "A001"},
        headers=world.staff.headers,
    )
    assert station.status_code == 409
    assert station.json()["code"] == "code_taken"


async def test_cannot_hang_a_village_on_another_countys_township(client, world):
    foreign_townships = await client.get(
        f"/api/v1/counties/{world.foreign_county_id}/townships",
        headers=world.foreign_staff.headers,
    )
    response = await client.post(
        f"/api/v1/counties/{world.county_id}/villages",
        json={"township_id": foreign_townships.json()[0]["id"], "name": "偷村"},
        headers=world.staff.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_township"


async def test_stations_close_and_reopen_but_are_never_deleted(client, world):
    url = f"/api/v1/stations/{world.station_b}"
    closed = await client.post(
        f"{url}/close", json={"reason": "站长外出务工"}, headers=world.staff.headers
    )
    assert closed.status_code == 200
    assert closed.json()["closed_at"] is not None
    assert closed.json()["closed_reason"] == "站长外出务工"
    twice = await client.post(f"{url}/close", json={"reason": "再关"}, headers=world.staff.headers)
    assert twice.status_code == 409
    deleted = await client.delete(url, headers=world.staff.headers)
    assert deleted.status_code == 405
    still = await client.get(url, headers=world.staff.headers)
    assert still.status_code == 200
    reopened = await client.post(f"{url}/reopen", headers=world.staff.headers)
    assert reopened.json()["closed_at"] is None


async def test_keeper_sees_own_station_only(client, world):
    own = await client.get(f"/api/v1/stations/{world.station_a}", headers=world.keeper_a.headers)
    assert own.status_code == 200
    assert own.json()["code"] == "A001"
    other = await client.get(f"/api/v1/stations/{world.station_b}", headers=world.keeper_a.headers)
    assert other.status_code == 403
    assert other.json()["code"] == "forbidden_scope"


async def test_admin_creates_a_county(client, world):
    response = await client.post(
        "/api/v1/counties",
        json={"name": "新县", "code": "NEW", "timezone": "Asia/Urumqi"},
        headers=world.admin.headers,
    )
    assert response.status_code == 201
    assert response.json()["timezone"] == "Asia/Urumqi"
    refused = await client.post(
        "/api/v1/counties", json={"name": "私县", "code": "PRV"}, headers=world.staff.headers
    )
    assert refused.status_code == 403


async def test_a_household_registered_without_the_flag_is_not_poor(client, world):
    base = f"/api/v1/counties/{world.county_id}"
    created = await client.post(
        f"{base}/households",
        json={"village_id": str(world.poor_village_id), "code": "T-0500", "head_name": "马明"},
        headers=world.staff.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["poverty"] is False
    marked = await client.post(
        f"{base}/households",
        json={"village_id": str(world.village_id), "code": "T-0501", "poverty": True},
        headers=world.staff.headers,
    )
    assert marked.json()["poverty"] is True


async def test_the_new_household_form_starts_with_the_poor_box_unticked(client, world):
    from tests.test_county_pages import HTML, page_login

    await page_login(client, world.staff.phone)
    page = await client.get("/county/registry/households", headers=HTML)
    assert page.status_code == 200
    boxes = re.findall(r"<input[^>]*name=\"poverty\"[^>]*>", page.text)
    assert len(boxes) == 1, boxes
    assert "checked" not in boxes[0]


async def test_a_township_or_village_code_is_the_countys_only_one(client, world):
    base = f"/api/v1/counties/{world.county_id}"
    headers = world.staff.headers
    first = await client.post(
        f"{base}/townships", json={"name": "甲镇", "code": "510101"}, headers=headers
    )
    assert first.status_code == 201
    again = await client.post(
        f"{base}/townships", json={"name": "乙镇", "code": "510101"}, headers=headers
    )
    assert again.status_code == 409 and again.json()["code"] == "code_taken"
    elsewhere = await client.post(
        f"/api/v1/counties/{world.foreign_county_id}/townships",
        json={"name": "甲镇", "code": "510101"},
        headers=world.foreign_staff.headers,
    )
    assert elsewhere.status_code == 201  # another county's numbering
    village = await client.post(
        f"{base}/villages",
        json={"township_id": first.json()["id"], "name": "甲村", "code": "51010101"},
        headers=headers,
    )
    assert village.status_code == 201 and village.json()["code"] == "51010101"
    twin = await client.post(
        f"{base}/villages",
        json={"township_id": first.json()["id"], "name": "乙村", "code": "51010101"},
        headers=headers,
    )
    assert twin.status_code == 409 and twin.json()["code"] == "code_taken"
