"""Station standards (六统一) as figures (issue #14): of the stations open today, how many have
each item of equipment, the programme's sign and the photos, and who keeps them; the same counts
on the API, the coverage page and the scorecard's targets `stations_equipped_pct` and
`stations_signage_pct`, and the stations short of the standard listed with what they lack."""

from __future__ import annotations

import re

from tests.test_county_pages import HTML, page_login
from tests.test_station_file import FULL, file_url
from tests.test_station_photos import camera_jpeg, jpeg_headers, photos_url

# Station A: FULL (no CCTV, so not equipped; the sign; a poor, party-member woman keeps it).
# Station B: the four required items, no sign, a disabled keeper.
EQUIPPED_NO_SIGN = {
    "has_computer": True,
    "has_printer": True,
    "has_cctv": True,
    "has_shelves": True,
    "keeper_disabled": True,
}
EVERYTHING = {**FULL, "has_cctv": True, "has_broadband": True}


async def _station(client, world, code: str) -> str:
    created = await client.post(
        f"/api/v1/counties/{world.county_id}/stations",
        json={"village_id": str(world.village_id), "name": f"站点{code}", "code": code},
        headers=world.staff.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def _county_with_files(client, world) -> None:
    """A and B as above; C open with no file; D fully equipped but closed today (not counted)."""
    for station, body in ((world.station_a, FULL), (world.station_b, EQUIPPED_NO_SIGN)):
        saved = await client.put(file_url(station), json=body, headers=world.staff.headers)
        assert saved.status_code == 200, saved.text
    photo = await client.post(
        f"{photos_url(world.station_a)}?kind=front",
        content=camera_jpeg(),
        headers=jpeg_headers(world.staff),
    )
    assert photo.status_code == 201, photo.text
    await _station(client, world, "C001")
    closed = await _station(client, world, "D001")
    saved = await client.put(file_url(closed), json=EVERYTHING, headers=world.staff.headers)
    assert saved.status_code == 200, saved.text
    shut = await client.post(
        f"/api/v1/stations/{closed}/close", json={"reason": "撤站"}, headers=world.staff.headers
    )
    assert shut.status_code == 200, shut.text


async def test_the_open_stations_counted_against_the_standard(client, world):
    await _county_with_files(client, world)
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/station-standards", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stations"] == 3 and body["files_saved"] == 2
    assert body["equipment"] == {
        "has_computer": 2,
        "has_printer": 2,
        "has_cctv": 1,
        "has_shelves": 2,
        "has_scanner": 1,
        "has_broadband": 0,
    }
    assert (body["equipped"], body["signage"]) == (1, 1)
    assert (body["front_photos"], body["sign_photos"]) == (1, 0)
    assert body["keepers"] == {
        "keeper_poor": 1,
        "keeper_disabled": 1,
        "keeper_party_member": 1,
        "keeper_female": 1,
    }
    lacking = {row["code"]: (row["missing"], row["file_saved"]) for row in body["lacking"]}
    assert lacking == {
        "A001": (["has_cctv"], True),
        "B001": (["has_signage"], True),
        "C001": (["has_cctv", "has_shelves", "has_computer", "has_printer", "has_signage"], False),
    }

    # Another county's staff never reads them.
    foreign = await client.get(
        f"/api/v1/counties/{world.county_id}/station-standards",
        headers=world.foreign_staff.headers,
    )
    assert foreign.status_code == 403


async def test_the_scorecard_judges_the_shares_and_the_coverage_page_shows_the_same(client, world):
    await _county_with_files(client, world)
    set_targets = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={
            "targets": [
                {"name": "stations_equipped_pct", "target": 100},
                {"name": "stations_signage_pct", "target": 30},
            ]
        },
        headers=world.staff.headers,
    )
    assert set_targets.status_code == 200, set_targets.text
    kpis = await client.get(f"/api/v1/counties/{world.county_id}/kpis", headers=world.staff.headers)
    assert kpis.status_code == 200, kpis.text
    judged = {row["name"]: row for row in kpis.json()["targets"]}
    # 1 of 3 open stations each: 33.3 %.
    assert (judged["stations_equipped_pct"]["actual"], judged["stations_equipped_pct"]["met"]) == (
        33.3,
        False,
    )
    assert (judged["stations_signage_pct"]["actual"], judged["stations_signage_pct"]["met"]) == (
        33.3,
        True,
    )

    assert (await page_login(client, "13700000010")).status_code in (200, 302, 303)
    page = await client.get("/county/coverage", headers=HTML)
    assert page.status_code == 200
    html = page.text

    def row(name: str) -> str:
        found = re.search(rf'<tr data-standard="{name}">(.*?)</tr>', html, re.S)
        assert found, name
        return re.sub(r"<[^>]+>|\s+", " ", found.group(1))

    assert "1 / 3" in row("equipped") and "33.3" in row("equipped")
    assert "2 / 3" in row("has_shelves") and "66.7" in row("has_shelves")
    assert "1 / 3" in row("keeper_female")
    lacking = dict(re.findall(r'<tr data-station="([^"]+)">(.*?)</tr>', html, re.S))
    assert set(lacking) == {"A001", "B001", "C001"}  # by township, village and code
    assert "监控" in lacking["A001"] and "统一标识" in lacking["B001"]
    assert "台帐还没有填写" in lacking["C001"]
    scorecard = await client.get("/county/scorecard", headers=HTML)
    assert 'data-target="stations_equipped_pct"' in scorecard.text
