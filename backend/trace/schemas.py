"""What the trace API takes and gives (msgspec: validated at the edge, typed in the schema)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec

# One line of text without control characters (a tab or a newline would break the label).
_PLAIN = r"^[^\x00-\x1f\x7f]*$"
Product = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=_PLAIN)]
Brand = Annotated[str, msgspec.Meta(max_length=40, pattern=_PLAIN)]
HouseholdCode = Annotated[str, msgspec.Meta(min_length=1, max_length=24, pattern=_PLAIN)]
Choice = Annotated[str, msgspec.Meta(max_length=16)]
Quantity = Annotated[float, msgspec.Meta(gt=0, le=1_000_000)]


class TraceBatchCreate(msgspec.Struct, forbid_unknown_fields=True):
    product: Product
    village_id: uuid.UUID | None = None
    household_code: HouseholdCode | None = None
    station_id: uuid.UUID | None = None
    harvested_on: datetime.date | None = None
    quantity: Quantity | None = None  # a JSON number; up to three decimals
    unit: Choice | None = None  # kg | jin | box | piece | item (or 公斤 斤 箱 件 个)
    inspection: Choice | None = None  # passed | failed; absent = not inspected
    brand: Brand = ""
    certification: Choice | None = None  # pollution_free | green | organic | geo_indication


class TraceBatchCreated(msgspec.Struct):
    id: uuid.UUID
    code: str
    url: str


class MonthScansOut(msgspec.Struct):
    month: str  # YYYY-MM, a month of the county's calendar
    scans: int


class TraceBatchOut(msgspec.Struct):
    id: uuid.UUID
    code: str
    url: str
    product: str
    village_id: uuid.UUID | None
    village_name: str
    household_code: str
    station_id: uuid.UUID | None
    station_name: str
    harvested_on: datetime.date | None
    quantity: float | None
    unit: str
    inspection: str
    brand: str
    certification: str
    scans: int  # every counted scan so far
    scans_this_year: int  # 1 January of the county's year through its today
    scans_by_month: list[MonthScansOut]  # the last 12 months through the county's, oldest first
    created_at: datetime.datetime
