"""The county's side of issue #10: each station's end-of-day count differences by day, and
codes, numbers and dates isolated left-to-right inside Uyghur pages and reminder texts."""

from __future__ import annotations

import re

from backend.i18n import translate
from tests.support import event, push
from tests.test_county_pages import html_as

SERVICE = {"service": "phone_topup", "amount_fen": 5000, "fee_fen": 100}


async def test_the_county_sees_each_stations_count_difference_by_day(client, world):
    await push(
        client,
        world.keeper_a,
        [event("service.recorded", SERVICE), event("cash.counted", {"counted_fen": 5000})],
    )
    await push(client, world.keeper_b, [event("service.recorded", SERVICE)])  # never counted
    for lang in ("zh-CN", "ug", "en"):
        page = await client.get(f"/county/cash?lang={lang}", headers=html_as(world.staff))
        assert page.status_code == 200
        row = re.compile(r'<tr data-station="(\w+)" data-day="[\d-]+"[^>]*>(.*?)</tr>')
        rows = dict(row.findall(page.text))
        assert set(rows) == {"A001", "B001"}
        assert 'data-difference="-100"' in rows["A001"]  # counted 50.00, expected 51.00
        assert 'data-difference=""' in rows["B001"]
        assert translate("county_page.cash.not_counted", lang) in rows["B001"]
    # A keeper of the county cannot read it.
    refused = await client.get("/county/cash", headers=html_as(world.keeper_a))
    assert refused.status_code in (401, 403)


def test_numbers_in_uyghur_messages_are_isolated_left_to_right():
    body = translate("notify.checkin.body", "ug", week="2026-11-23")
    assert "\u20662026-11-23\u2069" in body
    assert "\u2066" not in translate("notify.checkin.body", "zh-CN", week="2026-11-23")
    # Text that is already right-to-left is left alone.
    assert "\u2066" not in translate("notify.checkin.body", "ug", week="ھەپتە")
