"""The station file (网点台帐, issue #14): county staff set and read it through the API and the
station screen, a refused change changes nothing, every change is audited, and no one outside
the county (nor a keeper) reaches it."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo

from backend import clock
from backend.accounts.tables import AuditEntry
from backend.registry.tables import Station, StationFile
from tests.test_county_pages import CSRF_FIELD, HTML, page_login
from tests.test_county_pages_registry import field_error

FULL = {
    "address": "东村村委会旁 12 号",
    "company": "测试县邮政分公司",
    "lat": 30.572815,
    "lng": 104.066801,
    "has_computer": True,
    "has_printer": True,
    "has_cctv": False,
    "has_shelves": True,
    "has_scanner": True,
    "has_broadband": False,
    "has_signage": True,
    "inspected_on": "2026-11-20",
    "keeper_poor": True,
    "keeper_disabled": False,
    "keeper_party_member": True,
    "keeper_gender": "female",
}


def file_url(station_id) -> str:
    return f"/api/v1/stations/{station_id}/file"


def shanghai_today() -> datetime.date:
    return clock.utcnow().astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).date()


async def audits(action: str) -> list[dict]:
    return await AuditEntry.select().where(AuditEntry.action == action)


async def test_an_empty_file_then_the_whole_file_set_and_read(client, world):
    url = file_url(world.station_a)
    empty = await client.get(url, headers=world.staff.headers)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "station_id": str(world.station_a),
        "address": "",
        "company": "",
        "lat": None,
        "lng": None,
        "has_computer": False,
        "has_printer": False,
        "has_cctv": False,
        "has_shelves": False,
        "has_scanner": False,
        "has_broadband": False,
        "has_signage": False,
        "inspected_on": None,
        "keeper_poor": False,
        "keeper_disabled": False,
        "keeper_party_member": False,
        "keeper_gender": None,
        "updated_at": None,
        "photos": [],
    }

    saved = await client.put(url, json=FULL, headers=world.staff.headers)
    assert saved.status_code == 200, saved.text
    again = await client.get(url, headers=world.staff.headers)
    body = again.json()
    assert body["updated_at"] is not None
    assert {name: body[name] for name in FULL} == FULL
    # Stored exactly: millionths of a degree, and the station's own address.
    row = await StationFile.select().where(StationFile.station == world.station_a).first()
    assert (row["lat_e6"], row["lng_e6"]) == (30572815, 104066801)
    station = await client.get(f"/api/v1/stations/{world.station_a}", headers=world.staff.headers)
    assert station.json()["address"] == "东村村委会旁 12 号"

    # One audit entry naming the fields that changed, never their values.
    (entry,) = await audits("station.file_updated")
    assert entry["target_id"] == str(world.station_a)
    assert entry["county"] == world.county_id
    assert entry["actor"] == world.staff.id
    details = entry["details"] if isinstance(entry["details"], str) else str(entry["details"])
    assert "keeper_disabled" not in details  # unchanged (False → False)
    for name in ("keeper_poor", "lat_e6", "has_signage", "address", "inspected_on"):
        assert name in details
    assert "女" not in details and "female" not in details

    # PUT replaces the whole file: what is left out is emptied.
    cleared = await client.put(url, json={"company": "新主体"}, headers=world.staff.headers)
    assert cleared.status_code == 200
    assert cleared.json()["lat"] is None and cleared.json()["has_computer"] is False
    assert cleared.json()["address"] == "" and cleared.json()["company"] == "新主体"
    assert len(await audits("station.file_updated")) == 2


async def test_refusals_change_nothing(client, world):
    url = file_url(world.station_a)
    assert (await client.put(url, json=FULL, headers=world.staff.headers)).status_code == 200
    before = (await client.get(url, headers=world.staff.headers)).json()
    tomorrow = (shanghai_today() + datetime.timedelta(days=1)).isoformat()
    cases = [
        ({**FULL, "lng": None}, 422, "station_file_location_half", "lng"),
        ({**FULL, "lat": 30.1234567}, 422, "station_file_location", "lat"),  # 7 decimals
        ({**FULL, "lng": 140.0}, 422, "station_file_location", "lng"),  # east of 黑瞎子岛
        ({**FULL, "lat": 2.5}, 422, "station_file_location", "lat"),  # south of 曾母暗沙
        ({**FULL, "inspected_on": tomorrow}, 422, "station_file_inspected_on", "inspected_on"),
        ({**FULL, "inspected_on": "1999-12-31"}, 422, "station_file_inspected_on", "inspected_on"),
        ({**FULL, "keeper_gender": "x"}, 422, "station_file_gender", "keeper_gender"),
        ({**FULL, "address": "址" * 101}, 400, "invalid_input", "address"),
        ({**FULL, "company": "司" * 61}, 400, "invalid_input", "company"),
        ({**FULL, "has_cctv": "maybe"}, 400, "invalid_input", "has_cctv"),
        ({**FULL, "colour": "red"}, 400, "invalid_input", None),
    ]
    for body, status, code, field in cases:
        refused = await client.put(url, json=body, headers=world.staff.headers)
        assert refused.status_code == status, (body, refused.text)
        problem = refused.json()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == code, problem
        if field:
            assert problem.get("field") == field, problem
    # In the caller's language.
    uyghur = await client.put(
        url, json={**FULL, "lat": 60.0}, headers={**world.staff.headers, "accept-language": "ug"}
    )
    assert "جۇڭگو" in uyghur.json()["detail"]
    assert "\u206653.56\u2069" in uyghur.json()["detail"]  # the number isolated in RTL text
    after = (await client.get(url, headers=world.staff.headers)).json()
    assert after == before
    assert len(await audits("station.file_updated")) == 1
    # The edge of the range is inside it, with 6 decimals.
    edge = await client.put(
        url, json={**FULL, "lat": 53.56, "lng": 73.55}, headers=world.staff.headers
    )
    assert edge.status_code == 200 and edge.json()["lat"] == 53.56


async def test_only_the_countys_staff_reach_the_file(client, world):
    url = file_url(world.station_a)
    for actor in (world.foreign_staff, world.keeper_a, world.foreign_keeper):
        assert (await client.get(url, headers=actor.headers)).status_code == 403
        refused = await client.put(url, json=FULL, headers=actor.headers)
        assert refused.status_code == 403
        listed = await client.get(
            f"/api/v1/counties/{world.county_id}/stations.xlsx", headers=actor.headers
        )
        assert listed.status_code == 403
    assert await StationFile.count() == 0
    missing = await client.get(file_url(uuid.uuid4()), headers=world.staff.headers)
    assert missing.status_code == 404
    # The admin (no county) may.
    assert (await client.get(url, headers=world.admin.headers)).status_code == 200


async def test_the_station_screen_shows_and_saves_the_file(client, world):
    await page_login(client, world.staff.phone)
    path = f"/county/registry/stations/{world.station_b}"
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200
    assert 'id="station-file"' in page.text and "网点台帐" in page.text
    assert 'id="station-photos"' in page.text and "还没有照片" in page.text
    token = CSRF_FIELD.search(page.text).group(1)
    form = {
        "_csrf_token": token,
        "address": "西村小卖部",
        "company": "西村合作社",
        "lat": "30.5",
        "lng": "104.25",
        "has_computer": "on",
        "has_scanner": "on",
        "inspected_on": "2026-11-01",
        "keeper_party_member": "on",
        "keeper_gender": "male",
    }
    saved = await client.post(f"{path}/file", data=form, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].endswith("?saved=1#station-file")
    stored = (await client.get(file_url(world.station_b), headers=world.staff.headers)).json()
    assert stored["lat"] == 30.5 and stored["lng"] == 104.25
    assert stored["has_computer"] and stored["has_scanner"] and not stored["has_printer"]
    assert stored["keeper_party_member"] and stored["keeper_gender"] == "male"
    shown = await client.get(path, headers=HTML)
    assert 'value="30.500000"' in shown.text and 'value="西村合作社"' in shown.text
    assert "设备 2/6 项" in shown.text

    # A refusal: the page again, the message at its field, the input kept, nothing changed.
    refused = await client.post(
        f"{path}/file", data={**form, "lat": "91", "company": "另一个主体"}, headers=HTML
    )
    assert refused.status_code == 200
    assert "中国境内" in field_error(refused.text, "lat")
    assert 'value="另一个主体"' in refused.text
    again = (await client.get(file_url(world.station_b), headers=world.staff.headers)).json()
    assert again == stored
    refused = await client.post(f"{path}/file", data={**form, "lat": "abc"}, headers=HTML)
    assert refused.status_code == 200 and field_error(refused.text, "lat")
    assert (await client.get(file_url(world.station_b), headers=world.staff.headers)).json() == (
        stored
    )
    # The main edit form no longer carries the address (the file's section does).
    row = await Station.select(Station.address).where(Station.id == world.station_b).first()
    assert row["address"] == "西村小卖部"
    # Another county's staff cannot post to it.
    foreign = await client.post(
        f"/county/registry/stations/{world.foreign_station}/file", data=form, headers=HTML
    )
    assert foreign.status_code == 403


async def test_two_first_saves_at_once_make_one_file(client, world):
    import asyncio

    url = file_url(world.station_b)
    first, second = await asyncio.gather(
        client.put(url, json={**FULL, "company": "甲"}, headers=world.staff.headers),
        client.put(url, json={**FULL, "company": "乙"}, headers=world.staff.headers),
    )
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert await StationFile.count().where(StationFile.station == world.station_b) == 1
    stored = (await client.get(url, headers=world.staff.headers)).json()
    assert stored["company"] in {"甲", "乙"}
    assert len(await audits("station.file_updated")) == 2
