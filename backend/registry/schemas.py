"""What the registry API takes and returns."""

from __future__ import annotations

import datetime
import decimal
import uuid
import zoneinfo
from typing import Annotated

import msgspec

from backend.phones import normalized_mobile
from backend.registry.poverty import PovertyChange
from backend.types import Code, Fen, Mobile, Name, Percent, ShortText

TimeZone = Annotated[str, msgspec.Meta(min_length=3, max_length=64, examples=["Asia/Urumqi"])]
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7, description="ISO weekday, 1 = Monday")]
Hour = Annotated[int, msgspec.Meta(ge=0, le=23)]
Days = Annotated[int, msgspec.Meta(ge=0, le=60)]
GridSize = Annotated[int, msgspec.Meta(ge=1, le=99)]
# Shelf names in shelf order, comma-separated ("A,B,C"); letters, digits and CJK, no control chars.
ShelfNames = Annotated[
    str, msgspec.Meta(max_length=200, pattern=r"^[^\x00-\x1f\u202a-\u202e\u2066-\u2069]*$")
]
OpeningHours = Annotated[
    str, msgspec.Meta(max_length=60, pattern=r"^[^\x00-\x1f\u202a-\u202e\u2066-\u2069]*$")
]
# A township's or village's code in the county's own numbering (统计用区划代码: digits), or "".
PlaceCode = Annotated[str, msgspec.Meta(max_length=16, pattern=r"^[A-Za-z0-9-]*$")]
# 乡级服务站 or 村级服务点; any other text is refused by the service (422 `station_unknown_level`).
STATION_LEVELS = ("township", "village")
StationLevel = Annotated[str, msgspec.Meta(max_length=40, examples=["village", "township"])]
HouseholdCode = Annotated[
    str, msgspec.Meta(min_length=2, max_length=24, pattern=r"^[A-Za-z0-9-]+$")
]


def valid_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


# At most this many failed inspections in a row before the subsidy is withdrawn (0 = no rule).
MAX_FAILURES = 12


