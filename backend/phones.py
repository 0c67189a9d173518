"""One written form of a mainland mobile number: 11 ASCII digits, whatever was typed or pasted.

A trailing newline once made a second account for an existing number. Every phone taken from a
person (login, accounts, households) goes through `normalize_phone` first, so the unique index
on the column is unique on the normal form.
"""

from __future__ import annotations

import re
import unicodedata

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-()（）]+")


def normalize_phone(value: str) -> str:
    """Full-width digits to ASCII, spaces/dashes/brackets out, a +86 / 0086 / 86 prefix off.
    Returns the normal form if it is a mobile number, else the cleaned text (for the caller's
    own "invalid" answer)."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("+86", "0086", "86"):
        if text.startswith(prefix) and _MOBILE.fullmatch(text[len(prefix) :]):
            return text[len(prefix) :]
    return text


def is_mobile(value: str) -> bool:
    return bool(_MOBILE.fullmatch(value)) and value.isascii()


def normalized_mobile(value: str) -> str:
    """The normal form, or ValueError (msgspec reports it as a validation error of the field)."""
    phone = normalize_phone(value)
    if not is_mobile(phone):
        raise ValueError("phone: expected a mainland mobile number of 11 digits")
    return phone
