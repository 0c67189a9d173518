"""What the ledger shows: the shelf, pickup codes, purchases, the cashbook; rebuilt from the log
they come out the same; tampering behind the app's back is named by `verify`."""

import random
import re
import subprocess
import sys
import uuid

import pytest

from backend import db
from backend.ledger import integrity
from backend.ledger.store.projections import PROJECTION_TABLES
from tests.support import event, push, received, statuses, tracking


async def shelf(client, actor, station_id, **query):
    response = await client.get(
        f"/api/v1/stations/{station_id}/parcels", params=query, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_received_parcels_get_short_unique_codes_shelf_layer_last4(client, world):
    entries = [received(tracking_no=f"SF00000000{n:05d}") for n in range(30)]
    results = await push(client, world.keeper_a, entries)
    codes = [r["pickup_code"] for r in results]
    assert len(set(codes)) == 30
    for code, entry in zip(codes, entries, strict=True):
        shelf_no, layer, tail = code.split("-")
        assert 1 <= int(shelf_no) <= 6 and 1 <= int(layer) <= 4
        assert tail == entry["data"]["tracking_no"][-4:]
    on_shelf = await shelf(client, world.keeper_a, world.station_a)
    assert sorted(p["pickup_code"] for p in on_shelf) == sorted(codes)


async def test_same_last_four_digits_go_to_different_slots(client, world):
    entries = [received(tracking_no=f"SF{n:09d}0000".rjust(15, "0")) for n in range(3)]
    codes = [r["pickup_code"] for r in await push(client, world.keeper_a, entries)]
    assert len(set(codes)) == 3
    assert all(code.endswith("-0000") for code in codes)


async def test_a_free_proposed_code_is_kept_a_taken_one_is_replaced(client, world):
    first = received(pickup_code="37-1-6312")
    second = received(pickup_code="37-1-6312")
    results = await push(client, world.keeper_a, [first, second])
    assert results[0]["pickup_code"] == "37-1-6312"
    assert results[0].get("pickup_code_changed") is False
    assert results[1]["pickup_code"] != "37-1-6312"
    assert results[1]["pickup_code_changed"] is True


async def test_pickup_by_code_phone_last4_or_tracking_number(client, world):
    parcel = received(phone="13955556666", recipient_name="李桂兰")
    code = (await push(client, world.keeper_a, [parcel, received()]))[0]["pickup_code"]
    by_code = await shelf(client, world.keeper_a, world.station_a, code=code)
    by_phone = await shelf(client, world.keeper_a, world.station_a, phone_last4="6666")
    by_number = await shelf(
        client, world.keeper_a, world.station_a, tracking_no=parcel["data"]["tracking_no"].lower()
    )
    assert [p["id"] for p in by_code] == [p["id"] for p in by_phone] == [p["id"] for p in by_number]
    assert by_code[0]["recipient_phone"] == "13955556666"  # the keeper's own lookup
    staff_view = await shelf(client, world.staff, world.station_a)
    assert {p["recipient_phone"] for p in staff_view} <= {"139****6666", "138****5678"}
    pickup = event(
        "parcel.picked_up", {"tracking_no": parcel["data"]["tracking_no"], "pickup_code": code}
    )
    assert statuses(await push(client, world.keeper_a, [pickup])) == ["accepted"]
    assert await shelf(client, world.keeper_a, world.station_a, code=code) == []
    done = await shelf(client, world.keeper_a, world.station_a, state="picked_up")
    assert [p["id"] for p in done] == [parcel["id"]]
    bad = await client.get(
        f"/api/v1/stations/{world.station_a}/parcels?phone_last4=12",
        headers=world.keeper_a.headers,
    )
    assert bad.status_code == 400


async def test_a_freed_code_is_used_again_and_a_wrong_code_is_refused(client, world):
    parcel = received()
    code = (await push(client, world.keeper_a, [parcel]))[0]["pickup_code"]
    wrong = event(
        "parcel.picked_up",
        {"tracking_no": parcel["data"]["tracking_no"], "pickup_code": "9-9-9999"},
    )
    assert (await push(client, world.keeper_a, [wrong]))[0]["error"]["code"] == (
        "pickup_code_mismatch"
    )
    returned = event(
        "parcel.returned", {"tracking_no": parcel["data"]["tracking_no"], "reason": "超过7天未取"}
    )
    again = received(pickup_code=code)
    results = await push(client, world.keeper_a, [returned, again])
    assert statuses(results) == ["accepted", "accepted"]
    assert results[1]["pickup_code"] == code


async def test_reversing_a_pickup_puts_the_parcel_back_on_the_shelf(client, world):
    parcel = received()
    code = (await push(client, world.keeper_a, [parcel]))[0]["pickup_code"]
    pickup = event(
        "parcel.picked_up",
        {"tracking_no": parcel["data"]["tracking_no"], "pickup_code": code, "fee_fen": 100},
    )
    undo = event("entry.reversed", {"target_id": pickup["id"], "reason": "认错人"})
    assert statuses(await push(client, world.keeper_a, [pickup, undo])) == ["accepted"] * 2
    back = await shelf(client, world.keeper_a, world.station_a)
    assert [p["id"] for p in back] == [parcel["id"]]


async def test_purchase_ordered_then_delivered(client, world):
    order = event(
        "purchase.ordered",
        {
            "platform": "taobao",
            "item": "农药喷雾器",
            "amount_fen": 12000,
            "commission_fen": 500,
            "customer_phone": "13612341234",
        },
    )
    await push(client, world.keeper_a, [order])
    url = f"/api/v1/stations/{world.station_a}/purchases"
    open_orders = (await client.get(f"{url}?state=ordered", headers=world.keeper_a.headers)).json()
    assert [p["id"] for p in open_orders] == [order["id"]]
    assert open_orders[0]["customer_phone"] == "136****1234"
    delivered = event("purchase.delivered", {"purchase_id": order["id"]})
    twice = event("purchase.delivered", {"purchase_id": order["id"]})
    results = await push(client, world.keeper_a, [delivered, twice])
    assert statuses(results) == ["accepted", "rejected"]
    assert results[1]["error"]["code"] == "purchase_already_delivered"
    assert (await client.get(f"{url}?state=ordered", headers=world.keeper_a.headers)).json() == []
    undo_order = event("entry.reversed", {"target_id": order["id"], "reason": "退款"})
    result = (await push(client, world.keeper_a, [undo_order]))[0]
    assert result["error"]["code"] == "reverse_delivery_first"


async def test_cashbook_totals_per_kind_and_reversals_subtract(client, world):
    day = "2026-11-20T10:00:00+08:00"
    topup = event(
        "service.recorded",
        {"service": "phone_topup", "amount_fen": 5000, "fee_fen": 100},
        occurred_at=day,
    )
    topup2 = event(
        "service.recorded",
        {"service": "phone_topup", "amount_fen": 3000, "fee_fen": 0},
        occurred_at=day,
    )
    sale = event(
        "sale.recorded",
        {
            "product": "土豆",
            "quantity": 50,
            "unit": "斤",
            "amount_fen": 7500,
            "commission_fen": 375,
            "channel": "快手",
        },
        occurred_at=day,
    )
    dispatch = event(
        "parcel.dispatched",
        {
            "tracking_no": tracking("JT"),
            "carrier": "JT",
            "weight_g": 25000,
            "fee_fen": 1800,
            "destination": "成都",
            "farm_product": True,
        },
        occurred_at=day,
    )
    undo = event("entry.reversed", {"target_id": topup2["id"], "reason": "重复录入"})
    await push(client, world.keeper_a, [topup, topup2, sale, dispatch, undo])
    book = (
        await client.get(
            f"/api/v1/stations/{world.station_a}/cashbook?date=2026-11-20",
            headers=world.keeper_a.headers,
        )
    ).json()
    lines = {line["kind"]: line for line in book["kinds"]}
    assert lines["service_phone_topup"] == {
        "kind": "service_phone_topup",
        "count": 1,
        "amount_fen": 5000,
        "fee_fen": 100,
    }
    assert lines["sale_recorded"]["amount_fen"] == 7500
    assert lines["sale_recorded"]["fee_fen"] == 375
    assert lines["parcel_dispatched"]["fee_fen"] == 1800
    assert book["total_amount_fen"] == 12500
    assert book["total_fee_fen"] == 100 + 375 + 1800
    other_day = (
        await client.get(
            f"/api/v1/stations/{world.station_a}/cashbook?date=2026-11-21",
            headers=world.keeper_a.headers,
        )
    ).json()
    assert other_day["kinds"] == []


async def test_home_summary(client, world):
    summary = (
        await client.get(
            f"/api/v1/stations/{world.station_a}/summary", headers=world.keeper_a.headers
        )
    ).json()
    assert summary["checked_in_this_week"] is False
    assert summary["parcels_on_shelf"] == 0
    assert summary["timezone"] == "Asia/Shanghai"
    old = received()
    old["occurred_at"] = "2026-10-01T10:00:00+08:00"
    await push(client, world.keeper_a, [old, received(), event("checkin.recorded", {})])
    summary = (
        await client.get(
            f"/api/v1/stations/{world.station_a}/summary", headers=world.keeper_a.headers
        )
    ).json()
    assert summary["checked_in_this_week"] is True
    assert summary["parcels_on_shelf"] == 2
    assert summary["parcels_overdue"] == 1
    assert summary["cashbook"]["kinds"][0]["kind"] in {"checkin_recorded", "parcel_received"}


# Rebuild and verify ---------------------------------------------------------------------------


async def projection_snapshot() -> dict[str, list]:
    """Every projection row, comparable; the cashbook without its serial id and empty lines."""
    snapshot = {}
    async with db.read_transaction():
        for table in PROJECTION_TABLES:
            rows = await db.fetch(f"SELECT * FROM {table}")
            if table == "ledger_cashbook":
                rows = [
                    {k: v for k, v in row.items() if k != "id"}
                    for row in rows
                    if row["count"] or row["amount_fen"] or row["fee_fen"]
                ]
            snapshot[table] = sorted(tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows)
    return snapshot


async def busy_station(client, actor, seed: int = 7) -> None:
    """A few hundred mixed entries with pickups, returns, reversals and re-used codes."""
    rng = random.Random(seed)
    on_shelf: list[tuple[str, str]] = []
    entries_done = []
    for _ in range(8):
        batch = []
        for _ in range(30):
            roll = rng.random()
            if roll < 0.35 or not on_shelf:
                batch.append(received(tracking_no=tracking("SF")))
            elif roll < 0.55:
                number, code = on_shelf.pop(rng.randrange(len(on_shelf)))
                batch.append(
                    event("parcel.picked_up", {"tracking_no": number, "pickup_code": code})
                )
            elif roll < 0.6:
                number, _ = on_shelf.pop(rng.randrange(len(on_shelf)))
                batch.append(event("parcel.returned", {"tracking_no": number, "reason": "超期"}))
            elif roll < 0.75:
                batch.append(
                    event(
                        "service.recorded",
                        {
                            "service": "electricity",
                            "amount_fen": rng.randrange(1, 50000),
                            "fee_fen": rng.randrange(200),
                        },
                    )
                )
            elif roll < 0.85 and entries_done:
                target = entries_done.pop(rng.randrange(len(entries_done)))
                batch.append(event("entry.reversed", {"target_id": target, "reason": "错"}))
            else:
                batch.append(
                    event(
                        "sale.recorded",
                        {
                            "product": "茶叶",
                            "quantity": 1,
                            "unit": "斤",
                            "amount_fen": rng.randrange(100, 90000),
                            "commission_fen": 10,
                            "channel": "淘宝",
                        },
                    )
                )
        results = await push(client, actor, batch)
        for entry, result in zip(batch, results, strict=True):
            if result["status"] != "accepted":
                continue
            if entry["type"] == "parcel.received":
                on_shelf.append((entry["data"]["tracking_no"], result["pickup_code"]))
            if entry["type"] in ("service.recorded", "sale.recorded"):
                entries_done.append(entry["id"])


async def test_rebuild_from_the_log_equals_the_incremental_projections(client, world):
    await busy_station(client, world.keeper_a, seed=1)
    await busy_station(client, world.keeper_b, seed=2)
    before = await projection_snapshot()
    assert len(before["ledger_parcel"]) > 50
    assert before["ledger_reversal"]
    result = await integrity.rebuild()
    assert result["events"] >= 400
    assert await projection_snapshot() == before


def run_cli(*args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


async def test_verify_passes_on_an_untouched_ledger(client, world):
    await busy_station(client, world.keeper_a, seed=3)
    report = await integrity.verify()
    assert report["broken"] == [] and report["events"] > 100
    cli = run_cli("verify")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "every hash chain verifies" in cli.stdout


TAMPERS = ["edit_data", "edit_amount_text", "delete_middle", "delete_last", "swap_type"]


@pytest.mark.parametrize("tamper", TAMPERS)
async def test_verify_names_the_first_broken_link_after_tampering(client, world, tamper):
    await busy_station(client, world.keeper_a, seed=4)
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT id, seq, data FROM ledger_event WHERE station = $1 ORDER BY seq",
            world.station_a,
        )
    victim = rows[-1] if tamper == "delete_last" else rows[len(rows) // 2]
    async with db.write_transaction():
        if tamper == "edit_data":
            data = re.sub(r'"amount_fen":\d+', '"amount_fen":1', victim["data"])
            data = data if data != victim["data"] else victim["data"].replace("}", ',"x":1}')
            await db.execute("UPDATE ledger_event SET data = $1 WHERE id = $2", data, victim["id"])
        elif tamper == "edit_amount_text":
            await db.execute(
                "UPDATE ledger_event SET data = $1 WHERE id = $2",
                victim["data"].replace(":", ": ", 1),
                victim["id"],
            )
        elif tamper == "swap_type":
            await db.execute(
                "UPDATE ledger_event SET type = 'checkin.recorded' WHERE id = $1", victim["id"]
            )
        else:
            await db.execute("DELETE FROM ledger_event WHERE id = $1", victim["id"])
    report = await integrity.verify()
    assert len(report["broken"]) == 1
    broken = report["broken"][0]
    assert broken["station_id"] == str(world.station_a)
    assert broken["seq"] == victim["seq"]
    cli = run_cli("verify")
    assert cli.returncode == 1
    assert f"at seq {victim['seq']}" in cli.stdout


@pytest.mark.slow
async def test_verify_finds_every_random_tamper(client, world):
    """P1: 100 % of random single-byte edits of stored events are found."""
    await busy_station(client, world.keeper_a, seed=5)
    rng = random.Random(42)
    found = 0
    trials = 25
    for _ in range(trials):
        async with db.read_transaction():
            rows = await db.fetch("SELECT id, data FROM ledger_event ORDER BY seq")
        victim = rng.choice(rows)
        data = victim["data"]
        position = rng.randrange(len(data))
        replacement = "7" if data[position] != "7" else "8"
        forged = data[:position] + replacement + data[position + 1 :]
        async with db.write_transaction():
            await db.execute(
                "UPDATE ledger_event SET data = $1 WHERE id = $2", forged, victim["id"]
            )
        if (await integrity.verify())["broken"]:
            found += 1
        async with db.write_transaction():
            await db.execute("UPDATE ledger_event SET data = $1 WHERE id = $2", data, victim["id"])
    assert found == trials
    assert (await integrity.verify())["broken"] == []


async def test_rebuild_command_runs(client, world):
    await push(client, world.keeper_a, [received(), event("checkin.recorded", {})])
    cli = run_cli("rebuild")
    assert cli.returncode == 0, cli.stderr
    assert "from 2 events" in cli.stdout
    assert uuid.UUID(str(world.station_a))
