"""The county read functions the pages may call: overview, coverage, check-in weeks, a station's
ledger by day and the daily totals, all from the rollups."""

from __future__ import annotations

import datetime

from backend.county import figures, overview, rollups, service
from backend.ledger.service import week_start
from tests.support import event, push, tracking

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _at(days_ago: int) -> str:
    moment = datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=days_ago)
    return moment.isoformat(timespec="seconds")


async def test_overview_coverage_and_checkins(client, world):
    parcels = [
        event(
            "parcel.received",
            {"tracking_no": tracking(), "carrier": "SF", "recipient_phone": "13812345678"},
            _at(10),
        )
        for _ in range(5)
    ]
    await push(client, world.keeper_a, [*parcels, event("checkin.recorded", {})])
    await push(
        client,
        world.keeper_b,
        [
            event(
                "service.recorded", {"service": "water", "amount_fen": 3000, "fee_fen": 0}, _at(20)
            )
        ],
    )
    await rollups.refresh()
    today = await service.county_today(world.county_id)

    stations = {item["code"]: item for item in await overview.stations_overview(world.county_id)}
    a, b = stations["A001"], stations["B001"]
    assert a["checked_in_this_week"] and a["parcels_on_shelf"] == 5 and a["parcels_overdue"] == 5
    assert a["needs_attention"] == ["many_overdue"]
    assert a["count_30d"] == 5 and a["last_activity"] == today - datetime.timedelta(days=10)
    assert b["last_activity"] == today - datetime.timedelta(days=20)
    assert b["needs_attention"] == ["no_checkin", "inactive_14_days"]
    assert "F001" not in stations  # another county's station

    # A township is covered by a 乡级服务站: the world's two stations are 村级服务点.
    coverage = await figures.coverage(world.county_id)
    assert coverage["townships"] == {
        "total": 1,
        "covered": 0,
        "pct": 0.0,
        "target_pct": 100,
        "met": False,
        "active_covered": 0,
        "active_pct": 0.0,
    }
    assert coverage["villages"]["covered"] == 2 and coverage["poor_villages"]["met"]
    assert coverage["villages"]["active_covered"] == 2  # both recorded within 30 days
    made_township = await client.patch(
        f"/api/v1/stations/{world.station_a}", json={"level": "township"},
        headers=world.staff.headers,
    )  # fmt: skip
    assert made_township.status_code == 200, made_township.text
    coverage = await figures.coverage(world.county_id)
    assert (coverage["townships"]["covered"], coverage["townships"]["met"]) == (1, True)
    assert coverage["villages"]["covered"] == 1  # 东村's station is now the 乡级服务站

    weeks = await figures.checkin_weeks(world.county_id, 4)
    assert len(weeks["weeks"]) == 4 and weeks["weeks"][-1] == week_start(today)
    checked = {s["code"]: s["checked"] for s in weeks["stations"]}
    assert checked["A001"][-1] and not checked["B001"][-1]
    assert weeks["compliance_pct"][-1] == 50.0

    ledger = await figures.station_ledger(
        world.station_a, today - datetime.timedelta(days=30), today
    )
    assert ledger[0]["day"] == today and ledger[0]["kinds"]["checkin_recorded"]["count"] == 1
    received = next(d for d in ledger if "parcel_received" in d["kinds"])
    assert received["kinds"]["parcel_received"]["count"] == 5

    days = await figures.daily_totals(world.county_id, today - datetime.timedelta(days=29), today)
    assert len(days) == 30
    assert sum(d["figures"]["parcels_in"] for d in days) == 5
    assert sum(d["figures"]["services_fen"] for d in days) == 3000
