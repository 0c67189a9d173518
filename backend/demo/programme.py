"""The demo county's programme records beside its ledger: the targets an officer sets, training
sessions of the last weeks and trace batches of its produce, written through the capabilities'
own services, so the scorecard, the training page and the trace pages show what a county keeps."""

from __future__ import annotations

import datetime
import random
import uuid

from backend.accounts import store as accounts
from backend.accounts.schemas import CurrentUser
from backend.county import baseline
from backend.county.targets import set_programme
from backend.trace.schemas import TraceBatchCreate
from backend.trace.service import create_batch
from backend.training.service import SessionInput, TraineeInput, record_session

TARGETS = [
    ("stations_township", 9),  # a 乡级服务站 in every township
    ("stations_village", 36),  # 村级服务点 in 60 % of the 60 villages
    ("upward_sales_growth_pct", 20),
    ("online_retail_growth_pct", 15),
    ("farm_parcels_out", 1500),
    ("poor_households_served", 100),
    ("training_visits", 120),
    ("poor_training_share_pct", 30),
    ("poor_village_sales_growth_pct", 20),  # 岳普湖: poor villages' sales up 20 % a year
    ("training_people", 100),
    ("training_conversion_pct", 2),  # 布尔津: ≥ 2 % start a business or find work
    ("courier_township_reach_pct", 80),  # 鲁甸: couriers in ≥ 80 % of townships
    ("stations_equipped_pct", 100),  # 大冶: 监控、货架、电脑、打印机 at every station
    ("stations_signage_pct", 100),  # 鲁甸: the programme's sign at every station
]
SESSIONS = [  # days ago, title, kind, trainer, hours
    (50, "农村电商普及培训（城关镇）", "ecommerce_basics", "县电商中心", 3),
    (42, "站长业务培训：代收代发与台帐", "station_keeper", "县电商中心", 4),
    (30, "短视频与直播带货入门", "livestream", "县融媒体中心", 2.5),
    (21, "返乡青年电商创业培训", "entrepreneurship", "市商务局讲师团", 6),
    (9, "农产品网上销售与包装", "ecommerce_basics", "县农业农村局", 3),
]
# The county's 基数 of the year before, as reported then (fen): its ledger began with the demo's
# history, so the year to date compares with these, prorated by days. About a fifth under the
# demo's trade for 上行, a tenth for 网络零售额: one growth target met and one not, as a county has.
BASELINE = {"retail_fen": 572_000_000, "upward_sales_fen": 305_000_000,
            "downward_sales_fen": 267_000_000}  # fmt: skip
BATCHES = [  # product, days ago harvested, kg, brand, certification
    ("青山红枣", 40, 500, "青山", "geo_indication"),
    ("高山核桃", 25, 320, "青山", "green"),
    ("土鸡蛋", 6, 80, "", None),
    ("百花蜂蜜", 15, 120, "青山", "organic"),
]


def station_code(number: int) -> str:
    """The demo's n-th station (1-based): QS001 …"""
    return f"QS{number:03d}"


async def write_programme(
    county_id: uuid.UUID,
    staff_phone: str,
    township_ids: list[uuid.UUID],
    station_ids: list[uuid.UUID],
    household_codes: list[str],
    today: datetime.date,
    person,
) -> None:
    rng = random.Random(15)
    staff = await demo_user(staff_phone)
    await set_programme(staff, county_id, None, list(TARGETS))
    await baseline.put(staff, county_id, today.year - 1, BASELINE)
    for index, (days_ago, title, kind, trainer, hours) in enumerate(SESSIONS):
        trainees = [
            TraineeInput(name=person(rng), household_code=code)
            for code in rng.sample(household_codes, rng.randint(12, 30))
        ] + [TraineeInput(name=person(rng)) for _ in range(rng.randint(3, 10))]
        if kind == "station_keeper":  # most keepers came: the page lists those who did not
            numbers = rng.sample(range(1, len(station_ids) + 1), len(station_ids) * 3 // 4)
            keepers = [station_code(n) for n in sorted(numbers)]
            trainees += [TraineeInput(name=person(rng), station_code=code) for code in keepers]
        session = SessionInput(
            title=title,
            held_on=(today - datetime.timedelta(days=days_ago)).isoformat(),
            kind=kind,
            township_id=township_ids[index % len(township_ids)],
            trainer=trainer,
            hours=hours,
            trainees=trainees,
        )
        await record_session(county_id, staff, session)
    for product, days_ago, kilos, brand, certification in BATCHES:
        batch = TraceBatchCreate(
            product=product,
            household_code=rng.choice(household_codes),
            station_id=rng.choice(station_ids),
            harvested_on=today - datetime.timedelta(days=days_ago),
            quantity=kilos,
            unit="kg",
            inspection="passed",
            brand=brand,
            certification=certification,
        )
        await create_batch(county_id, staff, batch)


async def demo_user(phone: str) -> CurrentUser:
    """A demo account as a service sees its caller (the demo writes as that person)."""
    row = await accounts.user_by_phone(phone)
    if row is None:
        raise RuntimeError(f"demo staff {phone} is missing")
    return CurrentUser(
        id=row.id, role=row.role, station_id=row.station, county_id=row.county,
        language=row.language, name=row.name, phone=row.phone, session_id=uuid.uuid4(),
    )  # fmt: skip
