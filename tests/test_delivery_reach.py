"""Courier reach (快递进村): which carriers reach which stations and townships in a month, counted
by hand on a small county, the same on the API and the county's logistics page."""

from __future__ import annotations

import datetime
import json
import re

from tests.server_process import REPO
from tests.support import event, push, tracking
from tests.test_county_pages import HTML, page_login

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


NUMBER = {"SF": ("SF", 13), "ZTO": ("7", 13), "JD": ("JDVA", 12), "YTO": ("YT", 13)}


def received(carrier: str, day: datetime.date) -> dict:
    number = tracking(*NUMBER[carrier])
    return event(
        "parcel.received",
        {"tracking_no": number, "carrier": carrier, "recipient_phone": "13812345678"},
        occurred_at=datetime.datetime.combine(day, datetime.time(10), SHANGHAI).isoformat(),
    )


async def reach(client, world, month: str) -> dict:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/delivery/couriers?month={month}",
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_each_carriers_stations_and_townships_counted_by_hand(client, world):
    # A second township with no station: the county has 2 townships and 2 open stations.
    township = await client.post(
        f"/api/v1/counties/{world.county_id}/townships",
        json={"name": "远山乡"},
        headers=world.staff.headers,
    )
    assert township.status_code == 201, township.text
    today = datetime.datetime.now(SHANGHAI).date()
    month = today.strftime("%Y-%m")
    earlier = today.replace(day=1) - datetime.timedelta(days=1)
    a = [received("SF", today), received("SF", today), received("ZTO", today)]
    reversed_one = received("JD", today)
    assert {r["status"] for r in await push(client, world.keeper_a, [*a, reversed_one])} == {
        "accepted"
    }
    await push(
        client,
        world.keeper_a,
        [event("entry.reversed", {"target_id": reversed_one["id"], "reason": "扫错"})],
    )
    await push(client, world.keeper_b, [received("SF", today), received("YTO", earlier)])

    body = await reach(client, world, month)
    assert (body["month"], body["stations"], body["townships"]) == (month, 2, 2)
    # SF at both stations (3 parcels), ZTO at A only; JD's one receipt was reversed and YTO's
    # belongs to last month: neither reaches anything this month.
    assert body["carriers"] == [
        {"carrier": "SF", "parcels": 3, "stations": 2, "townships": 1,
         "stations_pct": 100.0, "townships_pct": 50.0},
        {"carrier": "ZTO", "parcels": 1, "stations": 1, "townships": 1,
         "stations_pct": 50.0, "townships_pct": 50.0},
    ]  # fmt: skip
    # By any courier: both open stations, 1 of the 2 townships.
    assert (body["stations_reached"], body["stations_pct"]) == (2, 100.0)
    assert (body["townships_reached"], body["townships_pct"]) == (1, 50.0)
    # The scorecard judges reach by any courier on the year to date, from one probe per station
    # (not every parcel by carrier): the same shares, the reversed receipt left out alike.
    csv = await client.get(
        f"/api/v1/counties/{world.county_id}/export.csv?month={month}&table=scorecard",
        headers=world.staff.headers,
    )
    assert csv.status_code == 200, csv.text
    lines = csv.content.decode("utf-8-sig").splitlines()
    station_row = next(line for line in lines if "快递通达服务站点比例" in line)
    township_row = next(line for line in lines if "快递通达乡镇比例" in line)
    if earlier.year == today.year:  # last month's YTO parcel at B is in the year too
        assert ",100.0," in station_row and ",50.0," in township_row, (station_row, township_row)
    last = await reach(client, world, earlier.strftime("%Y-%m"))
    assert [(c["carrier"], c["stations"]) for c in last["carriers"]] == [("YTO", 1)]
    # The stations opened this month: none was open at last month's end to take a share of.
    assert (last["stations"], last["stations_reached"], last["stations_pct"]) == (0, 0, None)

    await page_login(client, world.staff.phone)
    page = await client.get(f"/county/delivery?month={month}", headers=HTML)
    assert page.status_code == 200
    sf = re.search(r'<tr data-carrier="SF">(.*?)</tr>', page.text).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", sf)
    assert cells[0] == "顺丰" and cells[1] == "3 件" and cells[2] == "2 个"
    assert "100%" in cells[3] and "50%" in cells[5]
    assert 'data-carrier="JD"' not in page.text
    together = re.search(r'<tr data-carrier="any">(.*?)</tr>', page.text).group(1)
    assert "任一快递" in together
    cells = re.findall(r"<td[^>]*>(.*?)</td>", together)
    assert cells[1] == "2 个" and "100%" in cells[2] and "50%" in cells[4]


