"""The township's information officer (乡镇电商信息员, issue #14) edits their township: registers
and changes the households of its villages and its stations' files, photos and opening days, through
the registry's own API and pages, audited under their name; every row of another township or
county, the county's settings and accounts stay out of reach, and a refusal changes nothing."""

from __future__ import annotations

import datetime
import io
import uuid
from dataclasses import dataclass

from PIL import Image

from backend.accounts.tables import AuditEntry
from backend.registry.tables import County, Household, Station, StationFile
from tests.support import World
from tests.test_county_pages import HTML, page_login
from tests.test_county_pages_registry import field_error, form_token
from tests.test_station_file import FULL, file_url, shanghai_today
from tests.test_township_officer import OFFICER, make_officer


@dataclass
class Elsewhere:
    """Another township of the test county (远山乡) with its village, station and household."""

    township_id: str
    village_id: str
    station_id: str
    household_id: str


async def another_township(client, world: World) -> Elsewhere:
    staff = world.staff.headers
    county = f"/api/v1/counties/{world.county_id}"
    township = await client.post(f"{county}/townships", json={"name": "远山乡"}, headers=staff)
    village = await client.post(
        f"{county}/villages",
        json={"township_id": township.json()["id"], "name": "山口村", "poor": True},
        headers=staff,
    )
    station = await client.post(
        f"{county}/stations",
        json={"village_id": village.json()["id"], "name": "山口服务站", "code": "S001"},
        headers=staff,
    )
    household = await client.post(
        f"{county}/households",
        json={"village_id": village.json()["id"], "code": "S-0001", "head_name": "山户主"},
        headers=staff,
    )
    for made in (township, village, station, household):
        assert made.status_code == 201, made.text
    return Elsewhere(
        township.json()["id"],
        village.json()["id"],
        station.json()["id"],
        household.json()["id"],
    )


def households_url(world: World) -> str:
    return f"/api/v1/counties/{world.county_id}/households"


async def trail(action: str, target_id: object) -> list[dict]:
    """The audit entries of an action on a row, with their actor's role."""
    return await AuditEntry.select(
        AuditEntry.actor, AuditEntry.actor.role, AuditEntry.target_id, AuditEntry.details
    ).where((AuditEntry.action == action) & (AuditEntry.target_id == str(target_id)))


async def officer_id(client, headers) -> uuid.UUID:
    me = await client.get("/api/v1/auth/me", headers=headers)
    return uuid.UUID(me.json()["id"])


