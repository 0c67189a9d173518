"""Trace points (溯源点, issue #15): the distinct origins of the county's trace batches — the
household, else the packing station, else the village — counted from the day each first batch was
registered, the same on the API, the trace page and the scorecard's target `trace_points`."""

from __future__ import annotations

import datetime
import re

from backend import clock
from backend.trace.tables import TraceBatch
from tests.test_county_pages import HTML, page_login
from tests.test_station_file import shanghai_today
from tests.test_trace import PHONE_UA, create, path_of


async def _batches(client, world) -> list[str]:
    """Six batches: two of T-0001 (one point), one of T-0002, one packed at station A with no
    household, one naming only its village, one naming nothing (no known origin)."""
    bodies = [
        {"household_code": world.household_code},
        {"household_code": world.household_code, "product": "核桃"},
        {"household_code": world.non_poverty_household_code},
        {"station_id": str(world.station_a)},
        {"village_id": str(world.village_id)},
        {},
    ]
    ids = []
    for body in bodies:
        answer = await create(client, world, **body)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return ids


async def test_points_are_distinct_origins(client, world):
    await _batches(client, world)
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/trace-points", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["points"] == 4 and body["batches"] == 6
    assert body["by_kind"] == {"household": 2, "station": 1, "village": 1}
    foreign = await client.get(
        f"/api/v1/counties/{world.county_id}/trace-points", headers=world.foreign_staff.headers
    )
    assert foreign.status_code == 403

    assert (await page_login(client, "13700000010")).status_code in (200, 302, 303)
    page = await client.get("/county/trace", headers=HTML)
    assert "溯源点 4 个" in page.text
    assert 'data-kind="household"' in page.text


async def test_the_target_counts_the_points_registered_by_the_periods_end(client, world):
    ids = await _batches(client, world)
    # The first batch was registered 40 days ago: last month's end had that one point only.
    earlier = clock.utcnow() - datetime.timedelta(days=40)
    await TraceBatch.update({TraceBatch.created_at: earlier}).where(TraceBatch.id == ids[0])
    saved = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"targets": [{"name": "trace_points", "target": 5}]},
        headers=world.staff.headers,
    )
    assert saved.status_code == 200, saved.text
    today = shanghai_today()
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")

    async def judged(month: str) -> dict:
        kpis = await client.get(
            f"/api/v1/counties/{world.county_id}/kpis",
            params={"month": month},
            headers=world.staff.headers,
        )
        assert kpis.status_code == 200, kpis.text
        return {row["name"]: row for row in kpis.json()["targets"]}["trace_points"]

    now = await judged(today.strftime("%Y-%m"))
    assert (now["actual"], now["target"], now["met"]) == (4, 5, False)
    before = await judged(last_month)
    assert (before["actual"], before["met"]) == (1, False)


async def test_the_trace_page_sums_scans_per_product(client, world):
    """Two batches of 岳普湖红枣 scanned three times between them, one of 核桃 never: the product
    table adds the batches' own counts."""
    made = [await create(client, world, **body) for body in ({}, {}, {"product": "核桃"})]
    urls = [answer.json()["url"] for answer in made]
    for url in (urls[0], urls[0], urls[1]):
        visit = await client.get(path_of(url), headers=PHONE_UA)
        assert visit.status_code == 200
    assert (await page_login(client, "13700000010")).status_code in (200, 302, 303)
    page = (await client.get("/county/trace", headers=HTML)).text
    rows = re.findall(r'<tr data-product="([^"]+)">(.*?)</tr>', page, re.S)
    cells = {name: re.sub(r"<[^>]+>|\s+", " ", body).split() for name, body in rows}
    assert [name for name, _ in rows] == ["岳普湖红枣", "核桃"]  # most scanned first
    assert cells["岳普湖红枣"][1:] == ["2", "批", "3", "次", "3", "次"]
    assert cells["核桃"][1:] == ["1", "批", "0", "次", "0", "次"]
