"""Bulk import of a county's list (建档立卡): townships, villages and households from one table.

One row of the table (xlsx or csv, Chinese headers, see `COLUMNS`) may name a township, a village
and a household. A township or village is defined by a row that gives its code and name, and
referred to by a row that gives its code only (it must then be defined earlier in the file or
exist in the county already). Rows are matched to what the county has by code, so importing the
same file twice changes nothing the second time.

This module plans: `list_file.read_table` turns bytes into rows, `plan` compares
them with the county's registry (`Existing`) and says, row by row, what would be created, updated,
left unchanged, or why the row is wrong. The service writes the plan (all or nothing).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
import uuid
from dataclasses import dataclass, replace
from typing import Any

from backend.phones import is_mobile, normalize_phone
from backend.registry.list_file import Table

_YES = {"是", "1", "y", "yes", "true", "t", "√"}
_NO = {"否", "0", "n", "no", "false", "f", ""}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_PLACE_CODE = re.compile(r"[A-Za-z0-9-]{1,16}")
_HOUSEHOLD_CODE = re.compile(r"[A-Za-z0-9-]{2,24}")


# What the county has ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A township (township_id None) or a village as the plan sees it."""

    id: uuid.UUID
    code: str
    name: str
    township_id: uuid.UUID | None = None
    poor: bool = False


@dataclass(frozen=True)
class Home:
    id: uuid.UUID
    code: str
    village_id: uuid.UUID
    head_name: str
    phone: str
    poverty: bool


@dataclass
class Existing:
    townships: list[Place]
    villages: list[Place]
    households: list[Home]


@dataclass
class RowReport:
    row: int
    action: str  # create | update | unchanged | error
    subject: str  # the household's code, else the village's, else the township's
    field: str | None = None
    error: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Plan:
    rows: list[RowReport]
    new_townships: dict[uuid.UUID, Place]
    changed_townships: dict[uuid.UUID, Place]
    new_villages: dict[uuid.UUID, Place]
    changed_villages: dict[uuid.UUID, Place]
    new_households: dict[uuid.UUID, Home]
    changed_households: dict[uuid.UUID, Home]

    def totals(self) -> dict[str, int]:
        totals = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            totals[row.action] += 1
        return totals

    def counts(self) -> dict[str, dict[str, int]]:
        """How many of each kind the import creates and updates."""
        return {
            "townships": {
                "create": len(self.new_townships),
                "update": len(self.changed_townships),
            },
            "villages": {"create": len(self.new_villages), "update": len(self.changed_villages)},
            "households": {
                "create": len(self.new_households),
                "update": len(self.changed_households),
            },
        }


class RowError(Exception):
    def __init__(self, error: str, field: str, **params: Any) -> None:
        super().__init__(error)
        self.error = error
        self.field = field
        self.params = params


# Checking a row's cells ------------------------------------------------------------------------


def _text(values: dict[str, str], key: str, max_length: int) -> str:
    text = unicodedata.normalize("NFC", values.get(key, "").strip())
    if _CONTROL.search(text):
        raise RowError("control_characters", key)
    if len(text) > max_length:
        raise RowError("too_long", key, max=max_length)
    return text


def _code(values: dict[str, str], key: str, pattern: re.Pattern[str], max_length: int) -> str:
    text = unicodedata.normalize("NFKC", values.get(key, "")).strip()
    if not text:
        return ""
    if _CONTROL.search(text):
        raise RowError("control_characters", key)
    if len(text) > max_length:
        raise RowError("too_long", key, max=max_length)
    if not pattern.fullmatch(text):
        raise RowError("bad_code", key)
    return text.upper()


def _flag(values: dict[str, str], key: str) -> bool:
    text = unicodedata.normalize("NFKC", values.get(key, "")).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise RowError("bad_flag", key)


def _phone(values: dict[str, str]) -> str:
    text = values.get("phone", "").strip()
    if not text:
        return ""
    if _CONTROL.search(text):
        raise RowError("control_characters", "phone")
    phone = normalize_phone(text)
    if not is_mobile(phone):
        raise RowError("bad_phone", "phone")
    return phone


@dataclass(frozen=True)
class Cells:
    township_code: str
    township_name: str
    township_poor: bool
    village_code: str
    village_name: str
    village_poor: bool
    household_code: str
    head_name: str
    phone: str
    household_poor: bool


