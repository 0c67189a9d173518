"""A fictional county shaped like the seeds' (9 townships, 60 villages, 40 stations), built through
the same services the API uses. Loading it twice changes nothing.
"""

from __future__ import annotations

import datetime
import os
import random
import uuid
import zoneinfo

from backend import clock
from backend.accounts.schemas import ProvinceUserCreate, UserCreate
from backend.accounts.service import create_user
from backend.demo.delivery import write_hub_legs
from backend.demo.history import write_history
from backend.demo.programme import station_code, write_programme
from backend.demo.stations import write_catalogue, write_station_files
from backend.province.service import create_officer
from backend.registry import service as registry
from backend.registry import store as registry_store
from backend.registry.schemas import (
    CountyCreate,
    HouseholdCreate,
    StationCreate,
    TownshipCreate,
    VillageCreate,
)
from backend.settings import Settings

DEMO_COUNTY_CODE = "QSX"
DEMO_PASSWORD = "demo1234"  # noqa: S105 - the published demo password of API.md
KEEPER_PHONES = [f"138000000{n:02d}" for n in range(1, 41)]
STAFF_PHONE = "13900000001"
HUB_PHONE = "13900000002"  # the county hub's worker (县级物流配送中心): the page /county/hub
# The first township's information officer (乡镇电商信息员): the page /county/township.
OFFICER_PHONE = "13900000003"
# A province officer reading the demo county (and any county loaded beside it): /county/province.
PROVINCE_PHONE = "13900000004"

