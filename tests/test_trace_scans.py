"""Scans per day (issue #15, "scans per month"): each counted visit of `/t/{code}` adds one to its
batch's county-local day; the kpis' 溯源扫码 is the year to date of those days, the API gives each
batch its months, the county's page its twelve months, the workbook its month, year and total.
The server's clock is driven through `backend.clock`; every expectation is counted by hand."""

from __future__ import annotations

import asyncio
import datetime
import importlib
import io
import re

from openpyxl import load_workbook

from backend import clock
from backend.trace.tables import TraceBatch, TraceScanDay
from tests.test_county_pages import html_as
from tests.test_trace import BOT_UA, PHONE, PHONE_UA, path_of

UTC = datetime.UTC


def _utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _set_clock(monkeypatch, moment: datetime.datetime) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: moment)


async def _batch(client, county_id, staff, product: str) -> dict:
    answer = await client.post(
        f"/api/v1/counties/{county_id}/trace-batches",
        json={"product": product},
        headers=staff.headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _visit(client, monkeypatch, batch: dict, moment: str, times: int = 1) -> None:
    _set_clock(monkeypatch, _utc(moment))
    for _ in range(times):
        answer = await client.get(path_of(batch["url"]), headers=PHONE_UA)
        assert answer.status_code == 200


async def _listed(client, county_id, staff) -> dict[str, dict]:
    answer = await client.get(f"/api/v1/counties/{county_id}/trace-batches", headers=staff.headers)
    assert answer.status_code == 200, answer.text
    return {batch["code"]: batch for batch in answer.json()}


def _nonzero_months(batch: dict) -> dict[str, int]:
    return {m["month"]: m["scans"] for m in batch["scans_by_month"] if m["scans"]}


async def _two_months_and_a_new_year(client, world, monkeypatch) -> tuple[dict, dict, dict]:
    """Batches 甲 and 乙 of the home county (Asia/Shanghai, UTC+8) and 丙 of the foreign county
    (Asia/Urumqi, UTC+6), created on 1 November 2025, visited around two midnights:

        甲 2025-11-30 15:30Z = 11-30 23:30 Beijing → November
        甲 2025-11-30 16:30Z = 12-01 00:30 Beijing → December
        乙 2025-12-31 15:59Z = 12-31 23:59 Beijing → December 2025
        甲 2025-12-31 16:00Z = 01-01 00:00 Beijing → January 2026
        乙 2026-01-15 02:00Z, three times → January
        丙 2025-12-31 17:00Z = 12-31 23:00 Urumqi → December 2025 (Beijing would say 2026)
        丙 2025-12-31 18:00Z = 01-01 00:00 Urumqi → January 2026

    and, not counted: a crawler, a HEAD and the QR image of 乙 in January.
    Home county: November 1, December 2, January 4; 2025: 3, 2026: 4; in all 7.
    """
    _set_clock(monkeypatch, _utc("2025-11-01T04:00:00"))
    jia = await _batch(client, world.county_id, world.staff, "红枣")
    yi = await _batch(client, world.county_id, world.staff, "核桃")
    bing = await _batch(client, world.foreign_county_id, world.foreign_staff, "土豆")
    await _visit(client, monkeypatch, jia, "2025-11-30T15:30:00")
    await _visit(client, monkeypatch, jia, "2025-11-30T16:30:00")
    await _visit(client, monkeypatch, yi, "2025-12-31T15:59:00")
    await _visit(client, monkeypatch, jia, "2025-12-31T16:00:00")
    await _visit(client, monkeypatch, yi, "2026-01-15T02:00:00", times=3)
    await _visit(client, monkeypatch, bing, "2025-12-31T17:00:00")
    await _visit(client, monkeypatch, bing, "2025-12-31T18:00:00")
    page = path_of(yi["url"])
    assert (await client.get(page, headers=BOT_UA)).status_code == 200
    assert (await client.head(page, headers=PHONE_UA)).status_code == 200
    assert (await client.get(page + ".svg", headers=PHONE_UA)).status_code == 200
    _set_clock(monkeypatch, _utc("2026-01-20T04:00:00"))  # 20 January 2026, noon in Beijing
    return jia, yi, bing


async def test_each_scan_counts_on_its_countys_day_over_two_months_and_a_new_year(
    client, world, monkeypatch
):
    jia, yi, bing = await _two_months_and_a_new_year(client, world, monkeypatch)
    home = await _listed(client, world.county_id, world.staff)
    months = [m["month"] for m in home[jia["code"]]["scans_by_month"]]
    assert months == [f"2025-{m:02d}" for m in range(2, 13)] + ["2026-01"]  # oldest first
    assert _nonzero_months(home[jia["code"]]) == {"2025-11": 1, "2025-12": 1, "2026-01": 1}
    assert (home[jia["code"]]["scans"], home[jia["code"]]["scans_this_year"]) == (3, 1)
    assert _nonzero_months(home[yi["code"]]) == {"2025-12": 1, "2026-01": 3}
    assert (home[yi["code"]]["scans"], home[yi["code"]]["scans_this_year"]) == (4, 3)
    foreign = await _listed(client, world.foreign_county_id, world.foreign_staff)
    assert _nonzero_months(foreign[bing["code"]]) == {"2025-12": 1, "2026-01": 1}
    assert (foreign[bing["code"]]["scans"], foreign[bing["code"]]["scans_this_year"]) == (2, 1)

    # The day rows: one per batch and day, nothing else; each batch's total is the sum of its days.
    rows = await TraceScanDay.select(TraceScanDay.batch, TraceScanDay.day, TraceScanDay.scans)
    days = sorted((str(r["batch"]), str(r["day"]), r["scans"]) for r in rows)
    assert days == sorted([
        (jia["id"], "2025-11-30", 1), (jia["id"], "2025-12-01", 1),
        (jia["id"], "2026-01-01", 1), (yi["id"], "2025-12-31", 1), (yi["id"], "2026-01-15", 3),
        (bing["id"], "2025-12-31", 1), (bing["id"], "2026-01-01", 1),
    ])  # fmt: skip
    # Nothing about the visitor is kept.
    assert set(TraceScanDay._meta.columns) == {
        TraceScanDay.id, TraceScanDay.batch, TraceScanDay.county, TraceScanDay.day,
        TraceScanDay.scans,
    }  # fmt: skip

    # A year later the months roll on: January 2026 is still in the window, November 2025 is not.
    _set_clock(monkeypatch, _utc("2026-12-01T04:00:00"))
    later = await _listed(client, world.county_id, world.staff)
    assert later[jia["code"]]["scans_by_month"][0]["month"] == "2026-01"
    assert _nonzero_months(later[jia["code"]]) == {"2026-01": 1}
    assert later[yi["code"]]["scans_this_year"] == 3


async def _kpis(client, county_id, staff, month: str) -> dict:
    answer = await client.get(
        f"/api/v1/counties/{county_id}/kpis?month={month}", headers=staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_kpis_judge_trace_scans_on_the_year_to_date(client, world, monkeypatch):
    await _two_months_and_a_new_year(client, world, monkeypatch)
    for county, staff in ((world.county_id, world.staff),
                          (world.foreign_county_id, world.foreign_staff)):  # fmt: skip
        answer = await client.put(
            f"/api/v1/counties/{county}/targets",
            json={"programme_start": "2025-01-01",
                  "targets": [{"name": "trace_scans", "target": 4}]},
            headers=staff.headers,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
    # Home county: December 2025 judges 1 January–31 December 2025 (November 1 + December 2);
    # January 2026 judges 1–31 January 2026 (4), not the 7 of all time.
    december = await _kpis(client, world.county_id, world.staff, "2025-12")
    [judged] = [t for t in december["targets"] if t["name"] == "trace_scans"]
    assert judged == {"name": "trace_scans", "target": 4, "actual": 3, "met": False,
                      "reason": None}  # fmt: skip
    assert december["since_start"]["trace_scans"] == 3
    january = await _kpis(client, world.county_id, world.staff, "2026-01")
    [judged] = [t for t in january["targets"] if t["name"] == "trace_scans"]
    assert judged == {"name": "trace_scans", "target": 4, "actual": 4, "met": True,
                      "reason": None}  # fmt: skip
    assert january["year_to_date"]["start"] == "2026-01-01"
    assert january["since_start"] == {**january["since_start"], "start": "2025-01-01",
                                      "trace_scans": 7}  # fmt: skip
    november = await _kpis(client, world.county_id, world.staff, "2025-11")
    assert [t["actual"] for t in november["targets"] if t["name"] == "trace_scans"] == [1]
    # The foreign county's day: its 23:00 of 31 December is 2025's, its midnight 2026's.
    foreign = await _kpis(client, world.foreign_county_id, world.foreign_staff, "2025-12")
    assert [t["actual"] for t in foreign["targets"] if t["name"] == "trace_scans"] == [1]

    # The scorecard page and its sheet say the same for December 2025.
    page = await client.get(
        "/county/scorecard?month=2025-12&lang=zh-CN", headers=html_as(world.staff)
    )
    row = re.search(r'<tr data-target="trace_scans" data-met="(\w+)">(.*?)</tr>', page.text, re.S)
    assert row and row.group(1) == "no", page.text
    cells = dict(re.findall(r'<td class="[^"]*\b(actual|target)\b[^"]*">(.*?)</td>', row.group(2)))
    assert " ".join(re.sub(r"<[^>]+>", "", cells["actual"]).split()) == "3 次"
    assert " ".join(re.sub(r"<[^>]+>", "", cells["target"]).split()) == "4 次"
    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month=2025-12",
        headers=world.staff.headers,
    )
    sheet = load_workbook(io.BytesIO(book.content))["考核指标"]
    [line] = [
        [c.value for c in r]
        for r in sheet.iter_rows(min_row=3)
        if r[1].value == "农产品溯源扫码（次）"
    ]
    assert line[2:] == [3, 4, "否", None]  # no 说明: the scans have a value


async def test_the_workbook_sheet_counts_the_month_the_year_and_all_through_the_month(
    client, world, monkeypatch
):
    jia, yi, _ = await _two_months_and_a_new_year(client, world, monkeypatch)

    async def sheet(month: str) -> tuple[list, dict[str, list]]:
        book = await client.get(
            f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
            headers=world.staff.headers,
        )
        assert book.status_code == 200
        rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(book.content))["溯源"]]
        return rows[0], {row[0]: row[8:] for row in rows[1:]}

    header, december = await sheet("2025-12")
    assert header[8:] == ["本月扫码（次）", "本年累计扫码（次）", "截至月末累计扫码（次）"]
    # 甲: December 1, 2025 2 (November and December), through December 2; 乙: 1, 1, 1.
    assert december == {jia["code"]: [1, 2, 2], yi["code"]: [1, 1, 1], "合计": [2, 3, 3]}
    _, january = await sheet("2026-01")
    assert january == {jia["code"]: [1, 1, 3], yi["code"]: [3, 3, 4], "合计": [4, 4, 7]}
    # Batches created after the month are not in it (and had no scans in it).
    _, october = await sheet("2025-10")
    assert october == {"合计": [0, 0, 0]}
    csv = await client.get(
        f"/api/v1/counties/{world.county_id}/export.csv?month=2026-01&table=trace",
        headers=world.staff.headers,
    )
    last = csv.content.decode("utf-8-sig").strip().splitlines()[-1]
    assert last == "合计,,,,,,,,4,4,7"


