"""A village's 贫困村 flag over time (issue #14: "villages' poor flag over time"): a change holds
from a county-local day, coverage as of a day before it counts the village with its earlier flag,
and the bulk import's flips are kept too."""

from __future__ import annotations

import datetime

from backend.registry.tables import VillagePoverty
from tests.test_registry_import import csv_file, upload
from tests.test_station_file import shanghai_today


def _coverage_url(world, day: datetime.date) -> str:
    return f"/api/v1/counties/{world.county_id}/coverage?on={day.isoformat()}"


async def _poor_villages(client, world, day: datetime.date) -> tuple[int, bool]:
    """The poor villages on `day`, and whether 南村 is listed among those without a station."""
    answer = await client.get(_coverage_url(world, day), headers=world.staff.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    without = [village["name"] for village in body["poor_villages_without_station"]]
    return body["poor_villages"]["total"], "南村" in without


async def test_a_flag_holds_from_its_day_and_the_past_keeps_its_own(client, world):
    today = shanghai_today()
    made = await client.post(
        f"/api/v1/counties/{world.county_id}/villages",
        json={"township_id": str(world.township_id), "name": "南村"},
        headers=world.staff.headers,
    )
    assert made.status_code == 201, made.text
    village = made.json()["id"]
    since = today - datetime.timedelta(days=100)
    changed = await client.patch(
        f"/api/v1/villages/{village}",
        json={"poor": True, "poor_from": since.isoformat()},
        headers=world.staff.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["poor"] is True
    assert changed.json()["poor_changes"] == [{"from_day": since.isoformat(), "poor": True}]

    # The world's 西村 is poor all along (never changed); 南村 from `since` on.
    assert await _poor_villages(client, world, today) == (2, True)
    assert await _poor_villages(client, world, since) == (2, True)
    day_before = since - datetime.timedelta(days=1)
    assert await _poor_villages(client, world, day_before) == (1, False)

    # A change may not hold from before the last one, nor from tomorrow; nothing is written.
    for bad in (since - datetime.timedelta(days=1), today + datetime.timedelta(days=1)):
        refused = await client.patch(
            f"/api/v1/villages/{village}",
            json={"poor": False, "poor_from": bad.isoformat()},
            headers=world.staff.headers,
        )
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["field"]) == (
            "village_poor_from_range",
            "poor_from",
        )
    unchanged = await client.patch(
        f"/api/v1/villages/{village}",
        json={"name": "南村", "poor_from": today.isoformat()},
        headers=world.staff.headers,
    )
    assert unchanged.status_code == 422
    assert unchanged.json()["code"] == "village_poor_from_unchanged"
    assert await VillagePoverty.count() == 1

    # 脱贫 today: the flag is off from today, the last 100 days keep it.
    left = await client.patch(
        f"/api/v1/villages/{village}", json={"poor": False}, headers=world.staff.headers
    )
    assert left.status_code == 200, left.text
    assert [change["poor"] for change in left.json()["poor_changes"]] == [True, False]
    assert await _poor_villages(client, world, today) == (1, False)
    assert await _poor_villages(client, world, today - datetime.timedelta(days=1)) == (2, True)


async def test_an_import_that_flips_a_flag_keeps_the_change_from_its_day(client, world):
    today = shanghai_today()
    # 东村 (not poor) becomes a 贫困村 by the county's list; 西村 stays as it is.
    rows = [["510100", "测试县镇", "51010001", "东村", "是", "T-0002", "王五", "", "否"]]
    answer = await upload(client, world, csv_file(rows), dry_run=False, content_type="text/csv")
    assert answer.status_code == 200, answer.text
    changes = await VillagePoverty.select(VillagePoverty.poor, VillagePoverty.from_day)
    assert [(row["poor"], str(row["from_day"])) for row in changes] == [(True, today.isoformat())]
    yesterday = today - datetime.timedelta(days=1)
    assert (await _poor_villages(client, world, today))[0] == 2
    assert (await _poor_villages(client, world, yesterday))[0] == 1
    again = await upload(client, world, csv_file(rows), dry_run=False, content_type="text/csv")
    assert again.status_code == 200
    assert await VillagePoverty.count() == 1  # the same list again changes nothing
