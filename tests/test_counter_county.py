"""The county's side of issue #10: each station's end-of-day count differences by month and by
day, and codes, numbers and dates isolated left-to-right inside Uyghur pages and reminder texts."""

from __future__ import annotations

import datetime
import re
import uuid

from backend.i18n import translate
from tests.support import event, now_iso, push, statuses, tracking
from tests.test_county_pages import html_as

SERVICE = {"service": "phone_topup", "amount_fen": 5000, "fee_fen": 100}


def _two_days() -> tuple[float, float, str]:
    """Two days of one month that a phone can still write (hours back from now), and the month."""
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
    first, second = (0.0, -24.0) if today.day >= 2 else (-24.0, -48.0)
    month = today + datetime.timedelta(hours=first)
    return first, second, f"{month:%Y-%m}"


STATION_ROW = re.compile(
    r'<tr data-station="(\w+)" data-station-id="([\w-]+)" data-expected="(-?\d+)" '
    r'data-counted="(-?\d*)" data-difference="(-?\d*)"[^>]*>(.*?)</tr>'
)
DAY_ROW = re.compile(
    r'<tr data-station="(\w+)" data-day="([\d-]+)" data-expected="(-?\d+)" '
    r'data-counted="(-?\d*)" data-difference="(-?\d*)"[^>]*>(.*?)</tr>'
)
TOTAL_ROW = re.compile(
    r'<tr data-total data-expected="(-?\d+)" data-counted="(-?\d*)" '
    r'data-difference="(-?\d*)"'
)


def _sum(values) -> str:
    """The sum of the figures shown, '' when none was shown (a column of days not counted)."""
    shown = [int(v) for v in values if v != ""]
    return str(sum(shown)) if shown else ""


async def _cash_world(client, world) -> str:
    today, yesterday, month = _two_days()
    at = {"occurred_at": now_iso(today)}
    await push(
        client,
        world.keeper_a,
        [
            event("service.recorded", SERVICE, **at),
            event("cash.counted", {"counted_fen": 5000}, **at),
            event("service.recorded", SERVICE, occurred_at=now_iso(yesterday)),  # never counted
        ],
    )
    await push(client, world.keeper_b, [event("service.recorded", SERVICE, **at)])  # not counted
    return month


async def test_the_county_sees_each_stations_month_and_its_days(client, world):
    month = await _cash_world(client, world)
    for lang in ("zh-CN", "ug", "en"):
        page = await client.get(
            f"/county/cash?month={month}&lang={lang}", headers=html_as(world.staff)
        )
        assert page.status_code == 200
        assert "data-day=" not in page.text  # one row per station, no station-days
        stations = {m[0]: m[1:] for m in STATION_ROW.findall(page.text)}
        assert set(stations) == {"A001", "B001"}
        assert stations["A001"][1:4] == ("10200", "5000", "-100")  # two days, one counted
        assert stations["B001"][1:4] == ("5100", "", "")
        assert translate("county_page.cash.not_counted", lang) in stations["B001"][4]
        total = TOTAL_ROW.search(page.text)
        assert total is not None
        assert total.groups() == tuple(_sum(row[i] for row in stations.values()) for i in (1, 2, 3))
        for code, (station_id, expected, counted, difference, _cells) in stations.items():
            assert f"station={station_id}" in page.text  # each station opens its days
            days = await client.get(
                f"/county/cash?month={month}&station={station_id}&lang={lang}",
                headers=html_as(world.staff),
            )
            assert days.status_code == 200
            rows = DAY_ROW.findall(days.text)
            assert rows and {row[0] for row in rows} == {code}  # only that station's days
            assert "data-station-id=" not in days.text
            assert str(sum(int(row[2]) for row in rows)) == expected
            assert _sum(row[3] for row in rows) == counted
            assert _sum(row[4] for row in rows) == difference
    # A keeper of the county cannot read it.
    refused = await client.get("/county/cash", headers=html_as(world.keeper_a))
    assert refused.status_code in (401, 403)