def _cells(values: dict[str, str]) -> Cells:
    return Cells(
        township_code=_code(values, "township_code", _PLACE_CODE, 16),
        township_name=_text(values, "township_name", 80),
        township_poor=_flag(values, "township_poor"),
        village_code=_code(values, "village_code", _PLACE_CODE, 16),
        village_name=_text(values, "village_name", 80),
        village_poor=_flag(values, "village_poor"),
        household_code=_code(values, "household_code", _HOUSEHOLD_CODE, 24),
        head_name=_text(values, "head_name", 40),
        phone=_phone(values),
        household_poor=_flag(values, "household_poor"),
    )


# Planning --------------------------------------------------------------------------------------


class _State:
    """The county's registry as it would be after the rows accepted so far."""

    def __init__(self, existing: Existing) -> None:
        self.township_by_code = {t.code: t for t in existing.townships if t.code}
        self.township_by_name = {t.name: t for t in existing.townships}
        self.village_by_code = {v.code: v for v in existing.villages if v.code}
        self.village_by_name = {(v.township_id, v.name): v for v in existing.villages}
        self.household_by_code = {h.code: h for h in existing.households}
        self.new_townships: dict[uuid.UUID, Place] = {}
        self.changed_townships: dict[uuid.UUID, Place] = {}
        self.new_villages: dict[uuid.UUID, Place] = {}
        self.changed_villages: dict[uuid.UUID, Place] = {}
        self.new_households: dict[uuid.UUID, Home] = {}
        self.changed_households: dict[uuid.UUID, Home] = {}
        # Where the file defined a township or village (code → row, definition), a household.
        self.township_rows: dict[str, tuple[int, Place]] = {}
        self.village_rows: dict[str, tuple[int, Place]] = {}
        self.household_rows: dict[str, int] = {}

    def put_township(self, old: Place | None, new: Place) -> None:
        if old is not None:
            self.township_by_name.pop(old.name, None)
            self.township_by_code.pop(old.code, None)
        self.township_by_name[new.name] = new
        self.township_by_code[new.code] = new
        target = self.new_townships if new.id in self.new_townships or old is None else None
        (target if target is not None else self.changed_townships)[new.id] = new

    def put_village(self, old: Place | None, new: Place) -> None:
        if old is not None:
            self.village_by_name.pop((old.township_id, old.name), None)
            self.village_by_code.pop(old.code, None)
        self.village_by_name[(new.township_id, new.name)] = new
        self.village_by_code[new.code] = new
        target = self.new_villages if new.id in self.new_villages or old is None else None
        (target if target is not None else self.changed_villages)[new.id] = new

    def put_household(self, old: Home | None, new: Home) -> None:
        self.household_by_code[new.code] = new
        if new.id in self.new_households or old is None:
            self.new_households[new.id] = new
        else:
            self.changed_households[new.id] = new


def _township(state: _State, cells: Cells, poor_given: bool) -> tuple[Place | None, str, Any]:
    """The row's township, what defining it does, and the change to make once the row is good.
    Its 贫困乡镇 flag is the file's when the file has that column, else it stays as it is."""
    code, name = cells.township_code, cells.township_name
    if not code:
        if name:
            raise RowError("required", "township_code")
        return None, "unchanged", None
    current = state.township_by_code.get(code)
    if not name:
        if current is None:
            raise RowError("unknown_township", "township_code", code=code)
        return current, "unchanged", None
    poor = cells.township_poor if poor_given else (current.poor if current else False)
    defined = state.township_rows.get(code)
    if defined is not None and (defined[1].name != name or defined[1].poor != poor):
        raise RowError("conflicts_with_row", "township_name", other=defined[0])
    if current is None:
        # A township already kept without a code takes the file's code.
        named = state.township_by_name.get(name)
        if named is not None and named.code:
            raise RowError("name_taken", "township_name", code=named.code)
        if named is not None:
            return replace(named, code=code, poor=poor), "update", named
        return Place(id=uuid.uuid4(), code=code, name=name, poor=poor), "create", None
    if current.name == name and current.poor == poor:
        return current, "unchanged", None
    named = state.township_by_name.get(name)
    if named is not None and named.id != current.id:
        raise RowError("name_taken", "township_name", code=named.code)
    return replace(current, name=name, poor=poor), "update", current


