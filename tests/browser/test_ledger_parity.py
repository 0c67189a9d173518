"""The ledger's rules that must exist twice — on the server (backend/ledger/projector.py and
service.py) and on the phone, offline (pwa/js/projector.js, read by local-view.js) — run in Python
and in Chromium on the same seeded, generated cases and must agree exactly: the pickup code for a
parcel, storage fees, the cashbook's kinds and amounts, the till's expected cash, and the
projection of a station's events into its shelf, its purchases and its day totals."""

from __future__ import annotations

import datetime
import random
import string
import typing
import uuid
import zoneinfo
from typing import Any

import pytest

from backend.ledger.carriers import CARRIERS
from backend.ledger.projector import (
    StationState,
    apply_event,
    assign_pickup_code,
    cashbook_amounts,
    cashbook_kind,
)
from backend.ledger.schemas import EVENT_TYPES, Service
from backend.ledger.service import StationFacts, expected_cash, parcel_charges
from backend.ledger.validation import Rejection

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")  # the phone's zone before the summary names one
SERVICES = typing.get_args(Service)

# The PWA's modules, loaded from the same versioned URLs the app uses (same module instances).
MODULES = """const base = document.querySelector("link[rel=icon]").href
    .replace("icons/icon-192.png", "js/");
  const load = (name) => import(base + name + ".js");"""


async def shell_page(phone, pwa_server):
    """The app's page, signed out: nothing syncs, no station is open until the test opens one."""
    page = await phone.new_page()
    await page.goto(f"{pwa_server.url}/app/")
    await page.wait_for_selector("form.login-form")
    return page


def digits(rng: random.Random, k: int) -> str:
    return "".join(rng.choices(string.digits, k=k))


# Pickup codes --------------------------------------------------------------------------------


