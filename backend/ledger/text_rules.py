"""Which characters a text field of an event may hold (API.md "Hardening").

PostgreSQL cannot store NUL in text, so one NUL failed a whole batch there while SQLite kept it;
control characters, lone surrogates and Unicode direction overrides (which make "SF123" display
as something else) have no business in a keeper's entry either. Such an event is `rejected` on
both engines alike; the rest of its batch is judged as usual.
"""

from __future__ import annotations

import re
from typing import Any

# Free text a keeper may break into lines.
MULTILINE_FIELDS = frozenset({"note"})

_FORBIDDEN = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 and C1 controls except tab, LF, CR
    "\u202a-\u202e\u2066-\u2069"  # direction embeddings, overrides and isolates
    "\ud800-\udfff"  # lone surrogates (a str never holds a valid pair)
    "\ufffe\uffff"  # noncharacters; a lone surrogate escape in a sync body arrives as U+FFFF
)
_ANYWHERE = re.compile(f"[{_FORBIDDEN}]")
_SINGLE_LINE = re.compile(f"[{_FORBIDDEN}\t\n\r]")


class TextRuleViolation(ValueError):
    def __init__(self, field: str, character: str) -> None:
        super().__init__(field)
        self.field = field
        self.character = f"U+{ord(character):04X}"


def check_text(field: str, value: str) -> None:
    """Raises TextRuleViolation when `value` holds a character this field may not hold."""
    rule = _ANYWHERE if field in MULTILINE_FIELDS else _SINGLE_LINE
    found = rule.search(value)
    if found:
        raise TextRuleViolation(field, found.group())


def check_text_fields(data: Any, field: str = "") -> None:
    """Every string inside an event's data (nested values carry their top-level field's name)."""
    if not field and type(data) is dict and _flat_and_clean(data):
        return
    if isinstance(data, str):
        check_text(field, data)
    elif isinstance(data, dict):
        for key, value in data.items():
            check_text("key", str(key))
            check_text_fields(value, field or str(key))
    elif isinstance(data, list | tuple):
        for value in data:
            check_text_fields(value, field)


def _flat_and_clean(data: dict[Any, Any]) -> bool:
    """True when `data` holds only strings, numbers, booleans and nulls, and none of its keys and
    strings has a character its field may not hold: most events, found by two searches instead
    of one per string (the rules are sets of characters, so a search of the strings joined finds
    what one of them holds). False sends the data through the walk, which names the field."""
    single: list[str] = []
    multi: list[str] = []
    for key, value in data.items():
        if type(key) is not str:
            return False
        single.append(key)  # keys are checked as single-line text
        kind = type(value)
        if kind is str:
            (multi if key in MULTILINE_FIELDS else single).append(value)
        elif kind not in _SCALARS:
            return False
    if _SINGLE_LINE.search("".join(single)):
        return False
    return not (multi and _ANYWHERE.search("".join(multi)))


_SCALARS = frozenset({int, float, bool, type(None)})

_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_ANY_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def replace_lone_surrogate_escapes(body: bytes) -> bytes:
    r"""A JSON body with `\ud800` and no low half is malformed to the decoder, which would refuse
    the whole sync batch. Replacing each lone surrogate escape by `\uffff` lets the batch be read
    and that one event be rejected by `check_text`."""
    if not _ANY_SURROGATE_ESCAPE.search(body):
        return body  # the usual case: one C-speed search
    pieces: list[bytes] = []
    last = 0
    matches = list(_ESCAPE.finditer(body))
    for index, match in enumerate(matches):
        code = match.group(1)
        if code is None:
            continue
        value = int(code, 16)
        if 0xD800 <= value <= 0xDBFF:
            following = matches[index + 1] if index + 1 < len(matches) else None
            if (
                following is not None
                and following.start() == match.end()
                and following.group(1) is not None
                and 0xDC00 <= int(following.group(1), 16) <= 0xDFFF
            ):
                continue
        elif 0xDC00 <= value <= 0xDFFF:
            previous = matches[index - 1] if index else None
            if (
                previous is not None
                and previous.end() == match.start()
                and previous.group(1) is not None
                and 0xD800 <= int(previous.group(1), 16) <= 0xDBFF
            ):
                continue
        else:
            continue
        pieces.append(body[last : match.start()])
        pieces.append(b"\\uffff")
        last = match.end()
    if not pieces:
        return body
    pieces.append(body[last:])
    return b"".join(pieces)
