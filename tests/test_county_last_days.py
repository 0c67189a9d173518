"""Each station's last check-in and last day of business, as the county's pages show them: the
stations list's last check-in (the latest one, a check-in 10 days old flagged as not this week)
and the dashboard's idle stations (14 days without an entry of the cashbook; a check-in is not
business). Read per station from its last day back (rollup_rows.last_days)."""

from __future__ import annotations

import datetime

from tests.support import event, now_iso, push, received, statuses

HTML = {"accept": "text/html,application/xhtml+xml"}
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def days_ago(days: int) -> tuple[str, str]:
    """A phone's time `days` days ago, and its day in the county (Shanghai)."""
    moment = now_iso(-24 * days)
    return moment, datetime.datetime.fromisoformat(moment).astimezone(SHANGHAI).date().isoformat()


def row_of(page: str, code: str) -> str:
    return next(row for row in page.split("<tr") if f'data-station="{code}"' in row)


async def test_the_last_check_in_and_the_idle_stations(client, world):
    ten_days, ten_days_day = days_ago(10)
    twenty_days, _ = days_ago(20)
    three_days, _ = days_ago(3)
    # A: checked in 10 days ago, a parcel 3 days ago (in business, not checked in this week).
    a = [event("checkin.recorded", {}, ten_days), {**received(), "occurred_at": three_days}]
    # B: checked in 10 days ago and today, its only parcel 20 days ago (idle).
    b = [
        event("checkin.recorded", {}, ten_days),
        {**received(), "occurred_at": twenty_days},
        event("checkin.recorded", {}),
    ]
    assert statuses(await push(client, world.keeper_a, a)) == ["accepted"] * 2
    assert statuses(await push(client, world.keeper_b, b)) == ["accepted"] * 3
    staff = {**HTML, **world.staff.headers}

    listing = (await client.get("/county/stations?lang=zh-CN", headers=staff)).text
    row_a, row_b = row_of(listing, "A001"), row_of(listing, "B001")
    today = datetime.datetime.now(SHANGHAI).date().isoformat()
    assert f">{ten_days_day}</bdi>" in row_a and "本周未打卡" in row_a
    assert f">{today}</bdi>" in row_b and "本周未打卡" not in row_b

    dashboard = (await client.get("/county/?lang=zh-CN", headers=staff)).text
    attention = dashboard.split('data-table="attention"')[1].split("</table>")[0]
    idle = [row for row in attention.split("<tr") if "14 天无业务" in row]
    assert len(idle) == 1 and "B001" in idle[0], attention
