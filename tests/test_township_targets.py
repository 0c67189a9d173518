"""Targets per township (programme row 73): county staff set them for one township, by API and on
the township page; the township's overview (the officer's page and API) judges each against the
township's own figures; the officer cannot set them, and a refused change changes nothing."""

from __future__ import annotations

import re

from backend.accounts.tables import AuditEntry
from tests.support import push
from tests.test_county_pages import HTML, page_login
from tests.test_county_pages_registry import field_error, form_token
from tests.test_township_officer import OFFICER, make_officer, sale
from tests.test_township_officer_edits import another_township


def targets_url(township_id) -> str:
    return f"/api/v1/townships/{township_id}/targets"


def overview_url(township_id) -> str:
    return f"/api/v1/townships/{township_id}/overview"


TARGETS = [
    {"name": "stations_village", "target": 3},
    {"name": "village_pct", "target": 100},
    {"name": "online_retail_fen", "target": 50000},
    {"name": "upward_sales_fen", "target": 40000},
    {"name": "training_visits", "target": 10},
]


async def test_staff_set_targets_the_officer_sees_them_judged(client, world):
    headers = await make_officer(client, world)
    assert {r["status"] for r in await push(client, world.keeper_a, [sale(30000)])} == {"accepted"}
    assert {r["status"] for r in await push(client, world.keeper_b, [sale(12000)])} == {"accepted"}
    before = await client.get(overview_url(world.township_id), headers=headers)
    assert before.json()["targets"] == []
    set_ = await client.put(
        targets_url(world.township_id), json={"targets": TARGETS}, headers=world.staff.headers
    )
    assert set_.status_code == 200, set_.text
    assert set_.json()["targets"] == TARGETS
    answer = await client.get(overview_url(world.township_id), headers=headers)
    assert answer.status_code == 200, answer.text
    judged = {
        row["name"]: (row["actual"], row["target"], row["met"]) for row in answer.json()["targets"]
    }
    # The township: 东村 (A001) and 西村 (B001), both covered; 300 元 + 120 元 of 代销 this year;
    # no training held.
    assert judged == {
        "stations_village": (2, 3, False),
        "village_pct": (100.0, 100, True),
        "online_retail_fen": (42000, 50000, False),
        "upward_sales_fen": (42000, 40000, True),
        "training_visits": (0, 10, False),
    }
    (entry,) = await AuditEntry.select().where(AuditEntry.action == "township.targets_set")
    assert entry["actor"] == world.staff.id and entry["target_id"] == str(world.township_id)

    # Another township of the county has none of them.
    elsewhere = await another_township(client, world)
    other = await client.get(overview_url(elsewhere.township_id), headers=world.staff.headers)
    assert other.json()["targets"] == []
    # An empty list clears them.
    cleared = await client.put(
        targets_url(world.township_id), json={"targets": []}, headers=world.staff.headers
    )
    assert cleared.status_code == 200 and cleared.json()["targets"] == []


async def test_only_the_county_sets_a_township_target_and_refusals_change_nothing(client, world):
    headers = await make_officer(client, world)
    staff = world.staff.headers
    assert (await client.put(targets_url(world.township_id), json={"targets": TARGETS[:2]},
                             headers=staff)).status_code == 200  # fmt: skip
    refusals = [
        (headers, {"targets": [{"name": "village_pct", "target": 50}]}, 403, "staff_only"),
        (world.foreign_staff.headers, {"targets": []}, 403, "forbidden_scope"),
        (world.keeper_a.headers, {"targets": []}, 403, "staff_only"),
        (staff, {"targets": [{"name": "retail_growth", "target": 5}]}, 422,
         "county_unknown_target"),
        (staff, {"targets": [{"name": "online_retail_fen", "target": 10.5}]}, 422,
         "county_invalid_target"),
        (staff, {"targets": [{"name": "village_pct", "target": -3}]}, 422,
         "county_invalid_target"),
        (staff, {"targets": [{"name": "poor_village_pct", "target": 250}]}, 422,
         "county_invalid_target"),
        (staff, {"targets": [{"name": "village_pct", "target": 1},
                             {"name": "village_pct", "target": 2}]}, 422,
         "county_duplicate_target"),
    ]  # fmt: skip
    for who, body, status, code in refusals:
        refused = await client.put(targets_url(world.township_id), json=body, headers=who)
        assert refused.status_code == status, refused.text
        assert refused.json()["code"] == code
    kept = await client.get(overview_url(world.township_id), headers=headers)
    assert [(row["name"], row["target"]) for row in kept.json()["targets"]] == [
        ("stations_village", 3),
        ("village_pct", 100),
    ]
    assert await AuditEntry.count().where(AuditEntry.action == "township.targets_set") == 1


async def test_the_township_page_sets_and_shows_the_targets(client, world):
    await make_officer(client, world)
    await page_login(client, world.staff.phone)
    page = f"/county/township?township_id={world.township_id}"
    token = await form_token(client, page)
    refused = await client.post(
        "/county/township/targets",
        data={"_csrf_token": token, "township_id": str(world.township_id),
              "target_online_retail_fen": "五百", "target_village_pct": "80"},
        headers=HTML,
    )  # fmt: skip
    assert refused.status_code == 200
    assert field_error(refused.text, "target_online_retail_fen")
    assert 'value="五百"' in refused.text  # as typed
    # The form's folded section opens on a field's refusal too (it stayed shut: nothing seen).
    assert re.search(
        r"<details open>\s*<summary>", refused.text.split('data-form="township-targets"')[0][-600:]
    )
    saved = await client.post(
        "/county/township/targets",
        data={"_csrf_token": token, "township_id": str(world.township_id),
              "target_online_retail_fen": "500", "target_village_pct": "80"},
        headers=HTML,
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].startswith(f"/county/township?township_id={world.township_id}")
    overview = await client.get(overview_url(world.township_id), headers=world.staff.headers)
    assert [(row["name"], row["target"]) for row in overview.json()["targets"]] == [
        ("village_pct", 80),
        ("online_retail_fen", 50000),
    ]
    shown = await client.get(page, headers=HTML)
    assert 'data-form="township-targets"' in shown.text and "500.00 元" in shown.text

    # The officer sees them judged, without the form; posting it anyway is refused.
    client.cookies.clear()
    await page_login(client, OFFICER)
    officer_page = await client.get("/county/township", headers=HTML)
    assert 'data-table="township-targets"' in officer_page.text
    assert 'data-target="village_pct" data-met="yes"' in officer_page.text
    assert 'data-target="online_retail_fen" data-met="no"' in officer_page.text
    assert 'data-form="township-targets"' not in officer_page.text
    token = await form_token(client, "/county/township")
    posted = await client.post(
        "/county/township/targets",
        data={"_csrf_token": token, "township_id": str(world.township_id),
              "target_village_pct": "10"},
        headers=HTML,
    )  # fmt: skip
    assert posted.status_code == 403
    overview = await client.get(overview_url(world.township_id), headers=world.staff.headers)
    assert overview.json()["targets"][0] == {
        "name": "village_pct", "unit": "pct", "target": 80, "actual": 100.0, "met": True
    }  # fmt: skip
