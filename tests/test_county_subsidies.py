"""The logistics subsidy: qualifying dispatches per station and month, the cap, reversed parcels
out, and a tracking number claimed at two stations paid once and flagged."""

from __future__ import annotations

import datetime
import io
import re
import uuid

from openpyxl import load_workbook

from tests.support import event, push, tracking
from tests.test_county_pages import html_as


def _dispatch(tracking_no: str, farm: bool = True) -> dict:
    return event(
        "parcel.dispatched",
        {
            "tracking_no": tracking_no,
            "carrier": "SF",
            "weight_g": 2000,
            "fee_fen": 1200,
            "destination": "广州",
            "farm_product": farm,
        },
    )


async def _claims(client, world, month: str) -> dict:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/subsidies?month={month}", headers=world.staff.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_monthly_claims_with_cap_duplicates_and_reversals(client, world):
    rule = await client.patch(
        f"/api/v1/counties/{world.county_id}",
        json={"subsidy_fen_per_parcel": 150, "subsidy_monthly_cap_fen": 450},
        headers=world.staff.headers,
    )
    assert rule.status_code == 200, rule.text
    shared = tracking()
    reversed_one = _dispatch(tracking())
    a_events = [
        _dispatch(shared),
        _dispatch(tracking()),
        _dispatch(tracking(), farm=False),  # not farm produce: does not qualify
        reversed_one,
        _dispatch(tracking()),
        _dispatch(tracking()),
    ]
    results = await push(client, world.keeper_a, a_events)
    assert {r["status"] for r in results} == {"accepted"}
    await push(
        client,
        world.keeper_a,
        [event("entry.reversed", {"target_id": reversed_one["id"], "reason": "寄错"})],
    )
    # Station B records the same tracking number later: a second claim of one parcel.
    await push(client, world.keeper_b, [_dispatch(shared), _dispatch(tracking())])
    month = (
        await client.get(f"/api/v1/counties/{world.county_id}/kpis", headers=world.staff.headers)
    ).json()["month"]

    claims = await _claims(client, world, month)
    assert claims["rule"] == {"fen_per_parcel": 150, "farm_only": True, "monthly_cap_fen": 450,
                              "withdraw_after_failures": 2}  # fmt: skip
    stations = {s["code"]: s for s in claims["stations"]}
    a, b = stations["A001"], stations["B001"]
    assert a["qualifying"] == 4  # 5 farm dispatches, one reversed
    assert a["duplicates"] == 0
    assert a["payable_fen"] == 450 and a["capped"] and a["over_cap"] == 1
    assert [p["status"] for p in a["parcels"]].count("paid") == 3
    # Listed as they happened: by day, then as the server received them (one batch: the same
    # moment), then by id as a UUID orders; the cap pays the first ones.
    happened = [
        (p["day"], datetime.datetime.fromisoformat(p["received_at"]), uuid.UUID(p["dispatch_id"]))
        for p in a["parcels"]
    ]
    assert happened == sorted(happened)
    assert [p["status"] for p in a["parcels"]] == ["paid"] * 3 + ["over_cap"]
    assert b["qualifying"] == 2 and b["duplicates"] == 1 and b["payable_fen"] == 150
    duplicate = next(p for p in b["parcels"] if p["tracking_no"] == shared)
    assert duplicate["status"] == "duplicate" and duplicate["duplicate_of_station"] == "A001"
    assert claims["totals"]["payable_fen"] == 600 and claims["totals"]["duplicates"] == 1

    everything = await client.patch(
        f"/api/v1/counties/{world.county_id}",
        json={"subsidy_farm_only": False, "subsidy_monthly_cap_fen": 100000},
        headers=world.staff.headers,
    )
    assert everything.status_code == 200
    claims = await _claims(client, world, month)
    stations = {s["code"]: s for s in claims["stations"]}
    assert stations["A001"]["qualifying"] == 5 and stations["A001"]["payable_fen"] == 750


async def test_bad_month_and_foreign_county_are_refused(client, world):
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/subsidies?month=2026-00",
        headers=world.staff.headers,
    )
    assert response.status_code == 400 and response.json()["code"] == "county_invalid_month"
    foreign = await client.get(
        f"/api/v1/counties/{world.foreign_county_id}/subsidies?month=2026-11",
        headers=world.staff.headers,
    )
    assert foreign.status_code == 403


SHANGHAI_TZ = datetime.timezone(datetime.timedelta(hours=8))


