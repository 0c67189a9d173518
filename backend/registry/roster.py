"""The county's station roster (网点花名册) as a workbook: every station, open or closed, with its
place, its file, its keeper (name, masked phone) and its photos counted. Values only: a text
that a spreadsheet would take for a formula (a station named "=HYPERLINK(…)") is written as
text, as the county's month workbook does (backend/county/export.py)."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from backend.accounts import store as accounts_store
from backend.i18n import translate
from backend.privacy import mask_phone
from backend.registry import service
from backend.registry.schemas import EQUIPMENT
from backend.registry.store import files as store
from backend.web.xlsx import Style, Styled, Workbook

# A text cell starting with one of these is a formula to Excel, LibreOffice and WPS.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DAY = "yyyy-mm-dd"
DEGREES = "0.000000"
COLUMNS = (
    "township",
    "village",
    "code",
    "name",
    "level",
    "opened_on",
    "closed_on",
    "address",
    "company",
    "lat",
    "lng",
    "keeper_name",
    "keeper_phone",
    "keeper_poor",
    "keeper_disabled",
    "keeper_party_member",
    "keeper_gender",
    *EQUIPMENT,
    "has_signage",
    "inspected_on",
    "front_photos",
    "sign_photos",
)


def _degrees(e6: int | None) -> Decimal | None:
    return None if e6 is None else Decimal(e6) / Decimal(1_000_000)


async def _keepers(county_id: uuid.UUID) -> dict[uuid.UUID, list[accounts_store.UserRow]]:
    """The county's active keepers by station, by name."""
    keepers: dict[uuid.UUID, list[accounts_store.UserRow]] = {}
    for user in await accounts_store.county_users(county_id):
        if user.role == "keeper" and user.active and user.station is not None:
            keepers.setdefault(user.station, []).append(user)
    return keepers


async def roster_rows(county_id: uuid.UUID, language: str) -> list[list[Any]]:
    """The roster's data rows, in COLUMNS order: by township, village and station code."""
    yes, no = translate("roster.yes", language), translate("roster.no", language)

    def flag(value: bool) -> str:
        return yes if value else no

    keepers = await _keepers(county_id)
    rows = []
    for station in await store.roster(county_id):
        file = station.file
        people = keepers.get(file.station_id, [])
        gender = file.keeper_gender and translate(f"roster.gender.{file.keeper_gender}", language)
        rows.append(
            [
                station.township,
                station.village,
                station.code,
                station.name,
                translate(f"roster.level.{station.level}", language),
                station.opened_on,
                station.closed_on if station.closed else None,
                file.address,
                file.company,
                _degrees(file.lat_e6),
                _degrees(file.lng_e6),
                "、".join(person.name for person in people),
                "、".join(mask_phone(person.phone) for person in people),
                flag(file.keeper_poor),
                flag(file.keeper_disabled),
                flag(file.keeper_party_member),
                gender,
                *(flag(getattr(file, item)) for item in EQUIPMENT),
                flag(file.has_signage),
                file.inspected_on,
                station.front_photos,
                station.sign_photos,
            ]
        )
    return rows


HEADER = Style(bold=True, fill="00E8F5E9", horizontal="center", vertical="center", wrap=True)


def _cell(value: Any, style: Style = Style()) -> Any:
    if value == "" or value is None:
        return None  # an empty cell, not an empty text
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return Styled(value, style._replace(quote_prefix=True))  # text, never a formula
    if isinstance(value, datetime.date):
        return Styled(value, style._replace(number_format=DAY))
    if isinstance(value, Decimal):
        return Styled(value, style._replace(number_format=DEGREES))
    return Styled(value, style) if style != Style() else value


def _width(values: list[Any]) -> int:
    """Enough for the widest value, CJK counted double, between 6 and 40."""
    width = max(sum(2 if ord(c) > 0x2E80 else 1 for c in str(v or "")) for v in values)
    return min(max(width + 2, 6), 40)


def build_workbook(title: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    """Through the month workbook's writer (backend/web/xlsx.py): one way to write a cell, and
    what XML cannot hold escaped as Excel reads it (the API refuses such characters today)."""
    book = Workbook(creator="村站通", title=title)
    widths = [_width([header, *(row[i] for row in rows)]) for i, header in enumerate(headers)]
    with book.sheet(title[:31], widths, frozen_rows=1, frozen_columns=4) as sheet:
        sheet.append([_cell(text, HEADER) for text in headers])
        for row in rows:
            sheet.append([_cell(value) for value in row])
    return book.finish()


async def workbook(county_id: uuid.UUID, language: str) -> tuple[bytes, str]:
    """The workbook and its file name (the county's name, 网点花名册, the county's today)."""
    county = await service.get_county(county_id)
    today = await service.county_today(county_id)
    headers = [translate(f"roster.column.{name}", language) for name in COLUMNS]
    rows = await roster_rows(county_id, language)
    title = translate("roster.title", language)
    data = await asyncio.to_thread(build_workbook, title, headers, rows)
    return data, f"{county.name}-{title}-{today.isoformat()}.xlsx"


def content_disposition(filename: str) -> str:
    """An ASCII fallback and the real (Chinese) name per RFC 5987/6266."""
    fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "-._" else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
