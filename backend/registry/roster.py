"""The county's station roster (网点花名册) as a workbook: every station, open or closed, with its
place, its file, its keeper (name, masked phone) and its photos counted. Values only: a text
that a spreadsheet would take for a formula (a station named "=HYPERLINK(…)") is written as
text, as the county's month workbook does (backend/county/export.py)."""

from __future__ import annotations

import asyncio
import datetime
import io
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from backend.accounts import store as accounts_store
from backend.i18n import translate
from backend.privacy import mask_phone
from backend.registry import service
from backend.registry.schemas import EQUIPMENT
from backend.registry.store import files as store

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


def _cell(sheet, row: int, column: int, value: Any):
    if value == "":
        value = None  # an empty cell, not an empty text
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, datetime.date):
        cell.number_format = DAY
    elif isinstance(value, Decimal):
        cell.number_format = DEGREES
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def build_workbook(title: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    for column, text in enumerate(headers, start=1):
        cell = _cell(sheet, 1, column, text)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8F5E9")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for offset, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            _cell(sheet, offset, column, value)
    sheet.freeze_panes = "E2"
    for index, header in enumerate(headers, start=1):
        values = [header, *(row[index - 1] for row in rows)]
        width = max(sum(2 if ord(c) > 0x2E80 else 1 for c in str(v or "")) for v in values)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 6), 40)
    workbook.properties.creator = "村站通"
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


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