class CountySettings(msgspec.Struct, forbid_unknown_fields=True):
    """Everything a county sets for itself; every field optional on update."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    province: ShortText | msgspec.UnsetType = msgspec.UNSET
    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    checkin_reminder_weekday: Weekday | msgspec.UnsetType = msgspec.UNSET
    checkin_reminder_hour: Hour | msgspec.UnsetType = msgspec.UNSET
    parcel_free_days: Days | msgspec.UnsetType = msgspec.UNSET
    parcel_daily_fee_fen: Fen | msgspec.UnsetType = msgspec.UNSET
    parcel_fee_cap_fen: Fen | msgspec.UnsetType = msgspec.UNSET
    parcel_return_days: Days | msgspec.UnsetType = msgspec.UNSET
    target_township_pct: Percent | msgspec.UnsetType = msgspec.UNSET
    target_village_pct: Percent | msgspec.UnsetType = msgspec.UNSET
    target_poor_village_pct: Percent | msgspec.UnsetType = msgspec.UNSET
    subsidy_fen_per_parcel: Fen | msgspec.UnsetType = msgspec.UNSET
    subsidy_farm_only: bool | msgspec.UnsetType = msgspec.UNSET
    subsidy_monthly_cap_fen: Fen | msgspec.UnsetType = msgspec.UNSET
    month_close_day: Annotated[int, msgspec.Meta(ge=1, le=28)] | msgspec.UnsetType = msgspec.UNSET
    subsidy_withdraw_after_failures: (
        Annotated[int, msgspec.Meta(ge=0, le=MAX_FAILURES)] | msgspec.UnsetType
    ) = msgspec.UNSET


class CountyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    code: Code
    timezone: TimeZone = "Asia/Shanghai"
    province: ShortText = ""


class CountyOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    code: str
    province: str
    timezone: str
    checkin_reminder_weekday: int
    checkin_reminder_hour: int
    parcel_free_days: int
    parcel_daily_fee_fen: int
    parcel_fee_cap_fen: int
    parcel_return_days: int
    target_township_pct: int
    target_village_pct: int
    target_poor_village_pct: int
    subsidy_fen_per_parcel: int
    subsidy_farm_only: bool
    subsidy_monthly_cap_fen: int
    month_close_day: int = 5  # submitted and closed by this day of the next month: on time
    # failed inspections in a row that withdraw a household's logistics subsidy; 0 = never
    subsidy_withdraw_after_failures: int = 2


class TownshipCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    code: Annotated[str, msgspec.Meta(max_length=16)] = ""
    poor: bool = False  # 贫困乡镇


class TownshipUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    code: Annotated[str, msgspec.Meta(max_length=16)] | msgspec.UnsetType = msgspec.UNSET
    poor: bool | msgspec.UnsetType = msgspec.UNSET


class TownshipOut(msgspec.Struct):
    id: uuid.UUID
    county_id: uuid.UUID
    name: str
    code: str
    poor: bool = False


class VillageCreate(msgspec.Struct, forbid_unknown_fields=True):
    township_id: uuid.UUID
    name: Name
    poor: bool = False
    code: PlaceCode = ""


class VillageUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    poor: bool | msgspec.UnsetType = msgspec.UNSET
    # The county-local day a changed `poor` holds from (default today): coverage as of a day
    # before it counts the village with its earlier flag.
    poor_from: datetime.date | msgspec.UnsetType | None = msgspec.UNSET


class VillageOut(msgspec.Struct):
    id: uuid.UUID
    county_id: uuid.UUID
    township_id: uuid.UUID
    name: str
    poor: bool
    code: str = ""
    # Its 贫困村 flag's changes, oldest first (answered for one village: PATCH)
    poor_changes: list[PovertyChange] = msgspec.field(default_factory=list)


class StationCreate(msgspec.Struct, forbid_unknown_fields=True):
    village_id: uuid.UUID
    name: Name
    code: Code
    address: ShortText = ""
    level: StationLevel = "village"
    opened_on: datetime.date | None = None  # None: the county's today
    shelves: GridSize = 6
    layers: GridSize = 4
    shelf_names: ShelfNames = ""
    opening_hours: OpeningHours = "8:00-20:00"


class StationUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    address: ShortText | msgspec.UnsetType = msgspec.UNSET
    level: StationLevel | msgspec.UnsetType = msgspec.UNSET
    opened_on: datetime.date | msgspec.UnsetType = msgspec.UNSET
    # Only of a closed station (the day it closed); closing and reopening are their own routes.
    closed_on: datetime.date | msgspec.UnsetType = msgspec.UNSET
    shelves: GridSize | msgspec.UnsetType = msgspec.UNSET
    layers: GridSize | msgspec.UnsetType = msgspec.UNSET
    shelf_names: ShelfNames | msgspec.UnsetType = msgspec.UNSET
    opening_hours: OpeningHours | msgspec.UnsetType = msgspec.UNSET


class StationClose(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    closed_on: datetime.date | None = None  # None: the county's today


class StationOut(msgspec.Struct):
    id: uuid.UUID
    county_id: uuid.UUID
    township_id: uuid.UUID
    village_id: uuid.UUID
    name: str
    code: str
    address: str
    opened_on: datetime.date | None
    closed_at: datetime.datetime | None
    closed_reason: str
    shelves: int
    layers: int
    shelf_names: str = ""
    opening_hours: str = ""
    level: str = "village"  # township (乡级服务站) | village (村级服务点)
    closed_on: datetime.date | None = None  # set while closed: the county-local day it closed


class HouseholdCreate(msgspec.Struct, forbid_unknown_fields=True):
    village_id: uuid.UUID
    code: HouseholdCode
    head_name: Annotated[str, msgspec.Meta(max_length=40)] = ""
    phone: Mobile | None = None
    poverty: bool = False  # not poor unless marked
    sms_opt_out: bool = False

    def __post_init__(self) -> None:
        if self.phone is not None:
            self.phone = normalized_mobile(self.phone)


class HouseholdUpdate(msgspec.Struct, forbid_unknown_fields=True):
    head_name: Annotated[str, msgspec.Meta(max_length=40)] | msgspec.UnsetType = msgspec.UNSET
    phone: Mobile | msgspec.UnsetType | None = msgspec.UNSET
    poverty: bool | msgspec.UnsetType = msgspec.UNSET
    sms_opt_out: bool | msgspec.UnsetType = msgspec.UNSET
    village_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if isinstance(self.phone, str):
            self.phone = normalized_mobile(self.phone)


class FailedBatchOut(msgspec.Struct):
    """A trace batch of the household's produce that failed inspection (溯源)."""

    code: str
    day: datetime.date  # its harvest day, else the county-local day it was recorded