async def test_a_dispatch_is_claimed_in_the_month_it_happened_not_the_month_it_synced(
    client, world
):
    """Synced today but dated last month: claimed last month, like every other figure; a phone
    clock running a month ahead is counted on the server's day (this month)."""
    now = datetime.datetime.now(SHANGHAI_TZ)
    this_month = now.date().replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    happened = datetime.datetime.combine(
        last_month + datetime.timedelta(days=9), datetime.time(10), SHANGHAI_TZ
    )
    late, ahead = tracking(), tracking()
    results = await push(
        client,
        world.keeper_a,
        [
            {**_dispatch(late), "occurred_at": happened.isoformat()},
            {**_dispatch(ahead), "occurred_at": (now + datetime.timedelta(days=35)).isoformat()},
        ],
    )
    assert {r["status"] for r in results} == {"accepted"}

    before = await _claims(client, world, f"{last_month:%Y-%m}")
    assert [p["tracking_no"] for s in before["stations"] for p in s["parcels"]] == [late]
    parcel = before["stations"][0]["parcels"][0]
    assert parcel["day"] == happened.date().isoformat() and parcel["status"] == "paid"
    assert before["totals"] == {
        "qualifying": 1, "duplicates": 0, "withdrawn": 0, "over_cap": 0, "claimed_fen": 100,
        "payable_fen": 100,
    }  # fmt: skip
    current = await _claims(client, world, f"{this_month:%Y-%m}")
    assert [p["tracking_no"] for s in current["stations"] for p in s["parcels"]] == [ahead]
    assert current["stations"][0]["parcels"][0]["day"] == now.date().isoformat()

    # The kpis and the workbook of last month count the same parcel.
    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={last_month:%Y-%m}",
        headers=world.staff.headers,
    )
    assert kpis.json()["figures"]["farm_parcels_out"] == 1
    assert kpis.json()["figures"]["parcels_out"] == 1
    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={last_month:%Y-%m}",
        headers=world.staff.headers,
    )
    sheet = load_workbook(io.BytesIO(book.content))["补贴明细"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [row[4] for row in rows] == [late]
    day = rows[0][2]
    assert (day.date() if isinstance(day, datetime.datetime) else day) == happened.date()
    claims_sheet = load_workbook(io.BytesIO(book.content))["物流补贴"]
    by_code = {row[1].value: row for row in claims_sheet.iter_rows(min_row=3)}
    assert by_code["A001"][3].value == 1 and float(by_code["A001"][7].value) == 1.00


async def test_a_household_whose_produce_fails_inspection_twice_loses_its_claim(client, world):
    """岳普湖 (seed 003): 长期不合格者取消物流补贴资格. Two failed inspections in a row withdraw the
    household's claim from the second one's day; a passed inspection gives it back."""
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    today = datetime.datetime.now(shanghai).date()
    last = today.replace(day=1) - datetime.timedelta(days=1)
    month = f"{last:%Y-%m}"

    def day(n: int) -> str:
        return last.replace(day=n).isoformat()

    for held, result in ((3, "failed"), (5, "failed"), (20, "passed")):
        batch = await client.post(
            f"/api/v1/counties/{world.county_id}/trace-batches",
            json={"product": "红枣", "household_code": world.household_code,
                  "harvested_on": day(held), "inspection": result},
            headers=world.staff.headers,
        )  # fmt: skip
        assert batch.status_code == 201, batch.text

    def dispatched(n: int, household: str | None) -> dict:
        data = {"tracking_no": tracking(), "carrier": "SF", "weight_g": 1000, "fee_fen": 800,
                "destination": "乌鲁木齐", "farm_product": True}  # fmt: skip
        if household:
            data["household_code"] = household
        return event("parcel.dispatched", data, f"{day(n)}T11:00:00+08:00")

    entries = [
        dispatched(4, world.household_code),  # one failure so far: paid
        dispatched(5, world.household_code),  # the second failure that day: withdrawn
        dispatched(12, world.household_code),  # withdrawn
        dispatched(12, None),  # no household named: paid
        dispatched(25, world.household_code),  # passed on the 20th: paid again
        dispatched(12, world.non_poverty_household_code),  # another household: paid
    ]
    assert {r["status"] for r in await push(client, world.keeper_a, entries)} == {"accepted"}
    claims = await _claims(client, world, month)
    (station,) = [s for s in claims["stations"] if s["code"] == "A001"]
    statuses = {p["tracking_no"]: p["status"] for p in station["parcels"]}
    expected = ["paid", "withdrawn", "withdrawn", "paid", "paid", "paid"]
    assert [statuses[e["data"]["tracking_no"]] for e in entries] == expected
    assert (station["qualifying"], station["withdrawn"]) == (6, 2)
    per_parcel = claims["rule"]["fen_per_parcel"]
    assert station["claimed_fen"] == 4 * per_parcel
    assert claims["totals"]["withdrawn"] == 2

    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    detail = load_workbook(io.BytesIO(book.content))["补贴明细"]
    labels = [row[8].value for row in detail.iter_rows(min_row=2)]
    assert labels.count("检测不合格，取消资格（不计）") == 2


async def test_the_claims_page_shows_the_figures_the_api_counts(client, world):
    """The page counts in SQL what the API lists parcel by parcel: the same figures per station,
    the same parcels for a chosen station and the same duplicates, with a cap, a parcel claimed
    twice and a household whose claim is withdrawn."""
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    last = datetime.datetime.now(shanghai).date().replace(day=1) - datetime.timedelta(days=1)
    month = f"{last:%Y-%m}"
    rule = await client.patch(
        f"/api/v1/counties/{world.county_id}",
        json={"subsidy_fen_per_parcel": 150, "subsidy_monthly_cap_fen": 450},
        headers=world.staff.headers,
    )
    assert rule.status_code == 200, rule.text
    for held in (3, 5):
        batch = await client.post(
            f"/api/v1/counties/{world.county_id}/trace-batches",
            json={"product": "红枣", "household_code": world.household_code,
                  "harvested_on": last.replace(day=held).isoformat(), "inspection": "failed"},
            headers=world.staff.headers,
        )  # fmt: skip
        assert batch.status_code == 201, batch.text

    def dispatched(day: int, number: str, household: str | None = None) -> dict:
        data = {"tracking_no": number, "carrier": "SF", "weight_g": 1000, "fee_fen": 800,
                "destination": "乌鲁木齐", "farm_product": True}  # fmt: skip
        if household:
            data["household_code"] = household
        return event(
            "parcel.dispatched", data, f"{last.replace(day=day).isoformat()}T11:00:00+08:00"
        )

    shared = tracking()
    a_entries = [dispatched(day, tracking()) for day in (6, 7, 8, 9)]
    a_entries += [dispatched(10, shared), dispatched(12, tracking(), world.household_code)]
    assert {r["status"] for r in await push(client, world.keeper_a, a_entries)} == {"accepted"}
    b_entries = [dispatched(11, shared), dispatched(13, tracking())]
    assert {r["status"] for r in await push(client, world.keeper_b, b_entries)} == {"accepted"}

    claims = await _claims(client, world, month)
    page = await client.get(f"/county/subsidies?month={month}", headers=html_as(world.staff))
    assert page.status_code == 200
    for station in claims["stations"]:
        row = page.text.split(f'data-station="{station["code"]}"')[1].split("</tr>")[0]
        cells = re.findall(r'class="num[^"]*"[^>]*>([^<]*)<', row)
        shown = [re.sub(r"[^\d.]", "", cell) for cell in cells]
        counted = [station[key] for key in ("qualifying", "duplicates", "withdrawn", "over_cap")]
        assert shown == [str(n) for n in counted] + [f"{station['payable_fen'] / 100:.2f}"]
    a = next(s for s in claims["stations"] if s["code"] == "A001")
    assert (a["withdrawn"], a["over_cap"], a["payable_fen"]) == (1, 2, 450)
    chosen = await client.get(
        f"/county/subsidies?month={month}&station=A001", headers=html_as(world.staff)
    )
    listed = chosen.text.split('id="claim"')[1].split("</section>")[0]
    assert sorted(re.findall(r'<td dir="ltr">([^<]+)</td>', listed)) == sorted(
        p["tracking_no"] for p in a["parcels"]
    )
    duplicates = page.text.split('id="duplicates"')[1].split("</section>")[0]
    assert re.findall(r'<td dir="ltr">([^<]+)</td>', duplicates) == [
        p["tracking_no"]
        for s in claims["stations"]
        for p in s["parcels"]
        if p["status"] == "duplicate"
    ]

    # The workbook's 补贴明细 lists the API's parcels row for row, in the API's order.
    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers=world.staff.headers,
    )
    detail = load_workbook(io.BytesIO(book.content))["补贴明细"]
    listed = [[_read_back(c.value) for c in row] for row in detail.iter_rows(min_row=2)]
    labels = {"paid": "计补", "duplicate": "重复（不计）", "over_cap": "超出上限",
              "withdrawn": "检测不合格，取消资格（不计）"}  # fmt: skip
    assert listed == [
        [_read_back(value) for value in (
            s["code"], s["name"], p["day"], p["carrier"], p["tracking_no"], p["weight_g"],
            "是" if p["farm_product"] else "否", p["household_code"], labels[p["status"]],
            p["duplicate_of_station"], p["late_for"],
        )]
        for s in claims["stations"]
        for p in s["parcels"]
    ]  # fmt: skip
    assert {row[8] for row in listed} == set(labels.values())


def _read_back(value):
    """A cell as the API writes it: a day as ISO text, an empty cell as None."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return None if value == "" else value
