"""Eight weeks of plausible station activity for the demo county, pushed through the same sync
service the phones use: more parcels in than out, seasonal produce sales, top-ups around the start
of the month, weekly check-ins (except demo keepers 1 and 2 this week), a few reversals.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import uuid
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from backend import clock
from backend.accounts import store as accounts
from backend.accounts.schemas import CurrentUser
from backend.ledger import ingest
from backend.ledger.service import week_start
from backend.settings import Settings

BATCH = 500
CARRIERS = [("ZTO", 0.24), ("YTO", 0.16), ("YUNDA", 0.14), ("STO", 0.1), ("JT", 0.12),
            ("SF", 0.08), ("JD", 0.06), ("EMS", 0.06), ("BEST", 0.04)]  # fmt: skip
# What villages sell, month by month (农产品上行).
SEASONAL_PRODUCE = {
    1: [("腊肉", "斤", 4500), ("香菇", "斤", 3800)],
    2: [("腊肉", "斤", 4500), ("蜂蜜", "瓶", 6800)],
    3: [("春茶", "斤", 16000), ("竹笋", "斤", 1200)],
    4: [("春茶", "斤", 16000), ("竹笋", "斤", 1200)],
    5: [("樱桃", "斤", 2500), ("蜂蜜", "瓶", 6800)],
    6: [("杨梅", "斤", 1800), ("土豆", "斤", 250)],
    7: [("桃子", "斤", 600), ("玉米", "斤", 300)],
    8: [("葡萄", "斤", 800), ("辣椒", "斤", 900)],
    9: [("梨", "斤", 500), ("板栗", "斤", 1500)],
    10: [("核桃", "斤", 2200), ("苹果", "斤", 550), ("红薯", "斤", 200)],
    11: [("核桃", "斤", 2200), ("猕猴桃", "斤", 900), ("红薯粉", "斤", 1200)],
    12: [("腊肉", "斤", 4500), ("柑橘", "斤", 450)],
}
PURCHASES = [("taobao", "洗衣机", 129900), ("pinduoduo", "电饭煲", 15900), ("jd", "化肥", 8600),
             ("pinduoduo", "儿童棉衣", 8900), ("taobao", "手机壳", 1900), ("youle", "食用油", 6900),
             ("douyin", "保温杯", 3900), ("jd", "电动车电池", 45000)]  # fmt: skip
DESTINATIONS = ["杭州市", "广州市", "上海市", "成都市", "西安市", "北京市", "昆明市", "深圳市"]


def _tracking(rng: random.Random, carrier: str) -> str:
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    return {
        "SF": "SF" + digits(13),
        "YTO": "YT" + digits(13),
        "JT": "JT" + digits(13),
        "JD": "JDVA" + digits(11),
        "EMS": "E" + rng.choice("ABCM") + digits(9) + "CN",
        "ZTO": "7" + digits(11),
        "STO": "77" + digits(11),
        "YUNDA": "43" + digits(11),
        "BEST": "55" + digits(10),
    }[carrier]


@dataclass
class StationTimeline:
    """Builds one station's entries in time order, keeping its own picture of the shelf."""

    rng: random.Random
    households: list[str]
    size: float
    entries: list[tuple[datetime.datetime, dict[str, Any]]] = field(default_factory=list)
    shelf: dict[str, tuple[str, datetime.datetime]] = field(default_factory=dict)
    slot: int = 0
    open_orders: list[tuple[str, datetime.datetime]] = field(default_factory=list)
    reversible: list[str] = field(default_factory=list)

    def add(self, moment: datetime.datetime, event_type: str, data: dict[str, Any]) -> str:
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.entries.append(
            (moment, {"id": event_id, "type": event_type,
                      "occurred_at": moment.isoformat(), "data": data})
        )  # fmt: skip
        return event_id

    def household(self, share: float) -> dict[str, str]:
        return (
            {"household_code": self.rng.choice(self.households)}
            if self.rng.random() < share
            else {}
        )

    def at(self, day: datetime.datetime, hour: float) -> datetime.datetime:
        return day + datetime.timedelta(hours=hour, minutes=self.rng.randrange(60))

    def parcels_in(self, day: datetime.datetime) -> None:
        for _ in range(self.rng.randint(int(4 * self.size), int(14 * self.size))):
            carrier = self.rng.choices([c for c, _ in CARRIERS], [w for _, w in CARRIERS])[0]
            number = _tracking(self.rng, carrier)
            self.slot += 1
            code = f"{self.slot % 6 + 1}-{self.slot // 6 % 4 + 1}-{number[-4:]}"
            if code in {c for c, _ in self.shelf.values()}:
                continue
            moment = self.at(day, self.rng.uniform(9, 17))
            self.add(moment, "parcel.received", {
                "tracking_no": number, "carrier": carrier, "pickup_code": code,
                "recipient_phone": f"1{self.rng.choice('35789')}{self.rng.randrange(10**9):09d}",
            })  # fmt: skip
            self.shelf[number] = (code, moment)

    def pickups(self, day: datetime.datetime, now: datetime.datetime) -> None:
        for number, (code, since) in list(self.shelf.items()):
            days = (day - since).days
            moment = self.at(day, self.rng.uniform(17.5, 20))
            if moment >= now or moment <= since:
                continue
            if days >= 7 and self.rng.random() < 0.6:
                self.add(
                    moment, "parcel.returned", {"tracking_no": number, "reason": "超过7天无人领取"}
                )
            elif self.rng.random() < 0.55:
                fee = 50 * max(0, days - 3)
                data: dict[str, Any] = {"tracking_no": number, "pickup_code": code}
                if fee:
                    data["fee_fen"] = min(fee, 300)
                self.add(moment, "parcel.picked_up", data)
            else:
                continue
            del self.shelf[number]

    def parcels_out(self, day: datetime.datetime) -> None:
        for _ in range(self.rng.randint(0, int(3 * self.size))):
            carrier = self.rng.choice(["ZTO", "YTO", "JT", "EMS", "SF"])
            farm = self.rng.random() < 0.6
            weight = self.rng.randint(2000, 15000) if farm else self.rng.randint(300, 3000)
            self.add(self.at(day, self.rng.uniform(9, 17)), "parcel.dispatched", {
                "tracking_no": _tracking(self.rng, carrier), "carrier": carrier,
                "weight_g": weight, "fee_fen": 800 + weight // 1000 * 100,
                "destination": self.rng.choice(DESTINATIONS), "farm_product": farm,
                **(self.household(0.4) if farm else {}),
            })  # fmt: skip

    def purchases(self, day: datetime.datetime, now: datetime.datetime) -> None:
        for order_id, ordered in list(self.open_orders):
            moment = self.at(day, 16)
            if (day - ordered).days >= 3 and moment < now and self.rng.random() < 0.7:
                self.add(moment, "purchase.delivered", {"purchase_id": order_id})
                self.open_orders.remove((order_id, ordered))
        if self.rng.random() < 0.6 * self.size:
            platform, item, price = self.rng.choice(PURCHASES)
            moment = self.at(day, self.rng.uniform(9, 18))
            order_id = self.add(moment, "purchase.ordered", {
                "platform": platform, "item": item, "amount_fen": price,
                "commission_fen": price // 50, **self.household(0.3),
            })  # fmt: skip
            self.open_orders.append((order_id, moment))

    def sales(self, day: datetime.datetime) -> None:
        for _ in range(self.rng.randint(0, int(2 * self.size))):
            product, unit, unit_price = self.rng.choice(SEASONAL_PRODUCE[day.month])
            quantity = self.rng.randint(2, 40)
            amount = quantity * unit_price
            sale_id = self.add(self.at(day, self.rng.uniform(8, 18)), "sale.recorded", {
                "product": product, "quantity": quantity, "unit": unit, "amount_fen": amount,
                "commission_fen": amount // 20, "channel": self.rng.choice(
                    ["拼多多店铺", "淘宝店", "抖音直播", "微信群", "邮乐购"]),
                **self.household(0.5),
            })  # fmt: skip
            self.reversible.append(sale_id)

    def services(self, day: datetime.datetime) -> None:
        # Top-ups cluster at the start of the month, when phone plans renew.
        topups = self.rng.randint(3, 8) if day.day <= 5 else self.rng.randint(0, 2)
        for _ in range(int(topups * self.size)):
            self.add(self.at(day, self.rng.uniform(8, 20)), "service.recorded", {
                "service": "phone_topup", "amount_fen": self.rng.choice([3000, 5000, 10000]),
                "fee_fen": 0,
                "account": f"1{self.rng.choice('3578')}{self.rng.randrange(10**9):09d}",
            })  # fmt: skip
        if self.rng.random() < 0.4:
            service = self.rng.choice(["electricity", "water", "broadband", "ticket"])
            self.add(self.at(day, self.rng.uniform(9, 17)), "service.recorded", {
                "service": service, "amount_fen": self.rng.randrange(2000, 30000), "fee_fen": 100,
            })  # fmt: skip

    def maybe_reverse(self, day: datetime.datetime) -> None:
        if self.reversible and self.rng.random() < 0.05:
            target = self.reversible.pop(self.rng.randrange(len(self.reversible)))
            self.add(
                self.at(day, 20.5), "entry.reversed", {"target_id": target, "reason": "数量录错"}
            )


