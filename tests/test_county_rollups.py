"""County rollups: incremental refreshes after random events and reversals equal a full recompute
from the log, nothing is counted twice, and the rollup API answers per station and day."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import random

import pytest

from backend import runtime
from backend.county import rollups
from tests.rollup_tables import (
    daily_rows,
    households_agree_with_log,
    month_rows_agree_with_days,
    same_rows,
    snapshot,
    summed,
)
from tests.support import event, push, received, tracking
from tests.test_catalogue import TEAPOT, WALNUT, add

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(days_ago: float) -> str:
    moment = datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=days_ago)
    return moment.isoformat(timespec="seconds")


class StationModel:
    """What a keeper could do next at one station, from what the server accepted so far."""

    def __init__(self, actor, households: list[str]):
        self.actor = actor
        self.households = households
        self.shelf: dict[str, str] = {}  # tracking_no → pickup code
        self.entries: list[tuple[str, str]] = []  # (id, type) of accepted entries
        self.reversed: set[str] = set()

    def next_event(self, rng: random.Random) -> dict:
        days_ago = rng.choice([0, 0, 1, 2, 3, 5, 8, 9, 12, 15])
        when = at(days_ago + rng.random() / 3)
        roll = rng.random()
        household = rng.choice([*self.households, None, None])
        extra = {"household_code": household} if household else {}
        if roll < 0.25:
            data = {"tracking_no": tracking(), "carrier": "SF", "recipient_phone": "13812345678"}
            return event("parcel.received", data, when)
        if roll < 0.4 and self.shelf:
            tracking_no = rng.choice(sorted(self.shelf))
            kind = rng.choice(["parcel.picked_up", "parcel.picked_up", "parcel.returned"])
            data = {"tracking_no": tracking_no}
            if kind == "parcel.picked_up":
                data["pickup_code"] = self.shelf[tracking_no]
                data["fee_fen"] = rng.choice([0, 50])
            else:
                data["reason"] = "超期未取"
            # Sometimes entered late with the day it really happened (before the deadline).
            return event(kind, data, at(rng.choice([0, 0, 1, 4, 6])))
        if roll < 0.55:
            data = {
                "tracking_no": tracking("SF"),
                "carrier": "SF",
                "weight_g": rng.randint(100, 5000),
                "fee_fen": rng.randint(500, 2000),
                "destination": "杭州",
                "farm_product": rng.random() < 0.6,
                **extra,
            }
            return event("parcel.dispatched", data, when)
        if roll < 0.65:
            data = {
                "platform": "taobao",
                "item": "化肥",
                "amount_fen": rng.randint(1000, 50000),
                "commission_fen": rng.randint(0, 500),
                **extra,
            }
            return event("purchase.ordered", data, when)
        if roll < 0.75:
            data = {
                "product": "核桃",
                "quantity": 2.5,
                "unit": "kg",
                "amount_fen": rng.randint(1000, 30000),
                "commission_fen": rng.randint(0, 900),
                "channel": "微信",
                **extra,
            }
            return event("sale.recorded", data, when)
        if roll < 0.82:
            data = {"service": "phone_topup", "amount_fen": 5000, "fee_fen": 100}
            return event("service.recorded", data, when)
        if roll < 0.87:
            return event("checkin.recorded", {}, when)
        live = [e for e in self.entries if e[0] not in self.reversed]
        if live:
            target, _ = rng.choice(live)
            return event("entry.reversed", {"target_id": target, "reason": "录错了"}, at(0))
        return event("checkin.recorded", {}, when)

    def learn(self, events: list[dict], results: list[dict]) -> None:
        for sent, result in zip(events, results, strict=True):
            if result["status"] != "accepted":
                continue
            kind, data = sent["type"], sent["data"]
            if kind == "parcel.received":
                self.shelf[data["tracking_no"]] = result["pickup_code"]
            elif kind in ("parcel.picked_up", "parcel.returned"):
                self.shelf.pop(data["tracking_no"], None)
            elif kind == "entry.reversed":
                self.reversed.add(data["target_id"])
                self.shelf = {}  # the shelf after a reversal is re-learnt below
            if kind != "entry.reversed":
                self.entries.append((sent["id"], kind))


async def _relearn_shelf(client, model: StationModel) -> None:
    response = await client.get(
        f"/api/v1/stations/{model.actor.station_id}/parcels?state=on_shelf",
        headers=model.actor.headers,
    )
    model.shelf = {p["tracking_no"]: p["pickup_code"] for p in response.json()}


@pytest.mark.parametrize("stations_per_write", [1, rollups.STATIONS_PER_TRANSACTION])
async def test_incremental_refresh_equals_full_recompute(
    client, world, monkeypatch, stations_per_write
):
    """Also with one station per write: a county's catch-up writes a few stations at a time, and
    the county's sums and every station's marks must come out the same whatever the split."""
    monkeypatch.setattr(rollups, "STATIONS_PER_TRANSACTION", stations_per_write)
    rng = random.Random(1)
    models = [
        StationModel(world.keeper_a, [world.household_code, world.non_poverty_household_code]),
        StationModel(world.keeper_b, [world.household_code]),
        StationModel(world.foreign_keeper, [world.foreign_household_code]),
    ]
    accepted = 0
    for round_number in range(12):
        for model in models:
            batch = [model.next_event(rng) for _ in range(rng.randint(3, 15))]
            results = await push(client, model.actor, batch)
            model.learn(batch, results)
            accepted += sum(r["status"] == "accepted" for r in results)
            if any(e["type"] == "entry.reversed" for e in batch):
                await _relearn_shelf(client, model)
        if round_number % 3 != 2:  # refresh some rounds, let others pile up
            await rollups.refresh()
    await rollups.refresh()
    incremental = await snapshot()
    assert await rollups.refresh() == 0  # nothing new: nothing recomputed
    assert await snapshot() == incremental

    await rollups.rebuild()
    same_rows(incremental, await snapshot())
    await month_rows_agree_with_days()
    await households_agree_with_log()
    assert accepted > 150
    kinds = {row[3] for row in incremental[0]}
    assert {"parcel_received", "parcel_dispatched", "entry_reversed", "parcel_overdue"} <= kinds


def _sold(product: str, amount_fen: int, commission_fen: int, **more) -> dict:
    data = {"product": product, "quantity": 1, "unit": "个", "amount_fen": amount_fen,
            "commission_fen": commission_fen, "channel": "微信", **more}  # fmt: skip
    return event("sale.recorded", data, at(3))


async def test_every_kind_of_entry_counts_alike_in_a_refresh_and_a_rebuild(client, world):
    """One entry of every type and every variant a figure depends on (every service; a sale by
    a not-farm product's code, by a farm product's code, by a text mapped to a not-farm product,
    unmapped; a dispatch of farm produce or not; a 脱贫户 or not; a pickup's storage fee; a
    reversal; a parcel fallen overdue): the refresh's rows equal the rebuild's in every table and
    column, and each figure is counted somewhere."""
    teapot = (await add(client, world, TEAPOT)).json()
    walnut = (await add(client, world, WALNUT)).json()
    mapped = await client.put(
        f"/api/v1/counties/{world.county_id}/product-texts",
        json={"text": "茶杯", "product_id": teapot["id"]},
        headers=world.staff.headers,
    )
    assert mapped.status_code == 200, mapped.text
    poor, other = world.household_code, world.non_poverty_household_code
    received = [
        event("parcel.received", {"tracking_no": tracking(), "carrier": "SF",
                                  "recipient_phone": "13812345678"}, at(days))
        for days in (12, 10, 9, 2)
    ]  # fmt: skip
    results = await push(client, world.keeper_a, received)
    codes = [result["pickup_code"] for result in results]
    sales = [
        _sold("茶壶", 3000, 300, product_code=teapot["code"], household_code=poor),
        _sold("核桃", 5000, 500, product_code=walnut["code"], household_code=poor),
        _sold("茶杯", 700, 70, household_code=poor),
        _sold("红枣", 900, 90, household_code=other),
        _sold("红枣", 400, 40),
    ]
    ordered = {"platform": "jd", "item": "化肥", "amount_fen": 8000, "commission_fen": 160}
    purchase = event("purchase.ordered", {**ordered, "household_code": poor}, at(4))
    services = [
        event("service.recorded", {"service": service, "amount_fen": 1000 + index,
                                   "fee_fen": index}, at(index % 5))
        for index, service in enumerate(
            ("phone_topup", "electricity", "water", "broadband", "ticket", "cash_withdrawal",
             "other")
        )
    ]  # fmt: skip
    entries = [
        *sales,
        purchase,
        event("purchase.delivered", {"purchase_id": purchase["id"]}, at(1)),
        *services,
        *(
            event("parcel.dispatched", {"tracking_no": tracking("SF"), "carrier": "SF",
                                        "weight_g": 800, "fee_fen": fee, "destination": "杭州",
                                        "farm_product": farm, **household}, at(5))
            for fee, farm, household in ((1200, True, {"household_code": poor}),
                                         (800, False, {"household_code": other}), (600, True, {}))
        ),
        event("parcel.picked_up", {"tracking_no": received[0]["data"]["tracking_no"],
                                   "pickup_code": codes[0], "fee_fen": 150}, at(1)),
        event("parcel.picked_up", {"tracking_no": received[3]["data"]["tracking_no"],
                                   "pickup_code": codes[3]}, at(1)),
        event("parcel.returned", {"tracking_no": received[1]["data"]["tracking_no"],
                                  "reason": "超期未取"}, at(0)),
        event("parcel.moved", {"parcel_id": received[2]["id"], "pickup_code": "9-9-0001"}, at(0)),
        event("checkin.recorded", {}, at(0)),
        event("cash.counted", {"counted_fen": 12000}, at(1)),
        event("training.attended", {"title": "直播", "kind": "livestream",
                                    "trainees": [{"name": "张三", "household_code": poor}]}, at(2)),
    ]  # fmt: skip
    answered = await push(client, world.keeper_a, entries)
    assert {r["status"] for r in answered} == {"accepted"}, answered
    reversal = event("entry.reversed", {"target_id": sales[4]["id"], "reason": "录错了"})
    assert (await push(client, world.keeper_a, [reversal]))[0]["status"] == "accepted"
    await rollups.refresh()
    incremental = await snapshot()
    await rollups.rebuild()
    same_rows(incremental, await snapshot())
    await households_agree_with_log(at_least=3)

    rows = await daily_rows()
    kinds = {row["kind"] for row in rows}
    assert {f"service_{s['data']['service']}" for s in services} <= kinds
    assert {"parcel_received", "parcel_picked_up", "parcel_returned", "parcel_moved",
            "parcel_dispatched", "purchase_ordered", "purchase_delivered", "sale_recorded",
            "checkin_recorded", "cash_counted", "training_attended", "entry_reversed",
            "parcel_overdue"} <= kinds  # fmt: skip
    sold = summed([r for r in rows if r["kind"] == "sale_recorded"], lambda r: r["kind"])
    # The reversed sale left; the teapot (by code) and the cup (mapped) are not farm produce.
    assert sold["sale_recorded"] == [4, 9600, 960, 2, 3, 8700, 5900, 870]
    dispatched = summed([r for r in rows if r["kind"] == "parcel_dispatched"], lambda r: 0)
    assert dispatched[0] == [3, 0, 2600, 2, 1, 0, 0, 1200]
    picked = summed([r for r in rows if r["kind"] == "parcel_picked_up"], lambda r: 0)
    assert picked[0][:3] == [2, 0, 150]


async def test_reversed_entries_leave_their_day_and_nothing_counts_twice(client, world):
    sale = event(
        "sale.recorded",
        {
            "product": "苹果",
            "quantity": 10,
            "unit": "kg",
            "amount_fen": 12345,
            "commission_fen": 600,
            "channel": "抖音",
            "household_code": world.household_code,
        },
        at(2),
    )
    other = event(
        "sale.recorded",
        {
            "product": "梨",
            "quantity": 1,
            "unit": "kg",
            "amount_fen": 1000,
            "commission_fen": 100,
            "channel": "抖音",
        },
        at(2),
    )
    await push(client, world.keeper_a, [sale, other])
    await rollups.refresh()
    await rollups.refresh()
    day = (datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=2)).date()
    rollup = await _sales(client, world, day)
    assert rollup == {
        "count": 2,
        "amount_fen": 13345,
        "fee_fen": 700,
        "farm_count": 2,
        "poverty_count": 1,
        "poverty_amount_fen": 12345,
    }
    # The same batch again (a lost answer retried): duplicates, nothing more counted.
    results = await push(client, world.keeper_a, [sale, other])
    assert {r["status"] for r in results} == {"duplicate"}
    await rollups.refresh()
    assert (await _sales(client, world, day))["count"] == 2

    reversal = event("entry.reversed", {"target_id": sale["id"], "reason": "录错"})
    await push(client, world.keeper_a, [reversal])
    assert await rollups.refresh() >= 1
    rollup = await _sales(client, world, day)
    assert rollup["count"] == 1 and rollup["amount_fen"] == 1000 and rollup["poverty_count"] == 0


async def _sales(client, world, day: datetime.date) -> dict:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/rollup?from={day}&to={day}"
        f"&station_id={world.station_a}",
        headers=world.staff.headers,
    )
    assert response.status_code == 200, response.text
    rows = [r for r in response.json()["rows"] if r["kind"] == "sale_recorded"]
    assert len(rows) <= 1
    keys = ("count", "amount_fen", "fee_fen", "farm_count", "poverty_count", "poverty_amount_fen")
    return {key: rows[0][key] for key in keys} if rows else dict.fromkeys(keys, 0)


async def test_parcels_overdue_on_their_return_day(client, world):
    late = event(
        "parcel.received",
        {"tracking_no": tracking(), "carrier": "SF", "recipient_phone": "13812345678"},
        at(9),
    )
    collected = event(
        "parcel.received",
        {"tracking_no": tracking(), "carrier": "SF", "recipient_phone": "13812345679"},
        at(9),
    )
    results = await push(client, world.keeper_a, [late, collected])
    pickup = event(
        "parcel.picked_up",
        {"tracking_no": collected["data"]["tracking_no"], "pickup_code": results[1]["pickup_code"]},
        at(0),
    )
    await rollups.refresh()
    due = (datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=2)).date()  # 9 - 7 days
    assert await _overdue(client, world, due) == 2
    # A pickup today does not undo the days the parcel already lay overdue.
    await push(client, world.keeper_a, [pickup])
    await rollups.refresh()
    assert await _overdue(client, world, due) == 2
    # Reversing the receipt of the other one takes it out.
    await push(
        client,
        world.keeper_a,
        [event("entry.reversed", {"target_id": late["id"], "reason": "扫错"})],
    )
    await rollups.refresh()
    assert await _overdue(client, world, due) == 1


async def _overdue(client, world, day) -> int:
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/rollup?from={day}&to={day}",
        headers=world.staff.headers,
    )
    return sum(r["count"] for r in response.json()["rows"] if r["kind"] == "parcel_overdue")


async def test_time_alone_makes_parcels_overdue(client, world):
    """A refresh on a later day counts the parcels that reached their deadline meanwhile."""
    parcel = event(
        "parcel.received",
        {"tracking_no": tracking(), "carrier": "SF", "recipient_phone": "13812345678"},
        at(1),
    )
    await push(client, world.keeper_a, [parcel])
    await rollups.refresh()
    now = datetime.datetime.now(datetime.UTC)
    assert await _overdue(client, world, (now + datetime.timedelta(days=6)).date()) == 0
    await rollups.refresh(now + datetime.timedelta(days=7))
    incremental = await snapshot()
    await rollups.rebuild(now + datetime.timedelta(days=7))
    assert await snapshot() == incremental
    due = (
        datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=1)
    ).date() + datetime.timedelta(days=7)
    assert await _overdue(client, world, due) == 1


async def test_rollup_api_refuses_bad_dates_with_a_localized_problem(client, world):
    base = f"/api/v1/counties/{world.county_id}/rollup"
    cases = [
        ("?from=2026-13-01&to=2026-12-01", "county_invalid_date", "from"),
        ("?from=2026-12-01&to=yesterday", "county_invalid_date", "to"),
        ("?from=2026-12-01&to=2026-11-01", "county_range_reversed", "to"),
        ("?from=2024-01-01&to=2026-01-01", "county_range_too_long", "to"),
    ]
    for query, code, field in cases:
        response = await client.get(
            base + query, headers={**world.staff.headers, "accept-language": "zh-CN"}
        )
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["code"] == code and problem["field"] == field
        assert not problem["detail"].startswith("problem.")
        assert any("\u4e00" <= char <= "\u9fff" for char in problem["detail"])
    english = await client.get(
        base + "?from=2026-12-01&to=2026-11-01",
        headers={**world.staff.headers, "accept-language": "en"},
    )
    assert "end date" in english.json()["detail"]


async def test_staff_see_only_their_county_rollup(client, world):
    await push(client, world.foreign_keeper, [event("checkin.recorded", {})])
    await rollups.refresh()
    own = await client.get(
        f"/api/v1/counties/{world.county_id}/rollup", headers=world.staff.headers
    )
    assert own.status_code == 200 and own.json()["rows"] == []
    foreign = await client.get(
        f"/api/v1/counties/{world.foreign_county_id}/rollup", headers=world.staff.headers
    )
    assert foreign.status_code == 403
    refreshed = await client.post(
        f"/api/v1/counties/{world.county_id}/rollup/refresh", headers=world.staff.headers
    )
    assert refreshed.status_code == 200


@pytest.mark.parametrize("one_app", [True, False], ids=["taking-turns", "marks-decide"])
async def test_pages_catching_up_at_once_beside_pushes_count_nothing_twice(client, world, one_app):
    """Staff pages catch their county up at the same moment as keepers push. The days are
    recounted in a read and written after it, so refreshes overlap: in one app they take turns,
    across processes (no shared app here) the marks decide which write stands. Either way the
    rollups end equal to a recompute from the log."""
    rng = random.Random(7 if one_app else 8)
    models = [
        StationModel(world.keeper_a, [world.household_code, world.non_poverty_household_code]),
        StationModel(world.keeper_b, [world.household_code]),
    ]

    async def pushed(model: StationModel, batch: list[dict]) -> None:
        model.learn(batch, await push(client, model.actor, batch))

    for _ in range(8):
        batches = [(m, [m.next_event(rng) for _ in range(rng.randint(3, 10))]) for m in models]
        async with runtime.running() if one_app else contextlib.nullcontext():
            await asyncio.gather(
                *(pushed(model, batch) for model, batch in batches),
                *(rollups.catch_up(world.county_id) for _ in range(4)),
            )
        for model, batch in batches:
            if any(e["type"] == "entry.reversed" for e in batch):
                await _relearn_shelf(client, model)
    await rollups.refresh()
    caught_up = await snapshot()
    await rollups.rebuild()
    assert await snapshot() == caught_up
    assert caught_up[0]


async def _received_today(client, world) -> int:
    today = datetime.datetime.now(datetime.UTC).date()
    first, last = today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/rollup?from={first}&to={last}",
        headers=world.staff.headers,
    )
    assert response.status_code == 200, response.text
    return sum(r["count"] for r in response.json()["rows"] if r["kind"] == "parcel_received")


def _counted_catch_ups(
    monkeypatch, before: asyncio.Event | None = None, after: asyncio.Event | None = None
) -> tuple[list[str], list[int]]:
    """The catch-ups begun, and each one's count of station-days as it ends; the first one
    holds on before its work until `before` opens, or after it (still in flight) until
    `after` opens."""
    real, begun, ran = rollups._catch_up, [], []

    async def counted(county_id):
        begun.append(county_id)
        if before is not None and len(begun) == 1:
            await before.wait()
        caught = await real(county_id)
        ran.append(caught)
        if after is not None and len(ran) == 1:
            await after.wait()
        return caught

    monkeypatch.setattr(rollups, "_catch_up", counted)
    return begun, ran


async def _until(condition) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never came")


async def test_staff_reading_at_once_share_one_catch_up_and_see_the_moved_figures(
    client, world, monkeypatch
):
    """Three readers ask while a catch-up is in flight that has not yet read what is behind:
    they share it, and each sees what was pushed before it asked."""
    await _received_today(client, world)  # caught up: the pushes below are all that is behind
    gate = asyncio.Event()
    begun, ran = _counted_catch_ups(monkeypatch, before=gate)
    await push(client, world.keeper_a, [received(), received()])
    await push(client, world.keeper_b, [received()])
    readers = [asyncio.ensure_future(_received_today(client, world))]
    await _until(lambda: begun)
    readers += [asyncio.ensure_future(_received_today(client, world)) for _ in range(2)]
    await asyncio.sleep(0.2)  # the two have come to the catch-up in flight
    gate.set()
    assert await asyncio.gather(*readers) == [3, 3, 3]
    assert len(begun) == 1 and ran[0] > 0


async def test_a_reader_does_not_share_a_catch_up_begun_before_it_asked(client, world, monkeypatch):
    """The catch-up in flight read what was behind before the push: the readers asking after
    the push wait for the next one, share it, and it counts the push."""
    await _received_today(client, world)
    gate = asyncio.Event()
    begun, ran = _counted_catch_ups(monkeypatch, after=gate)
    await push(client, world.keeper_a, [received()])
    first = asyncio.ensure_future(_received_today(client, world))
    await _until(lambda: ran)  # it has counted and holds on, still in flight
    await push(client, world.keeper_b, [received(), received()])
    later = [asyncio.ensure_future(_received_today(client, world)) for _ in range(2)]
    await asyncio.sleep(0.2)
    assert len(begun) == 1  # the later readers wait: none has begun its own
    gate.set()
    assert await first == 1
    assert await asyncio.gather(*later) == [3, 3]
    assert len(begun) == 2
