"""Station standards (六统一, 网点台帐) as figures: of the stations open today, how many have each
item of equipment, the unified sign and the photos on file, and who their keepers are.

One read model for the API (`GET …/station-standards`), the coverage page and the scorecard's
targets `stations_equipped_pct` and `stations_signage_pct`. The seeds' rule: every station
must have 监控、货架、电脑、打印机 (001 大冶 四(一)2) and hang the programme's sign (004 鲁甸
五(一)2), so a station is *equipped* when its file has all four (REQUIRED). The figures are
the files as last saved (the checklist as last inspected), so they are as of today, not of a
past day: a file keeps no history of its checklist. Counts only: the county's targets take
their shares (county/definitions.share_pct).

    county_standards(county_id) -> StationStandards
"""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend.registry import opening, service
from backend.registry.schemas import EQUIPMENT, KEEPER_FLAGS
from backend.registry.store import files as store

# 「镇村站点必须配置有监控、货架、电脑、打印机等硬件设备」(001 大冶 四(一)2).
REQUIRED = ("has_cctv", "has_shelves", "has_computer", "has_printer")


class StationLacking(msgspec.Struct):
    """An open station short of the standard: the required items and the sign it lacks."""

    code: str
    name: str
    township: str
    village: str
    missing: list[str]  # names from REQUIRED and "has_signage", in that order
    file_saved: bool  # False: its file was never filled in, so everything reads as missing


class StationStandards(msgspec.Struct):
    on: datetime.date  # today, county-local: the stations open on it are counted
    stations: int
    files_saved: int  # stations whose file was filled in at least once
    equipment: dict[str, int]  # EQUIPMENT name → stations having it
    equipped: int  # stations having all of REQUIRED
    signage: int  # stations with the programme's sign (统一标识)
    front_photos: int  # stations with a shop-front (门头) photo on file
    sign_photos: int  # stations with a photo of the sign
    keepers: dict[str, int]  # KEEPER_FLAGS name and "keeper_female" → stations
    lacking: list[StationLacking]


def _missing(file: store.FileRow) -> list[str]:
    return [name for name in (*REQUIRED, "has_signage") if not getattr(file, name)]


async def county_standards(county_id: uuid.UUID) -> StationStandards:
    today = await service.county_today(county_id)
    rows = [
        row
        for row in await store.roster(county_id)
        if opening.built_on(row.opened_on, row.closed_on, today)
    ]
    files = [row.file for row in rows]
    equipped = sum(1 for file in files if all(getattr(file, name) for name in REQUIRED))
    signage = sum(1 for file in files if file.has_signage)
    keepers = {flag: sum(1 for file in files if getattr(file, flag)) for flag in KEEPER_FLAGS}
    keepers["keeper_female"] = sum(1 for file in files if file.keeper_gender == "female")
    return StationStandards(
        on=today,
        stations=len(rows),
        files_saved=sum(1 for file in files if file.updated_at is not None),
        equipment={name: sum(1 for file in files if getattr(file, name)) for name in EQUIPMENT},
        equipped=equipped,
        signage=signage,
        front_photos=sum(1 for row in rows if row.front_photos),
        sign_photos=sum(1 for row in rows if row.sign_photos),
        keepers=keepers,
        lacking=[
            StationLacking(
                code=row.code,
                name=row.name,
                township=row.township,
                village=row.village,
                missing=missing,
                file_saved=row.file.updated_at is not None,
            )
            for row in rows
            if (missing := _missing(row.file))
        ],
    )