async def test_the_countys_page_shows_twelve_months_and_each_batch_this_year_and_in_all(
    client, world, monkeypatch
):
    jia, yi, _ = await _two_months_and_a_new_year(client, world, monkeypatch)
    page = await client.get("/county/trace?lang=zh-CN", headers=html_as(world.staff))
    assert page.status_code == 200, page.text
    table = re.search(r'<table class="figures" data-table="trace-months">.*?</table>', page.text,
                      re.S).group(0)  # fmt: skip
    months = re.findall(r'<tr data-month="([\d-]+)">.*?<td class="num">([^<]*)</td>', table, re.S)
    assert len(months) == 12
    assert months[0] == ("2025-02", "0 次") and months[-1] == ("2026-01", "4 次")
    assert dict(months)["2025-11"] == "1 次" and dict(months)["2025-12"] == "2 次"
    total = re.search(r'<tr data-total="year"><th>(.*?)</th><td class="num">(.*?)</td>', table)
    assert total.groups() == ("2026 年累计（1 月 1 日至今天）", "4 次")
    for batch, this_year, in_all in ((jia, "1 次", "3 次"), (yi, "3 次", "4 次")):
        row = re.search(rf'<tr data-batch="{batch["code"]}">.*?</tr>', page.text, re.S).group(0)
        assert f'<td class="num scans-year">{this_year}</td>' in row
        assert f'<td class="num scans">{in_all}</td>' in row
    uyghur = await client.get("/county/trace?lang=ug", headers=html_as(world.staff))
    assert (
        "ئايلىق سكانېرلاش" in uyghur.text and "\u20664\u2069 قېتىم" in uyghur.text
    )  # the number isolated
    english = await client.get("/county/trace?lang=en", headers=html_as(world.staff))
    assert "Scans per month (last 12 months)" in english.text and "2026 so far" in english.text
    assert not re.search(r">trace\.page\.", uyghur.text + english.text)


