"""A number as a person types it, read one way everywhere: the county's forms here and the
keeper's phone (pwa/js/util.js `readDecimal`; tests/browser/test_rules_parity.py holds the two
together on the same generated cases).

Full-width digits (a Chinese IME) are digits; a comma is a decimal separator ("12,5": a Uyghur
keyboard, or a Chinese IME's "，"). What could be a thousands separator is refused, never guessed:
"1,250" (1250, or 1.25?), "12.500" in a box of two decimals, "1,250,000", "1,250.5". Read as a
decimal, "12,000" 培训人次 was saved as 12 and "1,250" 万元 of a baseline as 1.25.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from backend.errors import DomainError

# Full-width digits, point and minus to ASCII, and the ideographic full stop a Chinese keyboard
# types for "." ("12。5"); the full-width, Arabic (Uyghur) comma and the Arabic decimal separator
# to a comma. Only ASCII digits are digits then, as in JavaScript's
# `\d` (Python's `\d` takes any script's digits).
_ASCII = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)} | {
    0xFF0E: ord("."),
    0x3002: ord("."),
    0xFF0D: ord("-"),
    0x2212: ord("-"),
    0xFF0C: ord(","),
    0x060C: ord(","),
    0x066B: ord(","),
}
_SHAPE = re.compile(r"([0-9]*)(?:([.,])([0-9]*))?")
_GROUP = re.compile(r"[1-9][0-9]{0,2}")  # what stands before a thousands separator
WHOLE_DIGITS = 12


class Unreadable(ValueError):
    """Not a number of the box's kind: `ambiguous` (a thousands separator, perhaps) or `format`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def problem(self, field: str, typed: str, code: str, **params: Any) -> DomainError:
        """The box's refusal: an ambiguous number is told why ("1,250": 1250 or 1.25?), any
        other the box's own message (`code`)."""
        if self.reason == "ambiguous":
            return DomainError("number_ambiguous", field=field, value=str(typed).strip())
        return DomainError(code, field=field, **params)


def read_decimal(text: str, places: int, *, signed: bool = False) -> Decimal:
    """The typed text as a number of at most `places` decimals; Unreadable otherwise."""
    cleaned = re.sub(r"\s", "", str(text).translate(_ASCII))
    negative = signed and cleaned.startswith("-")
    if negative:
        cleaned = cleaned[1:]
    if len(re.sub(r"[0-9]", "", cleaned)) > 1 and re.fullmatch(r"[0-9.,]+", cleaned):
        raise Unreadable("ambiguous")  # 1,250,000 or 1,250.50: grouped thousands
    match = _SHAPE.fullmatch(cleaned)
    if match is None or not re.search(r"[0-9]", cleaned):
        raise Unreadable("format")
    whole, separator, fraction = match.group(1), match.group(2), match.group(3) or ""
    # "1,250" and, where a box takes at most two decimals, "1.250": a thousands separator?
    grouped = separator and len(fraction) == 3 and _GROUP.fullmatch(whole)
    if grouped and (separator == "," or places < 3):
        raise Unreadable("ambiguous")
    if len(fraction) > places or len(whole) > WHOLE_DIGITS:
        raise Unreadable("format")
    number = Decimal(f"{whole or '0'}.{fraction or '0'}")
    return -number if negative and number else number


# 元 as written on a receipt: "¥12.5", "12.5元" (a sign before, the unit after, nothing between).
_CURRENCY = re.compile(r"^\s*[¥￥]|元\s*$")


def read_yuan(text: str, *, signed: bool = False) -> Decimal:
    """An amount in 元 as typed, to the fen (two decimals)."""
    return read_decimal(_CURRENCY.sub("", str(text)), 2, signed=signed)


def read_whole(text: str) -> int:
    """A whole number as typed (a count, a day, an hour)."""
    return int(read_decimal(text, 0))
