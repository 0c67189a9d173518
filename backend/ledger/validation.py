"""Checking one incoming event without the database: its envelope, its data, its clock.

Produces either a `Candidate` (normalized data, canonical JSON and content hash) or a `Rejection`
with a stable code, the field at fault and the parameters of its localized message.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from backend.ledger.carriers import (
    is_possible_tracking_no,
    matches_carrier,
    parse_tracking_no,
)
from backend.ledger.schemas import EVENT_TYPES, EventData
from backend.ledger.text_rules import TextRuleViolation, check_text_fields
from backend.trace.service import normalize_code as normalize_batch_code

UTC = datetime.UTC
EARLIEST = datetime.datetime(2015, 1, 1, tzinfo=UTC)  # before the programme's stations existed
LATEST_AHEAD = datetime.timedelta(days=400)  # a phone clock a year wrong is still data
# An entry cannot have happened later than it reached the server: a phone whose clock runs ahead
# has its entries counted on the day the server received them.
CLOCK_TOLERANCE = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class Rejection(Exception):
    code: str
    field: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Candidate:
    id: uuid.UUID
    type: str
    occurred_at: datetime.datetime
    data: dict[str, Any]
    data_json: str
    content_hash: str
    id_text: str  # str(id)
    occurred_text: str  # utc_iso(occurred_at), as the content hash covers it (the chain too)
    warnings: list[str] = field(default_factory=list)


_SORTED_JSON = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> str:
    """The text the content and chain hashes cover: `json.dumps(ensure_ascii=False,
    sort_keys=True, separators=(",", ":"))`, byte for byte, so every logged hash still verifies.

    msgspec writes the same text four times faster for dicts, lists, strings, integers, booleans,
    null and floats written without an exponent (keys sorted by code point either way); other
    floats (msgspec writes 1e16 where json writes 1e+16), anything else, and text it cannot
    encode (lone surrogates) go through json."""
    if _plain(value):
        try:
            return _SORTED_JSON.encode(value).decode()
        except UnicodeEncodeError:
            pass
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> bool:
    """Only values both encoders write alike: str-keyed dicts, lists, str, int, bool, None, and
    floats that `repr` writes without an exponent (0, and 1e-4 ≤ |x| < 1e16: a sale's 12.5 jin;
    both write the shortest text that reads back the same float)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list:
        return all(_plain(item) for item in value)
    if kind is float:
        return value == 0.0 or 1e-4 <= abs(value) < 1e16
    return kind is str or kind is int or kind is bool or value is None