async def test_the_officer_registers_and_changes_households_of_the_township(client, world):
    elsewhere = await another_township(client, world)
    headers = await make_officer(client, world)
    me = await officer_id(client, headers)
    made = await client.post(
        households_url(world),
        json={"village_id": str(world.village_id), "code": "t-0003", "head_name": "新户主"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    household = made.json()
    assert (household["code"], household["poverty"]) == ("T-0003", False)
    changed = await client.patch(
        f"/api/v1/households/{household['id']}",
        json={"poverty": True, "head_name": "新户主二", "village_id": str(world.poor_village_id)},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["poverty"] is True
    assert changed.json()["village_id"] == str(world.poor_village_id)
    row = await Household.select().where(Household.code == "T-0003").first()
    assert (row["head_name"], row["poverty"]) == ("新户主二", True)

    # The officer's lists hold the township's villages and households only (the other
    # township's 山口村 and S-0001 are the county's, not theirs); staff see the whole county.
    listed = await client.get(households_url(world), headers=headers)
    assert listed.status_code == 200
    assert [h["code"] for h in listed.json()] == ["T-0001", "T-0002", "T-0003"]
    assert listed.headers["x-total-count"] == "3"
    searched = await client.get(f"{households_url(world)}?q=S-", headers=headers)
    assert searched.json() == [] and searched.headers["x-total-count"] == "0"
    villages = await client.get(f"/api/v1/counties/{world.county_id}/villages", headers=headers)
    assert sorted(v["name"] for v in villages.json()) == ["东村", "西村"]
    county_wide = await client.get(households_url(world), headers=world.staff.headers)
    assert [h["code"] for h in county_wide.json()] == ["S-0001", "T-0001", "T-0002", "T-0003"]
    assert elsewhere.household_id in county_wide.text

    # Audited as staff edits are: the officer (role `township`) is the actor.
    (created,) = await trail("household.created", household["id"])
    (updated,) = await trail("household.updated", household["id"])
    assert created["target_id"] == household["id"] == updated["target_id"]
    for entry in (created, updated):
        assert entry["actor"] == me and entry["actor.role"] == "township"
    assert "poverty" in updated["details"] and "head_name" in updated["details"]
    card = await client.get(f"{households_url(world)}/{household['id']}/card.svg", headers=headers)
    assert card.status_code == 200 and card.headers["content-type"] == "image/svg+xml"


async def test_the_officer_edits_a_station_file_photos_and_days(client, world):
    headers = await make_officer(client, world)
    me = await officer_id(client, headers)
    put = await client.put(file_url(world.station_b), json=FULL, headers=headers)
    assert put.status_code == 200, put.text
    read = await client.get(file_url(world.station_b), headers=headers)
    assert read.json()["company"] == "测试县邮政分公司" and read.json()["keeper_poor"] is True
    image = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 40, 40)).save(image, "JPEG")
    photo = await client.post(
        f"/api/v1/stations/{world.station_b}/photos?kind=front",
        content=image.getvalue(),
        headers={**headers, "content-type": "image/jpeg"},
    )
    assert photo.status_code == 201, photo.text
    opened_on = (shanghai_today() - datetime.timedelta(days=40)).isoformat()
    dated = await client.patch(
        f"/api/v1/stations/{world.station_b}", json={"opened_on": opened_on}, headers=headers
    )
    assert dated.status_code == 200, dated.text
    assert dated.json()["opened_on"] == opened_on

    # The station's name, level and shelves stay the county's: refused, nothing changed.
    before = await Station.select().where(Station.id == world.station_b).first()
    renamed = await client.patch(
        f"/api/v1/stations/{world.station_b}",
        json={"opened_on": shanghai_today().isoformat(), "name": "改名站"},
        headers=headers,
    )
    assert renamed.status_code == 403
    assert renamed.json()["code"] == "officer_station_days_only"
    assert renamed.json()["field"] == "name"
    assert await Station.select().where(Station.id == world.station_b).first() == before
    closed = await client.post(
        f"/api/v1/stations/{world.station_b}/close", json={"reason": "停业"}, headers=headers
    )
    assert closed.status_code == 403 and closed.json()["code"] == "staff_only"
    assert await Station.select().where(Station.id == world.station_b).first() == before

    for action in ("station.file_updated", "station.photo_added", "station.updated"):
        (entry,) = await trail(action, world.station_b)
        assert entry["actor"] == me and entry["actor.role"] == "township", action


async def test_the_officer_is_refused_everything_beyond_the_township(client, world):
    elsewhere = await another_township(client, world)
    headers = await make_officer(client, world)
    foreign_household = (
        await Household.select(Household.id)
        .where(Household.code == world.foreign_household_code)
        .first()
    )["id"]
    home_household = (
        await Household.select(Household.id).where(Household.code == world.household_code).first()
    )["id"]
    households_before = await Household.select().order_by(Household.code)
    stations_before = await Station.select().order_by(Station.code)
    audits_before = await AuditEntry.count()

    refusals = [
        # Another township's household, station and village; another county's.
        ("PATCH", f"/api/v1/households/{elsewhere.household_id}", {"poverty": True}),
        ("PATCH", f"/api/v1/households/{foreign_household}", {"poverty": False}),
        ("PUT", file_url(elsewhere.station_id), FULL),
        ("PUT", file_url(world.foreign_station), FULL),
        ("PATCH", f"/api/v1/stations/{elsewhere.station_id}", {"opened_on": "2026-01-05"}),
        ("GET", file_url(elsewhere.station_id), None),
        ("POST", households_url(world), {"village_id": elsewhere.village_id, "code": "S-0009"}),
        # The township's own household, moved to the other township's village.
        ("PATCH", f"/api/v1/households/{home_household}", {"village_id": elsewhere.village_id}),
        # The county's settings, townships, villages, stations and accounts.
        ("PATCH", f"/api/v1/counties/{world.county_id}", {"month_close_day": 9}),
        ("POST", f"/api/v1/counties/{world.county_id}/townships", {"name": "新乡"}),
        (
            "POST",
            f"/api/v1/counties/{world.county_id}/villages",
            {"township_id": str(world.township_id), "name": "新村"},
        ),
        ("PATCH", f"/api/v1/villages/{world.village_id}", {"poor": True}),
        ("PATCH", f"/api/v1/townships/{world.township_id}", {"poor": True}),
        (
            "POST",
            f"/api/v1/counties/{world.county_id}/users",
            {
                "phone": "13600000088",
                "name": "新人",
                "password": "x-Pass-2026",
                "role": "keeper",
                "station_id": str(world.station_a),
            },
        ),
        ("POST", f"/api/v1/stations/{world.station_a}/reopen", None),
        ("GET", f"/api/v1/counties/{world.foreign_county_id}/households", None),
        ("GET", f"{households_url(world)}/{elsewhere.household_id}/card.svg", None),
    ]
    for method, path, body in refusals:
        answer = await client.request(method, path, json=body, headers=headers)
        assert answer.status_code in (403, 404), (method, path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), path
        assert answer.json()["code"] in (
            "township_only",
            "staff_only",
            "village_outside_township",
            "not_found",
        ), (path, answer.json())
    missing = await client.patch(
        f"/api/v1/households/{uuid.uuid4()}", json={"poverty": True}, headers=headers
    )
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    # Nothing changed, nothing was audited.
    assert await Household.select().order_by(Household.code) == households_before
    assert await Station.select().order_by(Station.code) == stations_before
    assert await StationFile.count() == 0
    county = await County.select(County.month_close_day).where(County.id == world.county_id)
    assert county[0]["month_close_day"] != 9
    assert await AuditEntry.count() == audits_before

    # The same on the pages: the staff's screens answer 403 pages in the officer's language.
    await page_login(client, OFFICER)
    for path in (
        "/county/registry/townships",
        "/county/registry/villages",
        "/county/registry/stations",
        "/county/registry/keepers",
        "/county/registry/county",
        "/county/registry/import",
        f"/county/registry/stations/{elsewhere.station_id}",
        f"/county/registry/households/{elsewhere.household_id}",
    ):
        page = await client.get(path, headers=HTML)
        assert page.status_code == 403, path
        assert "乡镇" in page.text or "县电商公共服务中心" in page.text, path
    listing = await client.get("/county/registry/households", headers=HTML)
    assert "T-0001" in listing.text and "S-0001" not in listing.text
    assert "山口村" not in listing.text  # not among the village choices either


async def test_the_officer_works_through_the_pages(client, world):
    headers = await make_officer(client, world)
    await page_login(client, OFFICER)
    township = await client.get("/county/township", headers=HTML)
    assert 'href="/county/registry/households"' in township.text
    assert f'href="/county/registry/stations/{world.station_a}"' in township.text

    token = await form_token(client, "/county/registry/households")
    created = await client.post(
        "/county/registry/households",
        data={
            "_csrf_token": token,
            "village_id": str(world.village_id),
            "code": "T-0010",
            "head_name": "页户主",
            "poverty": "on",
        },
        headers=HTML,
    )
    assert created.status_code == 303, created.text
    row = await Household.select().where(Household.code == "T-0010").first()
    assert (row["village"], row["poverty"]) == (world.village_id, True)
    edit = f"/county/registry/households/{row['id']}"
    token = await form_token(client, edit)
    changed = await client.post(
        edit,
        data={
            "_csrf_token": token,
            "village_id": str(world.poor_village_id),
            "head_name": "页户主",
        },
        headers=HTML,
    )
    assert changed.status_code == 303, changed.text
    row = await Household.select().where(Household.code == "T-0010").first()
    assert (row["village"], row["poverty"]) == (world.poor_village_id, False)

    # The station's page: its opening day (no name, no closing form) and its file.
    station_page = f"/county/registry/stations/{world.station_a}"
    page = await client.get(station_page, headers=HTML)
    assert page.status_code == 200
    assert 'name="opened_on"' in page.text and 'name="name"' not in page.text
    assert "/close" not in page.text and 'data-form="station-file"' in page.text
    token = await form_token(client, station_page)
    future = (shanghai_today() + datetime.timedelta(days=400)).isoformat()  # at most a year
    refused = await client.post(
        station_page, data={"_csrf_token": token, "opened_on": future}, headers=HTML
    )
    assert refused.status_code == 200 and field_error(refused.text, "opened_on")
    opened_on = (shanghai_today() - datetime.timedelta(days=10)).isoformat()
    saved = await client.post(
        station_page, data={"_csrf_token": token, "opened_on": opened_on}, headers=HTML
    )
    assert saved.status_code == 303, saved.text
    row = await Station.select().where(Station.id == world.station_a).first()
    assert row["opened_on"].isoformat() == opened_on and row["name"] == "A001服务站"
    filed = await client.post(
        f"{station_page}/file",
        data={"_csrf_token": token, "company": "乡邮政所", "has_computer": "on"},
        headers=HTML,
    )
    assert filed.status_code == 303, filed.text
    read = await client.get(file_url(world.station_a), headers=headers)
    assert read.json()["company"] == "乡邮政所" and read.json()["has_computer"] is True
    closed = await client.post(
        f"{station_page}/close", data={"_csrf_token": token, "reason": "停业"}, headers=HTML
    )
    assert closed.status_code == 403
    assert (await Station.select().where(Station.id == world.station_a).first())[
        "closed_at"
    ] is None


async def test_staff_still_edit_every_township(client, world):
    elsewhere = await another_township(client, world)
    staff = world.staff.headers
    changed = await client.patch(
        f"/api/v1/households/{elsewhere.household_id}", json={"poverty": True}, headers=staff
    )
    assert changed.status_code == 200 and changed.json()["poverty"] is True
    renamed = await client.patch(
        f"/api/v1/stations/{elsewhere.station_id}", json={"name": "山口中心站"}, headers=staff
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "山口中心站"
    put = await client.put(file_url(elsewhere.station_id), json=FULL, headers=staff)
    assert put.status_code == 200
    foreign = await client.put(
        file_url(elsewhere.station_id), json=FULL, headers=world.foreign_staff.headers
    )
    assert foreign.status_code == 403
    keeper = await client.patch(
        f"/api/v1/households/{elsewhere.household_id}",
        json={"poverty": False},
        headers=world.keeper_a.headers,
    )
    assert keeper.status_code == 403 and keeper.json()["code"] == "staff_only"
    (entry,) = await trail("household.updated", elsewhere.household_id)
    assert entry["actor"] == world.staff.id and entry["actor.role"] == "county_staff"
