"""The sync protocol's shapes and the data of every event type (money in fen, weights in grams)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, Literal

import msgspec

from backend.types import MOBILE_PATTERN

MAX_FEN = 10_000_000  # ¥100,000 for one entry: more is a typo at a village station
MAX_BATCH_EVENTS = 500

Fen = Annotated[int, msgspec.Meta(ge=0, le=MAX_FEN, description="金额，单位：分（整数）")]
Phone = Annotated[str, msgspec.Meta(pattern=MOBILE_PATTERN)]
# What a waybill shows: a full number, a privacy label (138****5678, any number of *) or the last
# four digits; the last four digits are always visible (backend/ledger/carriers.py `phone_form`).
RECIPIENT_PHONE_PATTERN = r"^(1[3-9][0-9]{9}|[0-9]{0,3}\*+[0-9]{4}|[0-9]{4})$"
RecipientPhone = Annotated[
    str,
    msgspec.Meta(max_length=20, pattern=RECIPIENT_PHONE_PATTERN, description="手机号/隐私面单"),
]
# The n-th of m packages of one JD order ("1/3"), from the waybill's -n-m- suffix.
Package = Annotated[str, msgspec.Meta(max_length=7, pattern=r"^[1-9][0-9]{0,2}/[1-9][0-9]{0,2}$")]
TrackingNo = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Text40 = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
HouseholdCode = Annotated[str, msgspec.Meta(min_length=2, max_length=24)]
# A product of the county's catalogue, and a trace batch's code (as printed or typed from a label).
ProductCode = Annotated[str, msgspec.Meta(min_length=1, max_length=24, pattern=r"^[0-9A-Za-z-]+$")]
BatchCode = Annotated[str, msgspec.Meta(min_length=3, max_length=40, pattern=r"^[0-9A-Za-z-]+$")]
PickupCode = Annotated[
    str, msgspec.Meta(min_length=1, max_length=16, pattern=r"^[0-9A-Za-z]+(-[0-9A-Za-z]+){0,3}$")
]
Carrier = Literal["SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "EMS", "JT", "BEST", "OTHER"]
Platform = Literal[
    "taobao", "tmall", "jd", "pinduoduo", "youle", "douyin", "kuaishou", "wechat", "other"
]
Service = Literal[
    "phone_topup", "electricity", "water", "broadband", "ticket", "cash_withdrawal", "other"
]


class EventData(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every event's data: unknown fields are refused, not ignored."""


class ParcelReceived(EventData):
    tracking_no: TrackingNo
    carrier: Carrier
    recipient_phone: RecipientPhone
    recipient_name: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    pickup_code: PickupCode | None = None
    tracking_confirmed: bool | None = None
    package: Package | None = None


class ParcelPickedUp(EventData):
    tracking_no: TrackingNo
    pickup_code: PickupCode
    fee_fen: Fen | None = None  # storage fee for a parcel kept past the free days
    package: Package | None = None


class ParcelReturned(EventData):
    tracking_no: TrackingNo
    reason: Reason
    package: Package | None = None


class ParcelMoved(EventData):
    """The keeper put a parcel on another slot (it did not fit, the shelf was re-arranged)."""

    parcel_id: uuid.UUID  # the parcel.received event
    pickup_code: PickupCode  # the new code, written on the parcel


class ParcelDispatched(EventData):
    tracking_no: TrackingNo
    carrier: Carrier
    weight_g: Annotated[int, msgspec.Meta(ge=1, le=200_000, description="重量，单位：克")]
    fee_fen: Fen
    destination: Text100
    farm_product: bool
    household_code: HouseholdCode | None = None
    tracking_confirmed: bool | None = None
    package: Package | None = None


class PurchaseOrdered(EventData):
    platform: Platform
    item: Text100
    amount_fen: Fen
    commission_fen: Fen
    customer_phone: Phone | None = None
    household_code: HouseholdCode | None = None


class PurchaseDelivered(EventData):
    purchase_id: uuid.UUID