async def test_the_county_expects_what_the_keepers_cashbook_expects(client, world):
    """The page sums each day's cashbook in the database by the ledger's rule: every kind of
    entry that moves the till, and a reversed one, as the keeper's own cashbook counts them."""
    sale = {"product": "苹果", "quantity": 10, "unit": "斤", "channel": "微信"}
    reversed_topup = event("service.recorded", SERVICE)
    entries = [
        event("service.recorded", SERVICE),
        event(
            "service.recorded", {"service": "cash_withdrawal", "amount_fen": 2000, "fee_fen": 20}
        ),
        event(
            "purchase.ordered",
            {"platform": "taobao", "item": "锅", "amount_fen": 8800, "commission_fen": 300},
        ),
        event("sale.recorded", {**sale, "amount_fen": 3000, "commission_fen": 200}),
        event(
            "parcel.dispatched",
            {
                "tracking_no": tracking("JT"),
                "carrier": "JT",
                "weight_g": 1200,
                "fee_fen": 1250,
                "destination": "乌鲁木齐",
                "farm_product": True,
            },
        ),
        reversed_topup,
    ]
    undo = event("entry.reversed", {"target_id": reversed_topup["id"], "reason": "错了"})
    assert set(statuses(await push(client, world.keeper_a, entries))) == {"accepted"}
    assert statuses(await push(client, world.keeper_a, [undo])) == ["accepted"]
    book = await client.get(
        f"/api/v1/stations/{world.station_a}/cashbook", headers=world.keeper_a.headers
    )
    expected = book.json()["cash"]["expected_fen"]
    assert expected == 5100 - 1980 + 8800 - 2800 + 1250
    day, month = book.json()["date"], book.json()["date"][:7]
    days = await client.get(
        f"/county/cash?month={month}&station={world.station_a}", headers=html_as(world.staff)
    )
    assert [(row[1], int(row[2])) for row in DAY_ROW.findall(days.text)] == [(day, expected)]
    page = await client.get(f"/county/cash?month={month}", headers=html_as(world.staff))
    assert {row[0]: int(row[2]) for row in STATION_ROW.findall(page.text)} == {"A001": expected}


async def test_the_cash_page_in_uyghur_isolates_codes_and_amounts(client, world):
    month = await _cash_world(client, world)
    page = await client.get(f"/county/cash?month={month}&lang=ug", headers=html_as(world.staff))
    assert page.status_code == 200
    assert 'dir="rtl"' in page.text
    assert '<bdi dir="ltr">A001</bdi>' in page.text
    assert '<bdi dir="ltr">-1.00</bdi>' in page.text  # A001's difference, its unit in the header
    assert translate("county_page.cash.counted_days", "ug") in page.text
    days = await client.get(
        f"/county/cash?month={month}&station={world.station_a}&lang=ug",
        headers=html_as(world.staff),
    )
    assert '<bdi dir="ltr">51.00</bdi>' in days.text


async def test_an_unknown_station_on_the_cash_page_is_refused_in_the_pages_language(client, world):
    for station in (uuid.uuid4(), world.foreign_station, "not-a-station"):
        for lang in ("zh-CN", "ug", "en"):
            page = await client.get(
                f"/county/cash?station={station}&lang={lang}", headers=html_as(world.staff)
            )
            assert page.status_code == 404
            assert translate("problem.unknown_station", lang) in page.text
            assert "data-table=" not in page.text and "data-cash-summary" not in page.text
    problem = await client.get(
        f"/county/cash?station={world.foreign_station}", headers=world.staff.headers
    )
    assert problem.status_code == 404
    assert problem.json()["code"] == "unknown_station"


def test_numbers_in_uyghur_messages_are_isolated_left_to_right():
    body = translate("notify.checkin.body", "ug", week="2026-11-23")
    assert "\u20662026-11-23\u2069" in body
    assert "\u2066" not in translate("notify.checkin.body", "zh-CN", week="2026-11-23")
    # Text that is already right-to-left is left alone.
    assert "\u2066" not in translate("notify.checkin.body", "ug", week="ھەپتە")
