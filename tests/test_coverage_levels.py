"""Coverage as of a day, by level (issue #14): 乡级服务站 cover townships, 村级服务点 villages; a
station counts as built on a day when opened_on <= day < closed_on, and as active when it recorded
something other than a check-in in the 30 days up to that day. Every expectation below is counted
by hand on a small county; the registry's validation refuses bad levels and days with 422
problems that change nothing, and every change is audited."""

from __future__ import annotations

import datetime
import json

from backend.accounts.tables import AuditEntry
from backend.registry.tables import Station
from tests.support import _actor, event, push

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _today() -> datetime.date:
    """Today in the county, read when a test runs: a run that crosses midnight in Shanghai
    (16:00 UTC) must not compare with the day it was collected on."""
    return datetime.datetime.now(SHANGHAI).date()


def _d() -> datetime.date:
    """The day asked: 40 days before today."""
    return _today() - datetime.timedelta(days=40)


def _day(offset: int) -> str:
    return (_d() + datetime.timedelta(days=offset)).isoformat()


def _at(offset: int) -> str:
    """10:00 in Shanghai on D + offset days."""
    day = _d() + datetime.timedelta(days=offset)
    return datetime.datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI).isoformat()


async def _post(client, world, path: str, body: dict) -> dict:
    answer = await client.post(
        f"/api/v1/counties/{world.county_id}/{path}", json=body, headers=world.staff.headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _small_county(client, world) -> dict[str, str]:
    """Beside the world's 测试县镇 (东村, 西村 poor; stations A001 and B001 opened today):

    北山乡 (poor): 一村 (poor), 二村 (poor), 三村 — 南河镇: 四村, 五村 (poor).
    S1 乡级 at 一村 opened D-100 (its last entry D-30: outside the 30 days)
    S2 村级 at 一村 opened D-50 (a sale D-5: active)
    S3 村级 at 二村 opened D+1 (after the day: not built)
    S4 村级 at 四村 opened D-200, closed D-10 (closed before the day: not built)
    S5 村级 at 五村 opened D-30, closed D+5 (built on D; a check-in only: not active)
    S6 乡级 at 四村 opened on D (built; a sale D-29: active, the window's first day)
    S7 村级 at 三村 opened D-20, closed on D (not built on the day it closed)
    """
    north = await _post(client, world, "townships", {"name": "北山乡", "poor": True})
    south = await _post(client, world, "townships", {"name": "南河镇"})
    ids: dict[str, str] = {"north": north["id"], "south": south["id"]}
    for name, township, poor in (
        ("一村", north, True), ("二村", north, True), ("三村", north, False),
        ("四村", south, False), ("五村", south, True),
    ):  # fmt: skip
        village = await _post(
            client, world, "villages", {"township_id": township["id"], "name": name, "poor": poor}
        )
        ids[name] = village["id"]
    plan = [
        ("S1", "一村", "township", -100), ("S2", "一村", "village", -50),
        ("S3", "二村", "village", 1), ("S4", "四村", "village", -200),
        ("S5", "五村", "village", -30), ("S6", "四村", "township", 0),
        ("S7", "三村", "village", -20),
    ]  # fmt: skip
    for code, village, level, opened in plan:
        station = await _post(
            client,
            world,
            "stations",
            {"village_id": ids[village], "name": f"{code}站", "code": code, "level": level,
             "opened_on": _day(opened)},
        )  # fmt: skip
        assert station["level"] == level and station["opened_on"] == _day(opened)
        ids[code] = station["id"]
    sale = {"product": "核桃", "quantity": 1, "unit": "kg", "amount_fen": 1000,
            "commission_fen": 0, "channel": "微信"}  # fmt: skip
    entries = {
        "S1": [event("sale.recorded", sale, _at(-30))],
        "S2": [event("sale.recorded", sale, _at(-5))],
        "S5": [event("checkin.recorded", {}, _at(-3))],
        "S6": [event("sale.recorded", sale, _at(-29))],
    }
    for number, (code, events) in enumerate(entries.items()):
        keeper = await _actor(client, world.county_id, f"1370000009{number}", "keeper", ids[code])
        results = await push(client, keeper, events)
        assert {r["status"] for r in results} == {"accepted"}, results
    # Closed after their keepers recorded (a closed station takes no new keeper).
    for code, closed in (("S4", -10), ("S5", 5), ("S7", 0)):
        if closed > 0:  # a closing after D: recorded as of today, then dated by PATCH
            await _close(client, world, ids[code], None)
            patched = await client.patch(
                f"/api/v1/stations/{ids[code]}", json={"closed_on": _day(closed)},
                headers=world.staff.headers,
            )  # fmt: skip
            assert patched.status_code == 200, patched.text
        else:
            await _close(client, world, ids[code], _day(closed))
    return ids


async def _close(client, world, station_id: str, closed_on: str | None):
    body = {"reason": "停办"} | ({"closed_on": closed_on} if closed_on else {})
    answer = await client.post(
        f"/api/v1/stations/{station_id}/close", json=body, headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _coverage(client, world, on: str | None) -> dict:
    query = f"?on={on}" if on else ""
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/coverage{query}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_coverage_on_a_day_counts_levels_apart_built_and_active(client, world):
    ids = await _small_county(client, world)
    body = await _coverage(client, world, _d().isoformat())
    assert body["on"] == _d().isoformat() and body["active_from"] == _day(-29)
    # Built on D: S1, S6 (乡级); S2, S5 (村级). Not: S3 (opens after), S4 (closed before),
    # S7 (closed on D), A001 and B001 (opened today). Active: S6 (a sale on D-29) and S2;
    # S1's sale is a day before the window, S5 only checked in.
    assert body["stations"] == {
        "township": {"built": 2, "active": 1},
        "village": {"built": 2, "active": 1},
    }
    # 3 townships; 北山乡 (S1) and 南河镇 (S6) have a 乡级服务站; only 南河镇's is active.
    assert body["townships"] == {
        "total": 3, "covered": 2, "pct": 66.7, "target_pct": 100, "met": False,
        "active_covered": 1, "active_pct": 33.3,
    }  # fmt: skip
    # 7 villages; 一村 (S2) and 五村 (S5) have a 村级服务点. 四村 holds 南河镇's 乡级服务站 but
    # its own point S4 closed before D: not covered.
    assert body["villages"] == {
        "total": 7, "covered": 2, "pct": 28.6, "target_pct": 60, "met": False,
        "active_covered": 1, "active_pct": 14.3,
    }  # fmt: skip
    # Poor villages: 西村, 一村, 二村, 五村 → 一村 and 五村 covered, 50 % meets the 50 % target.
    assert body["poor_villages"] == {
        "total": 4, "covered": 2, "pct": 50.0, "target_pct": 50, "met": True,
        "active_covered": 1, "active_pct": 25.0,
    }  # fmt: skip
    # Poor townships: 北山乡 alone, covered by S1 (built, not active).
    assert body["poor_townships"] == {
        "total": 1, "covered": 1, "pct": 100.0, "target_pct": 100, "met": True,
        "active_covered": 0, "active_pct": 0.0,
    }  # fmt: skip
    without = {v["name"]: v["township"] for v in body["poor_villages_without_station"]}
    assert without == {"二村": "北山乡", "西村": "测试县镇"}
    north = next(row for row in body["by_township"] if row["name"] == "北山乡")
    assert north == {
        "id": ids["north"], "name": "北山乡", "poor": True, "township_stations": 1,
        "village_stations": 1, "villages": 3, "villages_covered": 1, "poor_villages": 2,
        "poor_villages_covered": 1,
    }  # fmt: skip

    # Today: S3 opened, S5 and S7 closed, A001 and B001 opened (村级 at 东村, 西村).
    today = await _coverage(client, world, None)
    assert today["on"] == _today().isoformat()
    assert today["stations"] == {
        "township": {"built": 2, "active": 0},
        "village": {"built": 4, "active": 0},  # S2, S3, A001, B001; S2's sale is 45 days old
    }
    assert (today["villages"]["covered"], today["villages"]["pct"]) == (4, 57.1)
    assert (today["poor_villages"]["covered"], today["poor_villages"]["met"]) == (3, True)
    assert [v["name"] for v in today["poor_villages_without_station"]] == ["五村"]

    # The day before D: S6 is not yet open, S7 still is.
    before = await _coverage(client, world, _day(-1))
    assert before["stations"]["township"]["built"] == 1
    assert before["stations"]["village"]["built"] == 3  # S2, S5, S7
    assert before["villages"]["covered"] == 3


async def test_the_page_shows_coverage_on_the_day_picked_with_units(client, world):
    from tests.test_county_pages import HTML, page_login

    await _small_county(client, world)
    await page_login(client, world.staff.phone)
    page = await client.get(f"/county/coverage?on={_d().isoformat()}&lang=zh-CN", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert f'name="on" value="{_d().isoformat()}"' in text

    def row(attribute: str) -> str:
        return text.split(attribute)[1].split("</tr>")[0]

    townships = row('data-target="townships"')
    assert "2 / 3</bdi> 个乡镇" in townships and "66.7%" in townships and "未达标" in townships
    assert "1 / 3</bdi> 个乡镇 · 33.3%" in townships
    villages = row('data-target="villages"')
    assert "2 / 7</bdi> 个村" in villages and "28.6%" in villages
    assert "50%" in row('data-target="poor_villages"') and "已达标" in row(
        'data-target="poor_villages"'
    )
    assert "1 / 1</bdi> 个乡镇" in row('data-target="poor_townships"')
    assert "2 个" in row('data-level="township"').split('class="num built"')[1]
    assert "1 个" in row('data-level="village"').split('class="num active"')[1]
    listed = text.split('data-list="poor-without-station"')[1].split("</ul>")[0]
    assert "二村" in listed and "西村" in listed and "一村" not in listed
    north = row('data-township="北山乡"')
    assert "贫困乡镇" in north and "1 / 3</bdi> 个村" in north
    # A day that cannot be read is today (the page never fails on it).
    odd = await client.get("/county/coverage?on=2026-13-45&lang=ug", headers=HTML)
    assert odd.status_code == 200 and f'value="{_today().isoformat()}"' in odd.text


async def test_targets_count_township_stations_and_village_points_apart(client, world):
    await client.patch(
        f"/api/v1/stations/{world.station_a}", json={"level": "township"},
        headers=world.staff.headers,
    )  # fmt: skip
    answer = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"targets": [{"name": "stations_village", "target": 2},
                          {"name": "stations_township", "target": 1}]},
        headers=world.staff.headers,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    names = [t["name"] for t in answer.json()["targets"]]
    assert names == ["stations_township", "stations_village"]
    kpis = await client.get(f"/api/v1/counties/{world.county_id}/kpis", headers=world.staff.headers)
    judged = {t["name"]: t for t in kpis.json()["targets"]}
    assert judged["stations_township"] == {
        "name": "stations_township", "target": 1, "actual": 1, "met": True, "reason": None
    }  # fmt: skip
    assert judged["stations_village"] == {
        "name": "stations_village", "target": 2, "actual": 1, "met": False, "reason": None
    }  # fmt: skip
    assert judged["township_coverage_pct"]["actual"] == 100.0
    assert judged["village_coverage_pct"]["actual"] == 50.0  # 西村's B001 alone


async def test_bad_levels_and_days_are_refused_and_change_nothing(client, world):
    staff = {**world.staff.headers, "accept-language": "zh-CN"}
    village = str(world.village_id)
    created = await client.post(
        f"/api/v1/counties/{world.county_id}/stations",
        json={"village_id": village, "name": "区站", "code": "X001", "level": "district"},
        headers=staff,
    )
    assert created.status_code == 422, created.text
    assert created.headers["content-type"].startswith("application/problem+json")
    assert created.json()["code"] == "station_unknown_level"
    assert created.json()["field"] == "level" and "township" in created.json()["detail"]
    assert await Station.count().where(Station.code == "X001") == 0

    station = f"/api/v1/stations/{world.station_a}"
    before = (await client.get(station, headers=staff)).json()
    assert before["level"] == "village" and before["opened_on"] == _today().isoformat()
    assert before["closed_on"] is None
    audits_before = await AuditEntry.count()
    cases = [
        ("PATCH", station, {"level": "town"}, 422, "station_unknown_level"),
        ("POST", f"{station}/close", {"reason": "停办", "closed_on": _day(0)}, 422,
         "station_closed_before_opened"),
        ("POST", f"{station}/close", {"reason": "停办", "closed_on": "2999-01-01"}, 422,
         "station_closed_on_future"),
        ("PATCH", station, {"closed_on": _today().isoformat()}, 409, "station_not_closed"),
        ("PATCH", station, {"opened_on": "1999-12-31"}, 422, "station_opened_on_invalid"),
    ]  # fmt: skip
    for method, path, body, status, code in cases:
        answer = await client.request(method, path, json=body, headers=staff)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (body, answer.text)
    assert (await client.get(station, headers=staff)).json() == before
    assert await AuditEntry.count() == audits_before

    # Closed today; then its closing day cannot go before its opening day, nor the opening day
    # after the closing day.
    closed = await _close(client, world, str(world.station_a), None)
    assert closed["closed_on"] == _today().isoformat()
    await client.patch(station, json={"opened_on": _day(-10)}, headers=staff)
    for body, field in (
        ({"closed_on": _day(-11)}, "closed_on"),
        ({"opened_on": (_today() + datetime.timedelta(days=1)).isoformat()}, "opened_on"),
    ):
        answer = await client.patch(station, json=body, headers=staff)
        assert answer.status_code == 422, answer.text
        assert (answer.json()["code"], answer.json()["field"]) == (
            "station_closed_before_opened", field
        )  # fmt: skip
        assert "早于开站日期" in answer.json()["detail"]
    now = (await client.get(station, headers=staff)).json()
    assert (now["opened_on"], now["closed_on"]) == (_day(-10), _today().isoformat())


async def test_levels_days_and_poor_townships_are_audited(client, world):
    township = await client.patch(
        f"/api/v1/townships/{world.township_id}", json={"poor": True}, headers=world.staff.headers
    )
    assert township.status_code == 200 and township.json()["poor"] is True
    station = f"/api/v1/stations/{world.station_b}"
    patched = await client.patch(
        station, json={"level": "township", "opened_on": _day(0)}, headers=world.staff.headers
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["level"], patched.json()["opened_on"]) == ("township", _day(0))
    await _close(client, world, str(world.station_b), _day(10))
    redated = await client.patch(station, json={"closed_on": _day(12)}, headers=world.staff.headers)
    assert redated.status_code == 200 and redated.json()["closed_on"] == _day(12)
    reopened = await client.post(f"{station}/reopen", headers=world.staff.headers)
    assert reopened.status_code == 200
    assert (reopened.json()["closed_on"], reopened.json()["closed_at"]) == (None, None)

    rows = await AuditEntry.select().where(AuditEntry.target_id.is_in(
        [str(world.township_id), str(world.station_b)]
    ) & (AuditEntry.actor == world.staff.id)).order_by(AuditEntry.at)  # fmt: skip
    trail = [(row["action"], json.loads(row["details"])) for row in rows]
    assert trail == [
        ("township.updated", {"poor": True}),
        ("station.updated", {"level": "township", "opened_on": _day(0)}),
        ("station.closed", {"reason": "停办", "closed_on": _day(10)}),
        ("station.updated", {"closed_on": _day(12)}),
        ("station.reopened", {"closed_on": _day(12)}),
    ]


async def test_the_coverage_day_must_be_a_day_up_to_today(client, world):
    for on in ("2026-02-30", "yesterday", "2014-12-31",
               (_today() + datetime.timedelta(days=1)).isoformat()):  # fmt: skip
        answer = await client.get(
            f"/api/v1/counties/{world.county_id}/coverage?on={on}", headers=world.staff.headers
        )
        assert answer.status_code == 400, (on, answer.text)
        assert answer.json()["field"] == "on"
    foreign = await client.get(
        f"/api/v1/counties/{world.foreign_county_id}/coverage", headers=world.staff.headers
    )
    assert foreign.status_code == 403


async def test_the_migration_dates_existing_stations_on_the_county_calendar(client, world):
    """Rows from before the opening and closing days: opened on the day they were created and
    closed on the day they were closed, each in its own county's time zone."""
    import importlib

    migration = importlib.import_module(
        "backend.registry.piccolo_migrations.registry_2026_12_02t20_00_01_000000"
    )
    created = datetime.datetime(2026, 3, 1, 17, 30, tzinfo=datetime.UTC)  # Beijing: 3 March
    closed = datetime.datetime(2026, 5, 10, 19, 0, tzinfo=datetime.UTC)  # Urumqi: 11 May
    for station in (world.station_a, world.foreign_station):
        await Station.update(
            {Station.opened_on: None, Station.created_at: created}
        ).where(Station.id == station)  # fmt: skip
    await Station.update(
        {Station.closed_at: closed, Station.closed_on: None, Station.closed_reason: "旧"}
    ).where(Station.id == world.foreign_station)  # fmt: skip
    await migration.fill_dates()
    rows = {
        row["id"]: row
        for row in await Station.select(Station.id, Station.opened_on, Station.closed_on)
    }
    assert rows[world.station_a]["opened_on"] == datetime.date(2026, 3, 2)  # Asia/Shanghai
    assert rows[world.station_a]["closed_on"] is None
    assert rows[world.foreign_station]["opened_on"] == datetime.date(2026, 3, 1)  # Asia/Urumqi
    assert rows[world.foreign_station]["closed_on"] == datetime.date(2026, 5, 11)
    assert rows[world.station_b]["opened_on"] == _today()  # set when created: left alone