def build_timeline(
    rng: random.Random, households: list[str], days: int, timezone: zoneinfo.ZoneInfo,
    now: datetime.datetime, check_in_this_week: bool,
) -> list[dict[str, Any]]:  # fmt: skip
    timeline = StationTimeline(rng, households, size=rng.uniform(0.6, 1.6))
    today = now.astimezone(timezone).date()
    this_week = week_start(today)
    for offset in range(days, -1, -1):
        date = today - datetime.timedelta(days=offset)
        day = datetime.datetime.combine(date, datetime.time(), tzinfo=timezone)
        if date.weekday() == 0 and (date < this_week or check_in_this_week):
            # Early on a Monday, this week's check-in happened a moment ago.
            moment = max(day, min(timeline.at(day, 8), now - datetime.timedelta(seconds=1)))
            timeline.add(moment, "checkin.recorded", {"note": "正常营业"})
        timeline.parcels_in(day)
        timeline.pickups(day, now)
        timeline.parcels_out(day)
        timeline.purchases(day, now)
        timeline.sales(day)
        timeline.services(day)
        timeline.maybe_reverse(day)
    past = [(moment, entry) for moment, entry in timeline.entries if moment < now]
    return [entry for _, entry in sorted(past, key=lambda pair: pair[0])]


async def write_history(
    settings: Settings,
    county_id: uuid.UUID,
    timezone: str,
    households: list[str],
    keepers: list[str],
    days: int,
    progress=None,
) -> int:
    """Push each demo station's timeline through the sync service; returns events stored.

    Every generated entry is valid: one refused means the generator and the rules disagree."""
    rng = random.Random(8)
    zone = zoneinfo.ZoneInfo(timezone)
    quiet = dataclasses.replace(settings, sms_url="")  # made-up villagers get no pickup SMS
    now = clock.utcnow()
    stored = 0
    for index, phone in enumerate(keepers):
        row = await accounts.user_by_phone(phone)
        if row is None:
            raise RuntimeError(f"demo keeper {phone} is missing")
        keeper = CurrentUser(
            id=row.id, role=row.role, station_id=row.station, county_id=row.county,
            language=row.language, name=row.name, phone=row.phone, session_id=uuid.uuid4(),
        )  # fmt: skip
        entries = build_timeline(rng, households, days, zone, now, check_in_this_week=index >= 2)
        device = uuid.UUID(int=rng.getrandbits(128), version=4)
        for start in range(0, len(entries), BATCH):
            batch = entries[start : start + BATCH]
            answer = (await ingest.push(quiet, keeper, device, batch, "zh-CN")).answer
            refused = [r for r in answer.results if r.status != "accepted"]
            if refused:
                raise RuntimeError(f"demo history entry refused: {refused[0]}")
            stored += len(answer.results)
        if progress is not None:
            progress(index + 1, len(keepers))
    return stored