async def test_fifty_concurrent_visits_are_fifty_scans_on_the_day(client, world, monkeypatch):
    _set_clock(monkeypatch, _utc("2026-03-10T04:00:00"))
    batch = await _batch(client, world.county_id, world.staff, "杏")
    other = await _batch(client, world.county_id, world.staff, "梨")
    visits = [path_of(batch["url"])] * 50 + [path_of(other["url"])] * 30
    answers = await asyncio.gather(*(client.get(page, headers=PHONE_UA) for page in visits))
    assert [a.status_code for a in answers] == [200] * 80
    rows = await TraceScanDay.select(TraceScanDay.batch, TraceScanDay.day, TraceScanDay.scans)
    assert sorted((str(r["batch"]), str(r["day"]), r["scans"]) for r in rows) == sorted(
        [(batch["id"], "2026-03-10", 50), (other["id"], "2026-03-10", 30)]
    )
    rows = await TraceBatch.select(TraceBatch.id, TraceBatch.scans)
    totals = {str(r["id"]): r["scans"] for r in rows}
    assert totals == {batch["id"]: 50, other["id"]: 30}
    listed = await _listed(client, world.county_id, world.staff)
    assert _nonzero_months(listed[batch["code"]]) == {"2026-03": 50}
    assert listed[batch["code"]]["scans_this_year"] == 50