def shelf_cases(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Shelves of every fill, with few distinct tails so codes collide and suffixes are needed."""
    cases = []
    for _ in range(n):
        shelves, layers = rng.randint(1, 4), rng.randint(1, 4)
        tails = [digits(rng, 4) for _ in range(rng.randint(1, 3))]
        codes = set()
        for _ in range(rng.randint(0, shelves * layers * 3)):
            shelf, layer, tail = (
                rng.randint(1, shelves + 1),
                rng.randint(1, layers),
                rng.choice(tails),
            )
            codes.add(
                rng.choice(
                    [
                        f"{shelf}-{layer}-{tail}",
                        f"{shelf}-{layer}-{tail}",
                        f"{shelf}-{layer}-{tail}-{rng.randint(2, 4)}",
                        f"0{shelf}-{layer}-{tail}",
                        f"A{shelf}-{tail}",
                    ]
                )
            )
        tracking_no = "7" + digits(rng, 9) + rng.choice(tails)
        cases.append(
            {
                "tracking_no": tracking_no,
                "codes": sorted(codes),
                "shelves": shelves,
                "layers": layers,
            }
        )
    return cases


def python_pickup_code(case: dict[str, Any]) -> str:
    state = StationState(uuid.uuid4(), uuid.uuid4(), case["shelves"], case["layers"])
    for i, code in enumerate(case["codes"]):
        state.shelve(f"parcel-{i}", uuid.uuid4(), code)
    return assign_pickup_code(state, case["tracking_no"], None)


JS_PICKUP_CODES = f"""async (cases) => {{
  {MODULES}
  const rules = await load("projector");
  return cases.map((c) => {{
    const shelf = c.codes.map((code) => ({{ pickup_code: code }}));
    const station = {{ shelves: c.shelves, layers: c.layers }};
    return rules.proposePickupCode(c.tracking_no, shelf, station);
  }});
}}"""


async def test_the_phone_proposes_the_pickup_code_the_server_would_assign(phone, pwa_server):
    cases = shelf_cases(random.Random(20261202), 500)
    expected = [python_pickup_code(case) for case in cases]
    # The cases reach every branch: a free slot, the emptiest slot, a numbered suffix.
    assert any(code.count("-") == 3 for code in expected)
    assert len({code.split("-")[0] for code in expected}) >= 4
    page = await shell_page(phone, pwa_server)
    answers = await page.evaluate(JS_PICKUP_CODES, cases)
    for case, python, js in zip(cases, expected, answers, strict=True):
        assert js == python, case


# Storage fees, cashbook kinds and the till -----------------------------------------------------


def charge_cases(rng: random.Random, n: int) -> list[dict[str, Any]]:
    day = datetime.date(2026, 12, 2)
    cases = []
    for _ in range(n):
        rule = {
            "free_days": rng.randint(0, 10),
            "daily_fee_fen": rng.choice([0, 10, 50, 100, rng.randint(0, 500)]),
            "fee_cap_fen": rng.choice([0, 300, rng.randint(0, 5000)]),
            "return_days": rng.randint(1, 30),
        }
        received = day - datetime.timedelta(days=rng.randint(-5, 45))
        cases.append({"rule": rule, "received": received.isoformat(), "day": day.isoformat()})
    return cases


def python_charges(case: dict[str, Any]) -> dict[str, Any]:
    rule = case["rule"]
    facts = StationFacts(
        id=uuid.uuid4(),
        county_id=uuid.uuid4(),
        timezone=SHANGHAI,
        shelves=6,
        layers=4,
        parcel_free_days=rule["free_days"],
        parcel_daily_fee_fen=rule["daily_fee_fen"],
        parcel_fee_cap_fen=rule["fee_cap_fen"],
        parcel_return_days=rule["return_days"],
    )
    received = datetime.date.fromisoformat(case["received"])
    days, fee, overdue = parcel_charges(facts, received, datetime.date.fromisoformat(case["day"]))
    return {"days": days, "fee_fen": fee, "overdue": overdue}


def money_data(rng: random.Random, event_type: str) -> dict[str, Any]:
    """Event data with the money fields an event of the type may carry (some left out)."""
    data: dict[str, Any] = {}
    for name in ("amount_fen", "fee_fen", "commission_fen"):
        if rng.random() < 0.6:
            data[name] = rng.randint(0, 50_000)
    if event_type == "service.recorded":
        data["service"] = rng.choice(SERVICES)
    return data


def cash_lines(rng: random.Random, n: int) -> list[list[dict[str, Any]]]:
    kinds = sorted(
        {
            cashbook_kind(t, {"service": s})
            for t in EVENT_TYPES
            for s in SERVICES
            if t not in ("entry.reversed", "parcel.moved", "cash.counted", "training.attended")
        }
    )
    return [
        [
            {
                "kind": rng.choice(kinds),
                "amount_fen": rng.randint(0, 90_000),
                "fee_fen": rng.randint(0, 900),
            }
            for _ in range(rng.randint(0, 8))
        ]
        for _ in range(n)
    ]


JS_PURE_RULES = f"""async ([charges, events, days]) => {{
  {MODULES}
  const rules = await load("projector");
  return {{
    charges: charges.map((c) => rules.parcelCharges(c.rule, c.received, c.day)),
    kinds: events.map(([type, data]) => [
      rules.cashbookKind(type, data),
      rules.cashbookAmounts(data),
    ]),
    cash: days.map((lines) => rules.expectedCash(lines)),
  }};
}}"""


async def test_storage_fees_cashbook_kinds_and_the_till_agree(phone, pwa_server):
    rng = random.Random(20261203)
    charges = charge_cases(rng, 400)
    types = sorted(EVENT_TYPES)
    events = [(t, money_data(rng, t)) for t in rng.choices(types, k=400)]
    days = cash_lines(rng, 300)
    expected = {
        "charges": [python_charges(case) for case in charges],
        "kinds": [[cashbook_kind(t, d), list(cashbook_amounts(d))] for t, d in events],
        "cash": [
            expected_cash((line["kind"], line["amount_fen"], line["fee_fen"]) for line in lines)
            for lines in days
        ],
    }
    assert {c["overdue"] for c in expected["charges"]} == {True, False}
    assert {c["fee_fen"] > 0 for c in expected["charges"]} == {True, False}
    page = await shell_page(phone, pwa_server)
    answers = await page.evaluate(JS_PURE_RULES, [charges, [list(e) for e in events], days])
    for case, python, js in zip(charges, expected["charges"], answers["charges"], strict=True):
        assert js == python, case
    for event, python, js in zip(events, expected["kinds"], answers["kinds"], strict=True):
        assert js == python, event
    for lines, python, js in zip(days, expected["cash"], answers["cash"], strict=True):
        assert js == python, lines


# The projection of a station's events ------------------------------------------------------------


class History:
    """A station's generated events, applied by the server's projector as they are generated:
    only what it accepts is kept, with what it decided (`server`), as a phone would pull them."""

    def __init__(self, rng: random.Random, today: datetime.date):
        self.rng = rng
        self.state = StationState(uuid.uuid4(), uuid.uuid4(), rng.randint(1, 3), rng.randint(1, 3))
        self.state.households = {"HH0001", "HH0002"}
        self.days = [today - datetime.timedelta(days=n) for n in (2, 1, 0)]
        tails = [digits(rng, 4) for _ in range(3)]
        self.numbers = ["7" + digits(rng, 9) + rng.choice(tails) for _ in range(10)]
        self.numbers += ["JD" + digits(rng, 13)]
        self.events: list[dict[str, Any]] = []
        self.moment = datetime.datetime.combine(self.days[0], datetime.time(7), SHANGHAI)

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def code(self, tracking_no: str) -> str:
        state = self.state
        shelf, layer = self.rng.randint(1, state.shelves), self.rng.randint(1, state.layers)
        return f"{shelf}-{layer}-{tracking_no[-4:]}"

    def on_shelf(self):
        return [p for p in self.state.parcels.values() if p.state == "on_shelf"]

    def parcel_data(self, parcel, extra: dict[str, Any]) -> dict[str, Any]:
        data = {"tracking_no": parcel.tracking_no, **extra}
        if parcel.package:
            data["package"] = parcel.package
        return data

    def random_event(self) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        shelf = self.on_shelf()
        roll = rng.random()
        if roll < 0.3 or not shelf:
            number = rng.choice(self.numbers)
            data = {
                "tracking_no": number,
                "carrier": rng.choice(CARRIERS),
                "recipient_phone": rng.choice(["13800001234", "138****1234", "1234"]),
            }
            if number.startswith("JD") and rng.random() < 0.7:
                data["package"] = rng.choice(["1/2", "2/2"])
            if rng.random() < 0.5:
                data["recipient_name"] = "王芳"
            if rng.random() < 0.6:
                data["pickup_code"] = self.code(number)
            return "parcel.received", data
        parcel = rng.choice(shelf)
        if roll < 0.45:
            code = parcel.pickup_code if rng.random() < 0.9 else parcel.proposed_code or "9-9-9999"
            extra = {"pickup_code": code}
            if rng.random() < 0.5:
                extra["fee_fen"] = rng.randint(0, 500)
            return "parcel.picked_up", self.parcel_data(parcel, extra)
        if roll < 0.52:
            return "parcel.returned", self.parcel_data(parcel, {"reason": "拒收"})
        if roll < 0.58:
            return "parcel.moved", {
                "parcel_id": str(parcel.id),
                "pickup_code": self.code("x" + digits(rng, 4)),
            }
        return self.other_event(roll)

    def other_event(self, roll: float) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        money = rng.randint(100, 90_000)
        household = {"household_code": "HH0001"} if rng.random() < 0.3 else {}
        purchases = list(self.state.purchases)
        if roll < 0.62:
            data = {
                "tracking_no": rng.choice(self.numbers),
                "carrier": rng.choice(CARRIERS),
                "weight_g": rng.randint(1, 30_000),
                "fee_fen": rng.randint(0, 3000),
                "destination": "杭州",
                "farm_product": rng.random() < 0.5,
                **household,
            }
            return "parcel.dispatched", data
        if roll < 0.67:
            data = {
                "platform": "taobao",
                "item": "化肥",
                "amount_fen": money,
                "commission_fen": 100,
            }
            return "purchase.ordered", {**data, **household}
        if roll < 0.71 and purchases:
            return "purchase.delivered", {"purchase_id": str(rng.choice(purchases))}
        if roll < 0.75:
            data = {"product": "板栗", "quantity": 2.5, "unit": "斤", "amount_fen": money}
            data |= {"commission_fen": rng.randint(0, money), "channel": "合作社"}
            return "sale.recorded", data
        if roll < 0.80:
            data = {
                "service": rng.choice(SERVICES),
                "amount_fen": money,
                "fee_fen": rng.randint(0, 200),
            }
            return "service.recorded", data
        if roll < 0.815:
            return "checkin.recorded", {"note": "到岗"} if rng.random() < 0.5 else {}
        if roll < 0.82:  # a village session: no cashbook line on either side (one draw, as above)
            trainees = [{"name": "张三", **household}] + (
                [{"name": "李四"}] if rng.random() < 0.5 else []
            )
            return "training.attended", {"title": "电商普及", "kind": "other", "trainees": trainees}
        if roll < 0.86:
            return "cash.counted", {"counted_fen": rng.randint(0, 200_000)}
        if self.events:
            target = rng.choice(self.events[-30:])
            return "entry.reversed", {"target_id": target["id"], "reason": "录错了"}
        return "checkin.recorded", {}

    def play(self, attempts: int) -> None:
        for _ in range(attempts):
            event_type, data = self.random_event()
            self.moment += datetime.timedelta(minutes=self.rng.randint(1, 40))
            day = (
                max(d for d in self.days if d <= self.moment.date())
                if self.rng.random() < 0.8
                else self.rng.choice(self.days)
            )
            event_id = self.new_id()
            try:
                applied = apply_event(
                    self.state, event_id, event_type, data, day, self.moment, self.moment
                )
            except Rejection:
                continue
            self.events.append(
                {
                    "id": str(event_id),
                    "seq": len(self.events) + 1,
                    "type": event_type,
                    "occurred_at": self.moment.isoformat(),
                    "business_date": day.isoformat(),
                    "data": data,
                    "server": applied.server_data,
                    "reversed_by": None,
                }
            )

    def as_pulled_fresh(self) -> list[dict[str, Any]]:
        """The same events as a phone pulling from scratch gets them: reversed ones say so."""
        reversed_by = {
            e["data"]["target_id"]: e["id"] for e in self.events if e["type"] == "entry.reversed"
        }
        return [{**e, "reversed_by": reversed_by.get(e["id"])} for e in self.events]

    def expected(self) -> dict[str, Any]:
        parcels = {
            str(p.id): {
                "tracking_no": p.tracking_no,
                "package": p.package,
                "state": p.state,
                "pickup_code": p.pickup_code,
                "proposed_code": p.proposed_code,
                "fee_fen": p.fee_fen,
                "closed_by": str(p.closed_event) if p.closed_event else None,
                "received_date": p.received_date.isoformat(),
            }
            for p in self.state.parcels.values()
        }
        purchases = {
            str(p.id): {
                "state": p.state,
                "delivered_by": str(p.delivered_event) if p.delivered_event else None,
            }
            for p in self.state.purchases.values()
        }
        return {"parcels": parcels, "purchases": purchases, "days": self.day_totals()}

    def day_totals(self) -> dict[str, Any]:
        """Each day's cashbook as the server reads it (lines not all zero) and its till."""
        reversed_ids = {
            e["data"]["target_id"] for e in self.events if e["type"] == "entry.reversed"
        }
        totals = {}
        for day in self.days:
            lines = [
                {"kind": kind, "count": n, "amount_fen": amount, "fee_fen": fee}
                for (d, kind), (n, amount, fee) in sorted(self.state.cashbook.items())
                if d == day and (n or amount or fee)
            ]
            counts = [
                e["data"]["counted_fen"]
                for e in self.events
                if e["type"] == "cash.counted"
                and e["business_date"] == day.isoformat()
                and e["id"] not in reversed_ids
            ]
            expected = expected_cash((x["kind"], x["amount_fen"], x["fee_fen"]) for x in lines)
            counted = counts[-1] if counts else None
            totals[day.isoformat()] = {
                "lines": lines,
                "cash": {
                    "expected_fen": expected,
                    "counted_fen": counted,
                    "difference_fen": None if counted is None else counted - expected,
                },
            }
        return totals


JS_PROJECTION = f"""async (histories) => {{
  {MODULES}
  const store = await load("store");
  const view = await load("local-view");
  const rules = await load("projector");
  const idb = await load("idb");
  const byId = (rows, pick) => {{
    const out = {{}};
    for (const row of rows) out[row.id] = pick(row);
    return out;
  }};
  const answers = [];
  for (const history of histories) {{
    await store.openStation(history.station);
    await store.applyPulled(history.events, "end");
    const all = (tx, name) => idb.request(tx.objectStore(name).getAll());
    const stores = ["parcels", "purchases"];
    const rows = await idb.run(store.openStationDb(), stores, "readonly", async (tx) => ({{
      parcels: await all(tx, "parcels"),
      purchases: await all(tx, "purchases"),
    }}));
    const days = {{}};
    for (const day of history.days) {{
      const totals = rules.dayTotals(await view.dayEntries(day));
      const lines = totals.lines.slice().sort((a, b) => (a.kind < b.kind ? -1 : 1));
      days[day] = {{ lines, cash: totals.cash }};
    }}
    const local = await view.localView();
    answers.push({{
      parcels: byId(rows.parcels, (p) => ({{
        tracking_no: p.tracking_no,
        package: p.package,
        state: p.state,
        pickup_code: p.pickup_code,
        proposed_code: p.proposed_code,
        fee_fen: p.fee_fen,
        closed_by: p.closed_by,
        received_date: p.received_date,
      }})),
      purchases: byId(rows.purchases, (p) => ({{ state: p.state, delivered_by: p.delivered_by }})),
      days,
      today: {{
        day: local.today,
        kinds: local.kinds,
        shelf: local.shelf.map((p) => [p.id, p.pickup_code]).sort(),
      }},
    }});
  }}
  return answers;
}}"""


async def test_the_phone_projects_a_stations_events_as_the_server_does(phone, pwa_server):
    page = await shell_page(phone, pwa_server)
    today = datetime.date.fromisoformat(
        await page.evaluate(f"async () => {{ {MODULES} return (await load('store')).today(); }}")
    )
    rng = random.Random(20261204)
    histories = []
    for _ in range(16):
        history = History(rng, today)
        history.play(90)
        histories.append(history)
    sent = [
        {
            "station": f"parity-{n}",
            "events": h.as_pulled_fresh() if n % 2 else h.events,
            "days": [d.isoformat() for d in h.days],
        }
        for n, h in enumerate(histories)
    ]
    # Hundreds of accepted events, every type, reversals of every kind of entry.
    events = [e for h in histories for e in h.events]
    assert len(events) >= 800
    assert {e["type"] for e in events} == set(EVENT_TYPES)
    targets = {e["id"]: e["type"] for e in events}
    reversed_types = {
        targets[e["data"]["target_id"]] for e in events if e["type"] == "entry.reversed"
    }
    assert {
        "parcel.received",
        "parcel.picked_up",
        "parcel.returned",
        "purchase.delivered",
    } <= reversed_types
    assert any(e["server"].get("pickup_code") for e in events if e["type"] == "entry.reversed")

    answers = await page.evaluate(JS_PROJECTION, sent)
    for n, (history, js) in enumerate(zip(histories, answers, strict=True)):
        python = history.expected()
        assert js["parcels"] == python["parcels"], n
        assert js["purchases"] == python["purchases"], n
        for day, totals in python["days"].items():
            assert js["days"][day] == totals, (n, day)
        today_lines = python["days"][today.isoformat()]["lines"]
        assert js["today"]["day"] == today.isoformat()
        assert js["today"]["kinds"] == today_lines, n
        shelf = sorted([str(p.id), p.pickup_code] for p in history.on_shelf())
        assert js["today"]["shelf"] == shelf, n