async def test_the_carriers_each_station_saw_counted_by_hand(client, world):
    """Per station, the carriers it received parcels of in the month with their parcels (most
    first); a reversed receipt and last month's do not count; an open station that received
    nothing is listed with none; the API and the page say the same, in three languages."""
    today = datetime.datetime.now(SHANGHAI).date()
    month = today.strftime("%Y-%m")
    earlier = today.replace(day=1) - datetime.timedelta(days=1)
    a = [received("ZTO", today), received("SF", today), received("ZTO", today),
         received("YTO", today)]  # fmt: skip
    reversed_one = received("JD", today)
    assert {r["status"] for r in await push(client, world.keeper_a, [*a, reversed_one])} == {
        "accepted"
    }
    undo = event("entry.reversed", {"target_id": reversed_one["id"], "reason": "扫错"})
    assert (await push(client, world.keeper_a, [undo]))[0]["status"] == "accepted"
    assert {r["status"] for r in await push(client, world.keeper_b, [received("SF", earlier)])} == {
        "accepted"
    }

    body = await reach(client, world, month)
    seen = {row["station_code"]: row["carriers"] for row in body["station_carriers"]}
    # By hand: A001 saw ZTO twice, SF and YTO once (JD's was reversed); B001 nothing this month.
    assert seen == {
        "A001": [{"carrier": "ZTO", "parcels": 2}, {"carrier": "SF", "parcels": 1},
                 {"carrier": "YTO", "parcels": 1}],
        "B001": [],
    }  # fmt: skip
    row_a = next(row for row in body["station_carriers"] if row["station_code"] == "A001")
    assert row_a["station_id"] == str(world.station_a) and row_a["station_name"] == "A001服务站"
    last = await reach(client, world, earlier.strftime("%Y-%m"))
    assert {row["station_code"]: row["carriers"] for row in last["station_carriers"]} == {
        "B001": [{"carrier": "SF", "parcels": 1}]  # not open at that month's end, yet it saw SF
    }

    await page_login(client, world.staff.phone)
    page = await client.get(f"/county/delivery?month={month}&lang=zh-CN", headers=HTML)
    row = re.search(r'<tr data-station-carriers="A001">(.*?)</tr>', page.text).group(1)
    assert re.findall(r'data-carrier-seen="(\w+)">([^<]+)<', row) == [
        ("ZTO", "中通 2 件"), ("SF", "顺丰 1 件"), ("YTO", "圆通 1 件")
    ]  # fmt: skip
    assert re.findall(r"<td[^>]*>(.*?)</td>", row)[2] == "3"
    quiet = re.search(r'<tr data-station-carriers="B001">(.*?)</tr>', page.text).group(1)
    assert 'data-carrier-seen="none"' in quiet and "本月没有快递入库" in quiet
    for lang, words in (("ug", "ھەر بىر پونكىت"), ("en", "Carriers each station received")):
        shown = await client.get(f"/county/delivery?month={month}&lang={lang}", headers=HTML)
        assert words in shown.text and "delivery.figures" not in shown.text


async def test_the_logistics_page_is_staff_only_and_refuses_a_bad_month(client, world):
    from tests.test_county_pages import html_as

    keeper = await client.get("/county/delivery", headers=html_as(world.keeper_a))
    assert keeper.status_code == 403
    stranger = await client.get("/county/delivery", headers=HTML)
    assert stranger.status_code == 303
    await page_login(client, world.staff.phone)
    bad = await client.get("/county/delivery?month=9999-99", headers=HTML)
    assert bad.status_code == 400
    foreign = await client.get(
        f"/api/v1/counties/{world.county_id}/delivery/couriers", headers=world.foreign_staff.headers
    )
    assert foreign.status_code == 403


def test_carrier_names_are_the_keepers_apps():
    """The county page names carriers as the keeper's app does (two catalogs, one list)."""
    for lang in ("zh-CN", "ug", "en"):
        app = json.loads((REPO / "pwa" / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
        server = json.loads(
            (REPO / "backend" / "locales" / lang / "delivery.json").read_text(encoding="utf-8")
        )
        names = {k: v for k, v in app.items() if k.startswith("carrier.") and "_" not in k}
        assert names, lang
        assert {k: server.get(f"delivery.{k}") for k in names} == names, lang