TOWNSHIPS = [
    "城关镇",
    "河口镇",
    "白沙乡",
    "石门乡",
    "柳林镇",
    "桃源乡",
    "高峰乡",
    "新华镇",
    "红岩乡",
]
VILLAGE_SYLLABLES = (
    "东西南北上下前后大小新老王李张刘陈杨黄赵周吴徐孙马胡朱郭何林高罗郑梁谢宋唐许韩冯邓曹彭"
)
VILLAGE_SUFFIXES = ["村", "坪村", "湾村", "岭村", "沟村", "坝村"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何林高罗"
GIVEN = "建国秀英桂兰志强海燕春梅玉华明军丽娟文杰红霞德胜小平金凤"
VILLAGES_PER_TOWNSHIP = [8, 7, 7, 6, 7, 6, 6, 7, 6]  # 60 in all
POOR_TOWNSHIPS = {"高峰乡", "红岩乡"}  # 贫困乡镇: the two in the hills
STATIONS = 40
HOUSEHOLDS = 320


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def _village_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(VILLAGE_SYLLABLES) + rng.choice(VILLAGE_SYLLABLES)
        name += rng.choice(VILLAGE_SUFFIXES)
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


async def load_demo(settings: Settings, if_empty: bool = False, progress=None) -> str:
    """`progress(done, total)` is told after each station's history is written."""
    if if_empty and await registry_store.any_county():
        return "database already holds a county; demo not loaded"
    if await registry_store.county_id_by_code(DEMO_COUNTY_CODE) is not None:
        return "demo county already loaded"
    rng = random.Random(2026)
    county = await registry.create_county(
        None,
        CountyCreate(
            name="青山县", code=DEMO_COUNTY_CODE, timezone="Asia/Shanghai", province="示范省"
        ),
    )
    village_ids: list[uuid.UUID] = []
    township_ids: list[uuid.UUID] = []
    taken: set[str] = set()
    poor_villages: set[uuid.UUID] = set()
    days = history_days()
    local_today = clock.utcnow().astimezone(zoneinfo.ZoneInfo(county.timezone)).date()
    history_start = local_today - datetime.timedelta(days=days)
    for index, (township_name, village_count) in enumerate(
        zip(TOWNSHIPS, VILLAGES_PER_TOWNSHIP, strict=True)
    ):
        township = await registry.create_township(
            None,
            county.id,
            TownshipCreate(
                name=township_name,
                code=f"T{index + 1:02d}",
                poor=township_name in POOR_TOWNSHIPS,
            ),
        )
        township_ids.append(township.id)
        for village_name in _village_names(rng, village_count, taken):
            village = await registry.create_village(
                None,
                county.id,
                VillageCreate(township_id=township.id, name=village_name, poor=rng.random() < 0.3),
            )
            village_ids.append(village.id)
            if village.poor:
                poor_villages.add(village.id)
    # Every township gets its 乡级服务站 (in its first village, the seat); the 村级服务点 go to
    # the other villages, poor ones first. The township stations opened first, the village
    # points one a week after another, all before the history starts.
    first_of_township = []
    offset = 0
    for count in VILLAGES_PER_TOWNSHIP:
        first_of_township.append(village_ids[offset])
        offset += count
    others = [v for v in village_ids if v not in first_of_township]
    points = STATIONS - len(first_of_township)
    drawn = rng.sample(others, points)
    # 网点优先覆盖脱贫村 (001): every poor village gets its point first, then the ones drawn.
    preferred = [v for v in others if v in poor_villages]
    station_villages = (
        first_of_township + (preferred + [v for v in drawn if v not in preferred])[:points]
    )
    station_ids = []
    for number, village_id in enumerate(station_villages, start=1):
        seat = number <= len(TOWNSHIPS)
        station = await registry.create_station(
            None,
            county.id,
            StationCreate(
                village_id=village_id,
                name=f"{TOWNSHIPS[number - 1]}电商服务站"
                if seat
                else f"第{number}号村级电商服务点",
                code=station_code(number),
                address=f"镇政府旁{number}号" if seat else f"村委会旁{number}号",
                level="township" if seat else "village",
                opened_on=history_start - datetime.timedelta(weeks=STATIONS + 4 - number),
            ),
        )
        station_ids.append(station.id)
    for number in range(1, HOUSEHOLDS + 1):
        await registry.create_household(
            None,
            county.id,
            HouseholdCreate(
                village_id=rng.choice(village_ids),
                code=f"QS-{number:04d}",
                head_name=_person(rng),
                phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
                poverty=rng.random() < 0.6,
            ),
        )
    await _demo_accounts(rng, county.id, station_ids, township_ids[0])
    events = 0
    if days > 0:  # 0 means the registry alone: the timeline would still fill today up to now
        events = await write_history(
            settings,
            county.id,
            county.timezone,
            [f"QS-{number:04d}" for number in range(1, HOUSEHOLDS + 1)],
            KEEPER_PHONES,
            days,
            progress=progress,
        )
    from backend.county.rollups import refresh_county
    from backend.county.targets import set_programme_start

    # The programme starts on the first day of the demo's history (the since-start figures).
    await set_programme_start(county.id, history_start)
    await write_programme(
        county.id,
        STAFF_PHONE,
        township_ids,
        station_ids,
        [f"QS-{number:04d}" for number in range(1, HOUSEHOLDS + 1)],
        local_today,
        _person,
    )
    await write_hub_legs(county.id, HUB_PHONE, station_ids)
    await write_station_files(STAFF_PHONE, station_ids, local_today)
    await write_catalogue(county.id, STAFF_PHONE)
    # The county pages read the rollups: have them ready before the first staff login.
    await refresh_county(county.id)
    return (
        f"demo county 青山县 loaded: {len(TOWNSHIPS)} townships, {len(village_ids)} villages, "
        f"{len(station_ids)} stations, {HOUSEHOLDS} households, "
        f"{events} ledger entries over the last {days} days"
    )


def history_days() -> int:
    """Eight weeks by default; tests that only need the registry set CUNZHAN_DEMO_HISTORY_DAYS=0."""
    return int(os.environ.get("CUNZHAN_DEMO_HISTORY_DAYS", "56"))


async def _demo_accounts(
    rng: random.Random, county_id: uuid.UUID, station_ids: list, township_id: uuid.UUID
) -> None:
    staff = UserCreate(
        phone=STAFF_PHONE, name="县电商中心", password=DEMO_PASSWORD, role="county_staff"
    )
    await create_user(None, county_id, staff)
    hub = UserCreate(phone=HUB_PHONE, name="配送中心分拣员", password=DEMO_PASSWORD, role="hub")
    await create_user(None, county_id, hub)
    officer = UserCreate(
        phone=OFFICER_PHONE,
        name="城关镇电商信息员",
        password=DEMO_PASSWORD,
        role="township",
        township_id=township_id,
    )
    await create_user(None, county_id, officer)
    province = ProvinceUserCreate(
        phone=PROVINCE_PHONE, name="省商务厅", password=DEMO_PASSWORD, county_ids=[county_id]
    )
    await create_officer(None, province)
    for phone, station_id in zip(KEEPER_PHONES, station_ids, strict=True):
        keeper = UserCreate(
            phone=phone,
            name=_person(rng),
            password=DEMO_PASSWORD,
            role="keeper",
            station_id=station_id,
        )
        await create_user(None, county_id, keeper)
