"""The demo county's station files and product catalogue, written through the registry's and the
catalogue's own services: most stations equipped and signed as the programme asks, a few short
of it (so the coverage page's 网点标准 lists someone to visit), and the produce its keepers sell
in the catalogue with their sale texts mapped, so the per-product sales page has figures."""

from __future__ import annotations

import datetime
import decimal
import random
import uuid
from typing import Any

from backend.catalogue.schemas import ProductCreate, TextMapping
from backend.catalogue.service import add_product, map_text
from backend.demo.history import SEASONAL_PRODUCE
from backend.demo.programme import demo_user
from backend.registry.schemas import EQUIPMENT, StationFileIn
from backend.registry.station_file import put_file

COMPANIES = ("青山县邮政分公司", "青山县供销合作社", "青山县电商运营中心")
# Near the county seat (WGS-84), stations a few kilometres apart.
SEAT = (decimal.Decimal("30.572815"), decimal.Decimal("104.066801"))
# (name, brand, certification) of the produce the catalogue names; the rest are plain produce.
BRANDED = {
    "核桃": ("青山", "green"),
    "蜂蜜": ("青山", "organic"),
    "春茶": ("青山", "geo_indication"),
    "猕猴桃": ("青山", "pollution_free"),
}
NOT_FARM = [("QS-X01", "竹编收纳篮", "个")]  # a craft: counted in 网络零售额, not in 上行


def _file(rng: random.Random, today: datetime.date) -> StationFileIn:
    """One in five stations lacks an item (its CCTV most often) and one in eight the sign."""
    equipment: dict[str, Any] = {name: True for name in EQUIPMENT}
    if rng.random() < 0.2:
        equipment[rng.choice(("has_cctv", "has_cctv", "has_printer", "has_shelves"))] = False
    equipment["has_broadband"] = rng.random() < 0.8
    offset = lambda: decimal.Decimal(rng.randint(-90_000, 90_000)) / 1_000_000  # noqa: E731
    return StationFileIn(
        company=rng.choice(COMPANIES),
        lat=SEAT[0] + offset(),
        lng=SEAT[1] + offset(),
        has_signage=rng.random() >= 0.125,
        inspected_on=today - datetime.timedelta(days=rng.randint(5, 120)),
        keeper_poor=rng.random() < 0.3,
        keeper_disabled=rng.random() < 0.05,
        keeper_party_member=rng.random() < 0.35,
        keeper_gender=rng.choice(("female", "male")),
        **equipment,
    )


async def write_station_files(
    staff_phone: str, station_ids: list[uuid.UUID], today: datetime.date
) -> None:
    rng = random.Random(14)
    staff = await demo_user(staff_phone)
    for station_id in station_ids:
        await put_file(staff, station_id, _file(rng, today))


async def write_catalogue(county_id: uuid.UUID, staff_phone: str) -> None:
    """Every produce the demo's keepers sell, as a farm product, its sale text mapped to it."""
    staff = await demo_user(staff_phone)
    units = {name: unit for month in SEASONAL_PRODUCE.values() for name, unit, _ in month}
    for number, (name, unit) in enumerate(sorted(units.items()), start=1):
        brand, certification = BRANDED.get(name, ("", None))
        product = await add_product(
            county_id,
            staff,
            ProductCreate(
                code=f"QS-P{number:02d}",
                name=name,
                category="farm",
                brand=brand,
                certification=certification,
                unit=unit,
            ),
        )
        await map_text(county_id, staff, TextMapping(text=name, product_id=product.id))
    for code, name, unit in NOT_FARM:
        await add_product(
            county_id, staff, ProductCreate(code=code, name=name, category="other", unit=unit)
        )
