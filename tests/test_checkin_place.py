"""Where a keeper checked in, against the station file's location (打卡位置): the distance on the
station page, far check-ins flagged, and what is said when a position is missing."""

from __future__ import annotations

import re

from tests.support import event, push, statuses
from tests.test_county_pages import html_as

STATION = {"lat": 39.9, "lng": 116.4}


def checkin(note: str, **where) -> dict:
    return event("checkin.recorded", {"note": note, **where})


def rows(html: str) -> dict[str, tuple[str, bool]]:
    """note → (data-metres, far?) of the page's check-in rows."""
    found = {}
    for attrs, body in re.findall(r"<tr data-checkin ([^>]*)>(.*?)</tr>", html, re.S):
        metres = re.search(r'data-metres="([^"]*)"', attrs).group(1)
        note = re.findall(r"<td>(.*?)</td>", body, re.S)[-1].strip()
        found[note] = (metres, "data-far" in attrs)
    return found


async def test_the_station_page_says_how_far_each_check_in_was(client, world):
    entries = [
        checkin("门口", lat=39.9009, lng=116.4),  # 0.0009° north: 100 m
        checkin("镇上", lat=39.945, lng=116.4),  # 0.045° north: 5,004 m
        checkin("没开定位"),
    ]
    assert statuses(await push(client, world.keeper_a, entries)) == ["accepted"] * 3
    path = f"/county/stations/{world.station_a}"

    unplaced = await client.get(path, headers=html_as(world.staff))
    assert unplaced.status_code == 200
    assert rows(unplaced.text) == {
        "门口": ("", False),
        "镇上": ("", False),
        "没开定位": ("", False),
    }
    assert "站点未登记位置" in unplaced.text and "未带位置" in unplaced.text

    placed = await client.put(
        f"/api/v1/stations/{world.station_a}/file", json=STATION, headers=world.staff.headers
    )
    assert placed.status_code == 200, placed.text
    page = await client.get(path, headers=html_as(world.staff))
    # 1° of latitude is 111,195 m on a 6,371 km sphere.
    assert rows(page.text) == {
        "门口": ("100", False),
        "镇上": ("5004", True),
        "没开定位": ("", False),
    }
    assert "距站点 100 米" in page.text and "距站点 5.0 公里" in page.text
    assert "离站点太远" in page.text
