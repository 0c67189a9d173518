"""A session's sign-in sheet (签到表): an xlsx (or csv) with a Chinese header row — 姓名, and
optionally 户编码 and 站点 — read by the registry's list-file reader (registry/list_file.py), each
row checked as the session's form checks a typed trainee. A dry run reports every row; the import
records the session with all the rows, or nothing when any row is wrong.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError
from backend.registry import list_file
from backend.training import service
from backend.training.store import NewTrainee

# field → the sheet's header first, then the synonyms accepted (compared as the list file's are).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "学员姓名", "学员", "name"),
    "household_code": ("户编码", "户码", "户编号", "户号", "household_code"),
    "station_code": ("站点", "站点编码", "站点编号", "服务站", "station_code"),
}


@dataclass
class SheetRow:
    row: int  # as the spreadsheet numbers it (the header is row 1)
    name: str
    household_code: str
    station_code: str
    poor: bool = False
    problem: str = ""  # why the row cannot be recorded, in the reader's language; "" when it can


@dataclass
class SheetReport:
    rows: list[SheetRow]
    errors: int  # rows with a problem


def _trainee(row: SheetRow) -> service.TraineeInput:
    return service.TraineeInput(
        row.name, row.household_code or None, False, row.station_code or None
    )


async def read_sheet(county_id: uuid.UUID, body: bytes, language: str) -> SheetReport:
    """Every row of the sheet checked against the county's households and stations."""
    if len(body) > list_file.MAX_BYTES:
        raise list_file.too_large()
    table = list_file.read_table(body, COLUMNS, "name")
    if not 1 <= len(table.rows) <= service.TRAINEES_MAX:
        raise DomainError("training_trainees_count", field="trainees", max=service.TRAINEES_MAX)
    rows = [
        SheetRow(number, v.get("name", ""), v.get("household_code", ""), v.get("station_code", ""))
        for number, v in table.rows
    ]
    checked = await service.check_trainees(county_id, [(row.row, _trainee(row)) for row in rows])
    for row, result in zip(rows, checked, strict=True):
        if isinstance(result, NewTrainee):
            row.poor = result.poor
        else:
            row.problem = result.problem(language)["detail"]
    return SheetReport(rows, sum(1 for row in rows if row.problem))


async def import_sheet(
    county_id: uuid.UUID,
    author: CurrentUser | None,
    session: service.SessionInput,
    report: SheetReport,
) -> uuid.UUID | None:
    """Record the session with the sheet's rows as its trainees; None (nothing written) when any
    row has a problem."""
    if report.errors:
        return None
    trainees = [_trainee(row) for row in report.rows]
    return await service.record_session(county_id, author, replace(session, trainees=trainees))