def _village(
    state: _State, cells: Cells, township: Place | None, poor_given: bool
) -> tuple[Place | None, str, Any]:
    code, name = cells.village_code, cells.village_name
    if not code:
        if name:
            raise RowError("required", "village_code")
        if cells.household_code:
            raise RowError("required", "village_code")
        return None, "unchanged", None
    current = state.village_by_code.get(code)
    if not name:
        if current is None:
            raise RowError("unknown_village", "village_code", code=code)
        if township is not None and current.township_id != township.id:
            raise RowError("village_in_other_township", "township_code", code=code)
        return current, "unchanged", None
    if township is None:
        if current is None:
            raise RowError("required", "township_code")
        township_id = current.township_id
    else:
        township_id = township.id
    poor = cells.village_poor if poor_given else (current.poor if current else False)
    defined = state.village_rows.get(code)
    if defined is not None and (
        defined[1].name != name or defined[1].township_id != township_id or defined[1].poor != poor
    ):
        raise RowError("conflicts_with_row", "village_name", other=defined[0])
    if current is None:
        named = state.village_by_name.get((township_id, name))
        if named is not None and named.code:
            raise RowError("name_taken", "village_name", code=named.code)
        if named is not None:  # kept without a code: it takes the file's
            return replace(named, code=code, poor=poor), "update", named
        place = Place(id=uuid.uuid4(), code=code, name=name, township_id=township_id, poor=poor)
        return place, "create", None
    if current.township_id != township_id:
        raise RowError("village_in_other_township", "township_code", code=code)
    if current.name == name and current.poor == poor:
        return current, "unchanged", None
    named = state.village_by_name.get((township_id, name))
    if named is not None and named.id != current.id:
        raise RowError("name_taken", "village_name", code=named.code)
    return replace(current, name=name, poor=poor), "update", current


def _household(
    state: _State, cells: Cells, village: Place | None, columns: dict[str, str]
) -> tuple[Home | None, str, Any]:
    code = cells.household_code
    if not code:
        for key in ("head_name", "phone"):
            if getattr(cells, key):
                raise RowError("required", "household_code")
        return None, "unchanged", None
    if not cells.head_name:
        raise RowError("required", "head_name")
    assert village is not None  # _village refused a household without a village code
    earlier = state.household_rows.get(code)
    if earlier is not None:
        raise RowError("duplicate_household", "household_code", other=earlier)
    current = state.household_by_code.get(code)
    phone = cells.phone if "phone" in columns else (current.phone if current else "")
    poverty = (
        cells.household_poor
        if "household_poor" in columns
        else (current.poverty if current else False)
    )
    if current is None:
        home = Home(uuid.uuid4(), code, village.id, cells.head_name, phone, poverty)
        return home, "create", None
    wanted = Home(current.id, code, village.id, cells.head_name, phone, poverty)
    if wanted == current:
        return current, "unchanged", None
    return wanted, "update", current


def _subject(cells: Cells | None, values: dict[str, str]) -> str:
    if cells is not None:
        return cells.household_code or cells.village_code or cells.township_code
    for key in ("household_code", "village_code", "township_code"):
        if values.get(key, "").strip():
            return values[key].strip()[:24]
    return ""


def plan(table: Table, existing: Existing) -> Plan:
    state = _State(existing)
    reports: list[RowReport] = []
    poor_given = "village_poor" in table.columns
    township_poor_given = "township_poor" in table.columns
    for number, values in table.rows:
        cells: Cells | None = None
        try:
            cells = _cells(values)
            township, t_action, t_old = _township(state, cells, township_poor_given)
            village, v_action, v_old = _village(state, cells, township, poor_given)
            home, h_action, h_old = _household(state, cells, village, table.columns)
        except RowError as problem:
            reports.append(
                RowReport(
                    number,
                    "error",
                    _subject(cells, values),
                    field=problem.field,
                    error=problem.error,
                    params=problem.params,
                )
            )
            continue
        actions = {t_action, v_action, h_action}
        if township is not None and t_action != "unchanged":
            state.put_township(t_old, township)
        if township is not None and cells.township_name:
            state.township_rows.setdefault(cells.township_code, (number, township))
        if village is not None and v_action != "unchanged":
            state.put_village(v_old, village)
        if village is not None and cells.village_name:
            state.village_rows.setdefault(cells.village_code, (number, village))
        if home is not None:
            state.household_rows[home.code] = number
            if h_action != "unchanged":
                state.put_household(h_old, home)
        action = next(a for a in ("create", "update", "unchanged") if a in actions)
        reports.append(RowReport(number, action, _subject(cells, values)))
    return Plan(
        rows=reports,
        new_townships=state.new_townships,
        changed_townships=state.changed_townships,
        new_villages=state.new_villages,
        changed_villages=state.changed_villages,
        new_households=state.new_households,
        changed_households=state.changed_households,
    )
