"""The staff pages' forms kit: fields described once, a submitted form read as a schema's input,
and a refusal (msgspec's or a service's DomainError) shown again as a message next to its field."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from backend.errors import DomainError, problem_document, refuse_together, validation_detail
from backend.numbers import Unreadable, read_decimal, read_yuan
from backend.web.format import Formatter


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str = "text"  # text | tel | password | date | checkbox | select | a NUMBER_BOXES kind
    options: str = ""  # which choice list a select offers: townships | villages | stations | ...
    required: bool = False
    label: str = ""  # the label's catalog key when not "field.<name>"


@dataclass
class FormState:
    """What a form shows: the values typed (kept on error), and an error per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""  # an error that belongs to no field

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message)


def form_values(form: Any, fields: list[FormField]) -> dict[str, Any]:
    """A submitted form as the schema's input: checkboxes as booleans, empty optionals left out."""
    values: dict[str, Any] = {}
    for spec in fields:
        raw = form.get(spec.name)
        if spec.kind == "checkbox":
            values[spec.name] = raw in ("on", "1", "true")
            continue
        text = str(raw).strip() if raw is not None else ""
        if text == "" and not spec.required:
            continue
        values[spec.name] = text
    return values


@dataclass(frozen=True)
class NumberBox:
    """A kind of number box: how it reads what was typed, what a box that is not one is told,
    and the value the schema takes."""

    read: Callable[[str], Decimal]
    refusal: str
    stored: Callable[[Decimal], int | float | str]


# A whole number is stored as typed, 元 as integer fen ("¥12.5" and "12.5元" too), a decimal box
# (2.5 斤) as a float, degrees of latitude or longitude exactly, as text.
NUMBER_BOXES = {
    "number": NumberBox(lambda text: read_decimal(text, 0), "whole_number_format", int),
    "yuan": NumberBox(read_yuan, "yuan_format", lambda yuan: int(yuan * 100)),
    "decimal": NumberBox(lambda text: read_decimal(text, 3), "decimal_format", float),
    "degrees": NumberBox(lambda text: read_decimal(text, 6), "degrees_format", "{:f}".format),
}


def struct_input(values: dict[str, Any], fields: list[FormField]) -> dict[str, Any]:
    """The typed values as the schema takes them, every number box read as backend/numbers.py
    reads a number. Boxes that are not a number of their kind are refused here, all at once, each
    named (the form came back with one, and the next only after that one was mended)."""
    converted = dict(values)
    refused: list[DomainError] = []
    for spec in fields:
        value = values.get(spec.name)
        box = NUMBER_BOXES.get(spec.kind)
        if box is None or not isinstance(value, str):
            continue
        try:
            converted[spec.name] = box.stored(box.read(value))
        except Unreadable as refusal:
            refused.append(refusal.problem(spec.name, value, box.refusal))
    refuse_together(refused)
    return converted


# msgspec names the field as `$.phone` or "field `phone`"; a check in a schema's __post_init__
# (backend/phones.py) as "phone: …", which left the message with an empty name, above the form.
_MSGSPEC_FIELD = (
    re.compile(r"\$\.(\w+)"),
    re.compile(r"field `(\w+)`"),
    re.compile(r"^(\w+): "),
)


def validation_field(message: str) -> str:
    for pattern in _MSGSPEC_FIELD:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return ""


def error_state(exc: Exception, values: dict[str, Any], language: str) -> FormState:
    """A refusal as a form to show again: the message under the field it concerns."""
    state = FormState(values=_shown_values(values))
    if isinstance(exc, msgspec.ValidationError):
        name = validation_field(str(exc))
        detail, limit = validation_detail(str(exc))
        if name and values.get(name) == "":
            detail, limit = "invalid_input_required", {}  # a required box sent empty
        elif "fen" in name.split("_"):
            # An amount's box is typed in 元: its limit too ("100,000.00 元", not 10000000).
            yuan = Formatter(language).yuan
            limit = {key: yuan(int(float(value))) for key, value in limit.items()}
        document = problem_document(
            "invalid_input", 422, language, field=name or None, detail=detail, **limit
        )
    elif isinstance(exc, DomainError):
        for refusal in (exc, *exc.also):
            _show(state, refusal.field or "", refusal.problem(language)["detail"])
        return state
    else:
        raise exc
    _show(state, name, document["detail"])
    return state


def _show(state: FormState, field: str, detail: str) -> None:
    if field:
        state.errors.setdefault(field, detail)
    else:
        state.message = detail


def _shown_values(values: dict[str, Any]) -> dict[str, Any]:
    """Typed input is kept, except passwords."""
    return {name: value for name, value in values.items() if "password" not in name}


def to_struct(values: dict[str, Any], schema: type, fields: list[FormField] | None = None) -> Any:
    """The typed values as the schema, the number boxes among `fields` read first."""
    return msgspec.convert(struct_input(values, fields or []), schema, strict=False)