def utc_iso(moment: datetime.datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def content_hash(event_type: str, occurred_at: datetime.datetime, data_json: str) -> str:
    return _content_hash(event_type, utc_iso(occurred_at), data_json)


def _content_hash(event_type: str, occurred_text: str, data_json: str) -> str:
    material = f"{event_type}\n{occurred_text}\n{data_json}"
    return hashlib.sha256(material.encode()).hexdigest()


def _event_id(value: Any) -> tuple[uuid.UUID, str]:
    """The event's id and its text as `str()` writes it. msgspec reads the usual forms (36
    characters with hyphens, or 32 hex digits) at twice uuid.UUID's speed; anything else it
    refuses goes to uuid.UUID, which also takes braces, a urn: prefix or stray hyphens."""
    text = str(value)
    try:
        event_id = msgspec.convert(text, uuid.UUID)
    except msgspec.ValidationError:
        event_id = uuid.UUID(text)  # ValueError: not an id
        return event_id, str(event_id)
    # msgspec's 36-character form has its hyphens where str() writes them.
    return event_id, text.lower() if len(text) == 36 else str(event_id)


_MSGSPEC_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Object contains unknown field `(?P<f>[^`]+)`"), "unknown_field"),
    (re.compile(r"^Object missing required field `(?P<f>[^`]+)`"), "missing_field"),
    (re.compile(r"^Expected `int`, got `float`"), "not_integer"),
    (re.compile(r"^Expected `(int|float)`, got `str`"), "not_a_number"),
    (re.compile(r"^Expected `int` [<>]=?"), "out_of_range"),
    (re.compile(r"^Expected `float` [<>]=?"), "out_of_range"),
    (re.compile(r"^Integer value out of range"), "out_of_range"),
    (re.compile(r"^Expected `str` of length"), "bad_length"),
    (re.compile(r"^Expected `str` matching regex"), "invalid_format"),
    (re.compile(r"^Invalid enum value"), "invalid_choice"),
]
_AT_FIELD = re.compile(r"at `\$\.(?P<f>[A-Za-z_]+)")
# Fields whose format errors have their own, clearer message.
_FORMAT_CODES = {
    "recipient_phone": "invalid_phone",
    "customer_phone": "invalid_phone",
    "pickup_code": "invalid_pickup_code",
}


def rejection_from_msgspec(error: msgspec.ValidationError) -> Rejection:
    message = str(error)
    at = _AT_FIELD.search(message)
    field_name = at.group("f") if at else None
    for pattern, code in _MSGSPEC_PATTERNS:
        match = pattern.search(message)
        if match:
            if "f" in match.groupdict():
                field_name = match.group("f")
            if code == "invalid_format" and field_name in _FORMAT_CODES:
                code = _FORMAT_CODES[field_name]
            if code == "not_integer" and field_name and field_name.endswith("_fen"):
                code = "money_not_fen"
            return Rejection(code, field_name)
    return Rejection("invalid_value", field_name)


def _parse_occurred_at(
    value: str, received_at: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime]:
    """The phone's moment as written, and the same moment in UTC (compared with the server's
    UTC times without converting again, and written into the hashes)."""
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise Rejection("invalid_time", "occurred_at") from None
    if moment.tzinfo is None:
        raise Rejection("time_without_zone", "occurred_at")
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+08:00: before any time a datetime holds in UTC
        raise Rejection("time_out_of_range", "occurred_at") from None
    if in_utc < EARLIEST or in_utc > received_at + LATEST_AHEAD:
        raise Rejection("time_out_of_range", "occurred_at")
    return moment, in_utc


def _check_tracking(data: dict[str, Any], carrier_required: bool) -> None:
    scanned = parse_tracking_no(data["tracking_no"])
    number = scanned.tracking_no
    if not is_possible_tracking_no(number):
        raise Rejection("invalid_tracking_no", "tracking_no")
    data["tracking_no"] = number
    if scanned.package:
        # The suffix typed into the number and a `package` sent beside it must agree.
        if data.get("package", scanned.package) != scanned.package:
            raise Rejection("package_mismatch", "package")
        data["package"] = scanned.package
    if "package" in data:
        index, count = (int(part) for part in data["package"].split("/"))
        if index > count:
            raise Rejection("invalid_package", "package")
    if carrier_required and not data.get("tracking_confirmed"):
        carrier = data["carrier"]
        if not matches_carrier(carrier, number):
            raise Rejection("tracking_no_unusual", "tracking_no", {"carrier": carrier})


def _check_sale(data: dict[str, Any]) -> None:
    if data["commission_fen"] > data["amount_fen"]:
        raise Rejection("commission_exceeds_amount", "commission_fen")
    if "product_code" in data:
        data["product_code"] = data["product_code"].upper()
    if "batch_code" in data:
        code = normalize_batch_code(data["batch_code"])  # typed: any case, I/L as 1, O as 0
        if code is None:
            raise Rejection("invalid_format", "batch_code")
        data["batch_code"] = code


def _check_trainees(trainees: list[dict[str, Any]]) -> None:
    """A village session's trainees: names trimmed and given, household codes in upper case."""
    for trainee in trainees:
        trainee["name"] = trainee["name"].strip()
        if not trainee["name"]:
            raise Rejection("missing_field", "trainees")
        if "household_code" in trainee:
            trainee["household_code"] = trainee["household_code"].strip().upper()


def _normalize(event_type: str, data: dict[str, Any]) -> None:
    """Type-specific checks beyond the schema; normalizes `data` in place."""
    if event_type in ("parcel.received", "parcel.dispatched"):
        _check_tracking(data, carrier_required=True)
    elif event_type in ("parcel.picked_up", "parcel.returned"):
        _check_tracking(data, carrier_required=False)
    if "pickup_code" in data:
        data["pickup_code"] = data["pickup_code"].upper()
    if "household_code" in data:
        data["household_code"] = data["household_code"].strip().upper()
    if event_type == "sale.recorded":
        _check_sale(data)
    if event_type == "training.attended":
        _check_trainees(data["trainees"])
    if event_type == "checkin.recorded" and ("lat" in data) != ("lng" in data):
        raise Rejection("location_incomplete", "lat" if "lat" not in data else "lng")
    for key in ("recipient_name", "item", "product", "channel", "destination", "reason", "note",
                "title"):  # fmt: skip
        if key in data and isinstance(data[key], str):
            data[key] = data[key].strip()
            if not data[key] and key not in ("recipient_name", "note"):
                raise Rejection("missing_field", key)


def check_event(raw: Any, received_at: datetime.datetime) -> Candidate:
    """Validate one event of a sync batch; raises `Rejection`."""
    if not isinstance(raw, dict):
        raise Rejection("invalid_event")
    unknown = set(raw) - {"id", "type", "occurred_at", "data"}
    if unknown:
        raise Rejection("unknown_field", sorted(unknown)[0])
    try:
        event_id, id_text = _event_id(raw.get("id"))
    except ValueError:
        raise Rejection("invalid_id", "id") from None
    event_type = raw.get("type")
    data_type: type[EventData] | None = EVENT_TYPES.get(event_type)  # type: ignore[arg-type]
    # Every known type is a str; the isinstance only tells the type checker so.
    if data_type is None or not isinstance(event_type, str):
        raise Rejection("unknown_event_type", "type", {"type": str(event_type)[:40]})
    if not isinstance(raw.get("occurred_at"), str):
        raise Rejection("missing_field", "occurred_at")
    occurred_at, occurred_utc = _parse_occurred_at(raw["occurred_at"], received_at)
    if not isinstance(raw.get("data"), dict):
        raise Rejection("missing_field", "data")
    try:
        parsed = msgspec.convert(raw["data"], data_type, strict=True)
    except msgspec.ValidationError as error:
        raise rejection_from_msgspec(error) from None
    data = {k: v for k, v in msgspec.to_builtins(parsed).items() if v is not None}
    _normalize(event_type, data)
    check_event_text(data)
    data_json = canonical_json(data)
    occurred_text = occurred_utc.isoformat(timespec="microseconds")  # utc_iso(occurred_at)
    candidate = Candidate(
        id=event_id,
        type=event_type,
        occurred_at=occurred_at,
        data=data,
        data_json=data_json,
        content_hash=_content_hash(event_type, occurred_text, data_json),
        id_text=id_text,
        occurred_text=occurred_text,
    )
    if occurred_utc > received_at + CLOCK_TOLERANCE:
        candidate.warnings.append("clock_ahead")
    return candidate


def business_moment(occurred_at: datetime.datetime, received_at: datetime.datetime):
    """When the entry counts: the phone's time, unless that lies after the server received it."""
    return received_at if occurred_at > received_at + CLOCK_TOLERANCE else occurred_at


def check_event_text(data: Any) -> None:
    """`check_text_fields` as the ledger's validation needs it: a `Rejection` of that event."""
    try:
        check_text_fields(data)
    except TextRuleViolation as bad:
        raise Rejection("invalid_text", bad.field, {"character": bad.character}) from None