class HouseholdOut(msgspec.Struct):
    id: uuid.UUID
    county_id: uuid.UUID
    village_id: uuid.UUID
    code: str
    head_name: str
    phone: str
    poverty: bool
    sms_opt_out: bool = False
    # Its batches that failed inspection, oldest first (the list and GET the household; [] in
    # the answers of a change)
    failed_batches: list[FailedBatchOut] = msgspec.field(default_factory=list)


class ImportRow(msgspec.Struct, omit_defaults=True):
    """One row of the imported file: what importing it does, or why it cannot be imported."""

    row: int  # as the spreadsheet numbers it (the header is row 1)
    action: str  # create | update | unchanged | error
    subject: str  # the row's household code, else its village code, else its township code
    field: str | None = None  # error rows: the field at fault (township_code … household_poor)
    column: str | None = None  # error rows: that field's column header as the file wrote it
    error: str | None = None  # error rows: a stable code (required, bad_phone, unknown_village…)
    problem: str | None = None  # error rows: what is wrong, in the caller's language


class ImportReport(msgspec.Struct):
    dry_run: bool
    written: bool  # False for a dry run, and for an import with any error row (all or nothing)
    message: str  # what happened, in the caller's language
    totals: dict[str, int]  # rows per action: create, update, unchanged, error
    counts: dict[str, dict[str, int]]  # townships/villages/households: create, update
    rows: list[ImportRow]


# The station file (网点台帐) -------------------------------------------------------------------

_PLAIN_TEXT = r"^[^\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]*$"
FileAddress = Annotated[str, msgspec.Meta(max_length=100, pattern=_PLAIN_TEXT)]
Company = Annotated[str, msgspec.Meta(max_length=60, pattern=_PLAIN_TEXT)]
# Checked by the service: at most 6 decimals, inside China's extent (422 `station_file_location`).
Degrees = Annotated[decimal.Decimal, msgspec.Meta(examples=["30.572815"])]
KEEPER_GENDERS = ("female", "male")
# The station file's checklist (电脑, 打印机, 监控, 货架, 扫码枪, 宽带) and the keeper's attributes
# (脱贫户, 残疾人, 党员): named once for the form, the roster and the store.
EQUIPMENT = (
    "has_computer",
    "has_printer",
    "has_cctv",
    "has_shelves",
    "has_scanner",
    "has_broadband",
)
KEEPER_FLAGS = ("keeper_poor", "keeper_disabled", "keeper_party_member")
PHOTO_KINDS = ("front", "sign")  # 门头, 标识


class StationFileIn(msgspec.Struct, forbid_unknown_fields=True):
    """The whole file, as PUT replaces it: a field left out takes its empty value."""

    address: FileAddress = ""
    company: Company = ""  # 运营主体
    lat: Degrees | None = None  # WGS-84; both or neither
    lng: Degrees | None = None
    has_computer: bool = False  # 电脑
    has_printer: bool = False  # 打印机
    has_cctv: bool = False  # 监控
    has_shelves: bool = False  # 货架
    has_scanner: bool = False  # 扫码枪
    has_broadband: bool = False  # 宽带
    has_signage: bool = False  # 统一标识
    inspected_on: datetime.date | None = None  # not in the future
    keeper_poor: bool = False  # 脱贫户
    keeper_disabled: bool = False  # 残疾人
    keeper_party_member: bool = False  # 党员
    keeper_gender: Annotated[str, msgspec.Meta(max_length=8)] | None = None  # female | male


class StationPhotoOut(msgspec.Struct):
    id: uuid.UUID
    kind: str  # front (门头) | sign (标识)
    width: int
    height: int
    bytes: int
    uploaded_at: datetime.datetime
    url: str  # GET it (county staff): the JPEG


class StationFileOut(msgspec.Struct):
    station_id: uuid.UUID
    address: str
    company: str
    lat: float | None  # 6 decimals at most, as stored
    lng: float | None
    has_computer: bool
    has_printer: bool
    has_cctv: bool
    has_shelves: bool
    has_scanner: bool
    has_broadband: bool
    has_signage: bool
    inspected_on: datetime.date | None
    keeper_poor: bool
    keeper_disabled: bool
    keeper_party_member: bool
    keeper_gender: str | None
    updated_at: datetime.datetime | None  # None: never saved
    photos: list[StationPhotoOut]
