"""The province's county lines are counted once and kept with when they were counted (issue #17):
the rollup job counts again only the lines of counties whose rollups moved (or that grew too
old), a read serves the kept line while it is fresh or its county unchanged and counts it again
otherwise; the figures are always what the county's own line gives."""

from __future__ import annotations

import datetime
import zoneinfo

import msgspec
import pytest

from backend import clock
from backend.jobs.service import run_now
from backend.province import service
from tests.support import WORLD_ZONES, push
from tests.test_county_pages import HTML
from tests.test_province import _officer, _sale

ZONES = [zoneinfo.ZoneInfo(name) for name in WORLD_ZONES]


@pytest.fixture
def before_midnight(monkeypatch):
    """The server's clock, running, at least two hours before every test county's midnight. A
    test that steps it past a line's freshness expects the county's rollups not to move, and a
    new local day moves them (its day comes due: the line is then rightly counted again); run
    within ten minutes of Shanghai's midnight, or of Urumqi's (02:00 in Shanghai), such a test
    failed. Near either, the clock runs a few whole hours behind (entries written by the phones'
    clock then count when received)."""
    real = clock.utcnow
    shift = datetime.timedelta(0)
    while any((real() - shift).astimezone(zone).hour >= 22 for zone in ZONES):
        shift += datetime.timedelta(hours=1)
    monkeypatch.setattr(clock, "utcnow", lambda: real() - shift)


def _figures(line: dict) -> dict:
    return {key: value for key, value in line.items() if key != "counted_at"}


async def _home(client, officer, code: str = "TEST") -> dict:
    return (await _all(client, officer))[code]


async def _all(client, officer) -> dict[str, dict]:
    answer = await client.get("/api/v1/province/counties", headers=officer)
    assert answer.status_code == 200, answer.text
    return {line["code"]: line for line in answer.json()["counties"]}


async def _job_counted(app) -> int:
    run = await run_now(app.state.settings, "rollup")
    assert run.status == "done", run.error
    return run.counts["province_lines"]


async def _live(world) -> dict:
    line = await service.county_line(world.county_id, None)
    return _figures(msgspec.to_builtins(line))


async def test_the_kept_line_is_the_county_line_after_the_rollup_job(app, client, world):
    await push(client, world.keeper_a, [_sale(10_000)])
    officer = await _officer(client, world, [world.county_id, world.foreign_county_id])
    first = await _home(client, officer)
    assert first["retail_fen"] == 10_000 and first["counted_at"]

    await push(client, world.keeper_a, [_sale(2_500)])
    kept = await _home(client, officer)
    assert kept == first  # fresh: served as counted, with when it was counted

    run = await run_now(app.state.settings, "rollup")
    assert run.status == "done", run.error
    assert run.counts["province_lines"] == 1  # the other county did not change
    after = await _home(client, officer)
    assert after["retail_fen"] == 12_500
    assert after["counted_at"] > first["counted_at"]
    assert _figures(after) == await _live(world)  # the county's own line, as counted now


async def test_a_line_older_than_the_bound_is_counted_again_when_read(client, world, monkeypatch):
    officer = await _officer(client, world, [world.county_id])
    before = await _home(client, officer)
    await push(client, world.keeper_a, [_sale(4_000)])
    assert (await _home(client, officer))["retail_fen"] == before["retail_fen"]

    later = clock.utcnow() + service.STALE_AFTER + datetime.timedelta(seconds=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    stale = await _home(client, officer)
    assert stale["retail_fen"] == before["retail_fen"] + 4_000
    assert datetime.datetime.fromisoformat(stale["counted_at"]) == later
    assert _figures(stale) == await _live(world)


async def test_the_page_says_when_each_county_was_counted(client, world):
    officer = await _officer(client, world, [world.county_id])
    line = await _home(client, officer)
    counted = datetime.datetime.fromisoformat(line["counted_at"])
    local = counted.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    for language, words in (("zh-CN", "统计于"), ("en", "counted"), ("ug", "ھېسابلانغان")):
        page = await client.get(f"/county/province?lang={language}", headers={**officer, **HTML})
        assert page.status_code == 200, page.text
        assert words in page.text
        assert f"{local:%Y-%m-%d %H:%M}" in page.text
        assert f'data-counted-at="{counted.isoformat()}"' in page.text


async def test_the_rollup_job_counts_again_only_the_counties_that_changed(
    app, client, world, monkeypatch, before_midnight
):
    officer = await _officer(client, world, [world.county_id, world.foreign_county_id])
    await push(client, world.keeper_a, [_sale(1_000)])
    assert await _job_counted(app) == 2  # no line yet
    first = await _all(client, officer)
    assert len(first) == 2 and first["TEST"]["retail_fen"] == 1_000

    assert await _job_counted(app) == 0  # nothing moved: both lines kept as counted
    assert await _all(client, officer) == first

    await push(client, world.foreign_keeper, [_sale(700)])
    assert await _job_counted(app) == 1
    second = await _all(client, officer)
    assert second["TEST"] == first["TEST"]
    (code,) = set(second) - {"TEST"}
    assert second[code]["retail_fen"] == first[code]["retail_fen"] + 700
    assert second[code]["counted_at"] > first[code]["counted_at"]

    # Past the bound a fresh line has, a read still serves an unchanged county's kept line.
    later = clock.utcnow() + service.STALE_AFTER + datetime.timedelta(seconds=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert await _all(client, officer) == second
    # An unchanged county's line is counted again once it is about to be an hour old (what moves
    # no rollup: stations built, targets set).
    much_later = later + service.UNCHANGED_AT_MOST - service.STALE_AFTER
    monkeypatch.setattr(clock, "utcnow", lambda: much_later)
    assert await _job_counted(app) == 2
    third = await _all(client, officer)
    counted = {datetime.datetime.fromisoformat(line["counted_at"]) for line in third.values()}
    assert counted == {much_later}
    assert _figures(third["TEST"]) == await _live(world)