class SaleRecorded(EventData):
    product: Text40
    quantity: Annotated[float, msgspec.Meta(gt=0, le=1_000_000)]
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=10)]
    amount_fen: Fen
    commission_fen: Fen
    channel: Text40
    household_code: HouseholdCode | None = None
    product_code: ProductCode | None = None  # the catalogue's product (its category counts)
    batch_code: BatchCode | None = None  # the trace batch sold from (its QR scanned)


class ServiceRecorded(EventData):
    service: Service
    amount_fen: Fen
    fee_fen: Fen
    account: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None


class CheckinRecorded(EventData):
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class CashCounted(EventData):
    """日结: the keeper's count of the till at the end of a day (the day the event counts for)."""

    counted_fen: Fen
    note: Annotated[str, msgspec.Meta(max_length=200)] | None = None


# The kinds of a training session (training's KINDS: 电商普及, 创业, 站长, 直播带货, other).
TrainingKind = Literal[
    "ecommerce_basics", "entrepreneurship", "station_keeper", "livestream", "other"
]
TRAINEES_MAX = 200  # a village session's sign-in list


class AttendedTrainee(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Text40
    household_code: HouseholdCode | None = None


class TrainingAttended(EventData):
    """A training session the keeper held at the station (村级培训) and who attended; the county's
    training figures count it as a session in the station's township on its business day."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    kind: TrainingKind
    trainees: Annotated[list[AttendedTrainee], msgspec.Meta(min_length=1, max_length=TRAINEES_MAX)]


class EntryReversed(EventData):
    target_id: uuid.UUID
    reason: Reason


EVENT_TYPES: dict[str, type[EventData]] = {
    "parcel.received": ParcelReceived,
    "parcel.picked_up": ParcelPickedUp,
    "parcel.returned": ParcelReturned,
    "parcel.moved": ParcelMoved,
    "parcel.dispatched": ParcelDispatched,
    "purchase.ordered": PurchaseOrdered,
    "purchase.delivered": PurchaseDelivered,
    "sale.recorded": SaleRecorded,
    "service.recorded": ServiceRecorded,
    "checkin.recorded": CheckinRecorded,
    "cash.counted": CashCounted,
    "training.attended": TrainingAttended,
    "entry.reversed": EntryReversed,
}

# Personal data inside event data, masked wherever events are shown to anyone but the keeper's
# own parcel lookup.
PHONE_FIELDS = ("recipient_phone", "customer_phone")
ACCOUNT_FIELDS = ("account",)


# Sync ----------------------------------------------------------------------------------------


class SyncEvent(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    """One event of a batch as the phone made it; `type` names its kind and `data`'s shape."""

    id: uuid.UUID
    occurred_at: Annotated[datetime.datetime, msgspec.Meta(tz=True)]


def _sync_event_kind(event_type: str, data_type: type[EventData]) -> type[SyncEvent]:
    # defstruct's stub returns type[Struct] whatever the bases; this one is a SyncEvent.
    return msgspec.defstruct(  # type: ignore[return-value]
        f"{data_type.__name__}Event",
        [("data", data_type)],
        bases=(SyncEvent,),
        tag=event_type,
        forbid_unknown_fields=True,
    )


SYNC_EVENT_KINDS = tuple(_sync_event_kind(kind, data) for kind, data in EVENT_TYPES.items())


def _inlined(schema: Any, components: dict[str, Any]) -> Any:
    """`schema` with every `$ref` replaced by the component it names (none of them recurse)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inlined(components[schema["$ref"].rsplit("/", 1)[1]], components)
        return {key: _inlined(value, components) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inlined(value, components) for value in schema]
    return schema


def _sync_events_schema() -> dict[str, Any]:
    """The JSON Schema of a batch's events, one alternative per kind: for the OpenAPI document
    only. The server decodes the list untyped and judges each event alone (a bad event is
    `rejected` in its result, never the batch), so this describes without deciding."""
    refs, components = msgspec.json.schema_components(SYNC_EVENT_KINDS)
    return {"oneOf": [_inlined(ref, components) for ref in refs]}


EVENTS_DESCRIPTION = "at most 500 events"


class SyncRequest(msgspec.Struct, forbid_unknown_fields=True):
    device_id: uuid.UUID
    events: Annotated[
        list[Any],
        msgspec.Meta(
            description=EVENTS_DESCRIPTION,
            extra_json_schema={
                "description": EVENTS_DESCRIPTION,
                "extra": {"items": _sync_events_schema()},
            },
        ),
    ]


class SyncResult(msgspec.Struct, omit_defaults=True):
    id: str | None
    status: Literal["accepted", "duplicate", "conflict", "rejected"]
    error: dict[str, Any] | None = None
    seq: int | None = None
    pickup_code: str | None = None
    pickup_code_changed: bool | None = None
    warnings: list[str] | None = None


class SyncResponse(msgspec.Struct):
    results: list[SyncResult]
    cursor: str


class PulledEvent(msgspec.Struct):
    id: uuid.UUID
    seq: int
    type: str
    occurred_at: datetime.datetime
    received_at: datetime.datetime
    business_date: datetime.date
    device_id: uuid.UUID
    keeper_id: uuid.UUID
    data: dict[str, Any]
    server: dict[str, Any]
    reversed_by: uuid.UUID | None = None


class PullResponse(msgspec.Struct):
    events: list[PulledEvent]
    cursor: str
    more: bool


# Reading -------------------------------------------------------------------------------------


class ParcelOut(msgspec.Struct):
    id: uuid.UUID
    tracking_no: str
    package: str | None  # "1/3": the first of three packages of one JD number; null otherwise
    carrier: str
    recipient_phone: str
    recipient_phone_form: str  # full | masked | last4: only a full number can get a pickup notice
    recipient_name: str
    pickup_code: str
    state: str
    received_at: datetime.datetime
    days_on_shelf: int
    fee_due_fen: int
    overdue: bool
    closed_at: datetime.datetime | None = None
    return_reason: str = ""
    # The pickup SMS: sent | pending | failed | none (no full number, opted out, no provider).
    notice: str = "none"
    notices_sent: int = 0  # SMS sent about this parcel (the notice and reminders)


class RecipientSuggestion(msgspec.Struct):
    phone: str | None  # the one full number known for this tail and name, else null
    source: str | None  # household | parcel


class PurchaseOut(msgspec.Struct):
    id: uuid.UUID
    platform: str
    item: str
    amount_fen: int
    commission_fen: int
    customer_phone: str
    household_code: str
    state: str
    ordered_at: datetime.datetime
    delivered_at: datetime.datetime | None = None


class CashbookLine(msgspec.Struct):
    kind: str
    count: int
    amount_fen: int
    fee_fen: int


class CashCount(msgspec.Struct):
    """日结: what the till should hold by the day's entries, what the keeper counted, the gap."""

    expected_fen: int
    counted_fen: int | None  # null until the keeper counts that day
    difference_fen: int | None  # counted_fen - expected_fen


class Cashbook(msgspec.Struct):
    station_id: uuid.UUID
    date: datetime.date
    kinds: list[CashbookLine]
    total_amount_fen: int
    total_fee_fen: int
    cash: CashCount


class ParcelRule(msgspec.Struct):
    free_days: int
    daily_fee_fen: int
    fee_cap_fen: int
    return_days: int


class StationSummary(msgspec.Struct):
    """What the keeper's home screen shows, in one call."""

    station_id: uuid.UUID
    station_name: str
    station_code: str
    county_name: str
    timezone: str
    today: datetime.date
    week_start: datetime.date
    checked_in_this_week: bool
    last_checkin_at: datetime.datetime | None
    parcels_on_shelf: int
    parcels_overdue: int
    parcel_rule: ParcelRule
    cashbook: Cashbook


class VerifyReport(msgspec.Struct):
    stations: int
    events: int
    broken: list[dict[str, Any]]