async def test_the_migration_puts_earlier_scans_on_the_batchs_creation_day(
    client, world, monkeypatch
):
    """Scans counted before days were kept go onto the day each batch was created, in its own
    county's time zone; running the backfill again adds nothing."""
    migration = importlib.import_module(
        "backend.trace.piccolo_migrations.trace_2026_12_02t20_39_32_000000"
    )
    home = await _batch(client, world.county_id, world.staff, "红枣")
    foreign = await _batch(client, world.foreign_county_id, world.foreign_staff, "土豆")
    unscanned = await _batch(client, world.county_id, world.staff, "核桃")
    created = _utc("2025-12-31T17:30:00")  # Beijing: 1 January 2026; Urumqi: 31 December 2025
    await TraceBatch.update({TraceBatch.created_at: created}).where(
        TraceBatch.id.is_in([home["id"], foreign["id"], unscanned["id"]])
    )
    await TraceBatch.update({TraceBatch.scans: 5}).where(TraceBatch.id == home["id"])
    await TraceBatch.update({TraceBatch.scans: 2}).where(TraceBatch.id == foreign["id"])
    for _ in range(2):
        await migration.backfill()
    rows = await TraceScanDay.select(TraceScanDay.batch, TraceScanDay.day, TraceScanDay.scans)
    assert sorted((str(r["batch"]), str(r["day"]), r["scans"]) for r in rows) == sorted(
        [(home["id"], "2026-01-01", 5), (foreign["id"], "2025-12-31", 2)]
    )
    _set_clock(monkeypatch, _utc("2026-01-20T04:00:00"))
    listed = await _listed(client, world.county_id, world.staff)
    assert listed[home["code"]]["scans_this_year"] == 5
    assert _nonzero_months(listed[home["code"]]) == {"2026-01": 5}


async def test_a_reload_within_the_visit_is_not_counted_again_a_new_visit_is(client, world):
    """Counted once per visit (issue 15): the counted visit leaves a marker cookie for the batch
    (nothing about the buyer, 30 minutes, SameSite=Lax); a reload or the language switch that
    brings it back is the same visit, another batch or a phone without it a new one. Bots and
    HEAD neither count nor get a marker."""
    batch = await _batch(client, world.county_id, world.staff, "杏")
    other = await _batch(client, world.county_id, world.staff, "梨")
    page = path_of(batch["url"])
    client.cookies.clear()
    first = await client.get(page, headers=PHONE)
    assert first.status_code == 200
    marker = first.headers["set-cookie"]
    name = f"tv_{batch['code']}"
    assert marker.startswith(f"{name}=1;")
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in marker.split(";")}
    assert attributes["max-age"] == "Max-Age=1800"
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/t" and "httponly" in attributes
    assert first.headers["cache-control"] == "private, max-age=300"
    for again in (page, page + "?lang=ug", page.lower()):  # a reload, another language, typed
        reload = await client.get(again, headers=PHONE)
        assert reload.status_code == 200 and "set-cookie" not in reload.headers
    assert (await client.get(path_of(other["url"]), headers=PHONE)).status_code == 200
    listed = await _listed(client, world.county_id, world.staff)
    assert (listed[batch["code"]]["scans"], listed[other["code"]]["scans"]) == (1, 1)

    client.cookies.delete(name)  # the marker has expired: a new visit
    assert "set-cookie" in (await client.get(page, headers=PHONE)).headers
    assert (await _listed(client, world.county_id, world.staff))[batch["code"]]["scans"] == 2

    client.cookies.clear()
    bot = await client.get(page, headers=BOT_UA)
    head = await client.head(page, headers=PHONE)
    assert "set-cookie" not in bot.headers and "set-cookie" not in head.headers
    assert (await _listed(client, world.county_id, world.staff))[batch["code"]]["scans"] == 2
