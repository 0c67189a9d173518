"""Carriers, their tracking-number formats and the normalisation of what a scanner or thumb typed.

The rules are data, written once in `pwa/data/rules.json`: the server reads them here and the PWA
fetches the same file (`pwa/js/carriers.js`); `tests/browser/test_rules_parity.py` runs both on the
same generated cases. Formats drift over the years, so a number that does not match its carrier's
known pattern is flagged for the keeper to confirm (`tracking_confirmed: true`), not silently
refused; only what cannot be a tracking number at all is rejected.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

RULES_PATH = Path(__file__).resolve().parents[2] / "pwa" / "data" / "rules.json"
RULES: dict = json.loads(RULES_PATH.read_text(encoding="utf-8"))

# Anything a carrier could print on a waybill: 8–30 letters and digits.
ANY_TRACKING_NO = re.compile(RULES["tracking"]["any"])
_DROP = re.compile(RULES["tracking"]["drop"])
_PACKAGE_SUFFIX = re.compile(RULES["tracking"]["package_suffix"])

CARRIER_PATTERNS: dict[str, re.Pattern[str]] = {
    c["code"]: re.compile(c["pattern"]) for c in RULES["carriers"]
}
_PREFIXES = [(c["prefix"], c["code"]) for c in RULES["carriers"] if c.get("prefix")]
CARRIERS = tuple(CARRIER_PATTERNS)

PHONE_FULL = re.compile(RULES["phone"]["full"])
PHONE_MASKED = re.compile(RULES["phone"]["masked"])
PHONE_LAST4 = re.compile(RULES["phone"]["last4"])


@dataclass(frozen=True)
class Scanned:
    tracking_no: str
    package: str | None  # "n/m" for the n-th of m packages of one JD order, else None


def parse_tracking_no(value: str) -> Scanned:
    """Trim and upper-case; a JD package suffix `-n-m-` becomes `package` "n/m"; then spaces and
    dashes (what scanners and thumbs add; the waybill means none of them) are dropped."""
    text = value.strip().upper()
    match = _PACKAGE_SUFFIX.match(text)
    if match and int(match.group(2)) <= int(match.group(3)):
        return Scanned(match.group(1), f"{int(match.group(2))}/{int(match.group(3))}")
    return Scanned(_DROP.sub("", text), None)


def normalize_tracking_no(value: str) -> str:
    return parse_tracking_no(value).tracking_no


def is_possible_tracking_no(value: str) -> bool:
    return bool(ANY_TRACKING_NO.match(value))


def matches_carrier(carrier: str, value: str) -> bool:
    return bool(CARRIER_PATTERNS[carrier].match(value))


def guess_carrier(number: str, remembered: str | None = None) -> str | None:
    """The carrier a (normalised) number points to, afresh for every scan: its prefix (SF, YT, JT,
    JD) or the EMS shape first; then the remembered carrier if the number fits it; then the first
    carrier whose format it fits. When the number says nothing (no format but OTHER fits), the
    remembered carrier stays."""
    for prefix, code in _PREFIXES:
        if number.startswith(prefix) and CARRIER_PATTERNS[code].match(number):
            return code
    if (
        remembered in CARRIER_PATTERNS
        and remembered != "OTHER"
        and CARRIER_PATTERNS[remembered].match(number)
    ):
        return remembered
    for code, pattern in CARRIER_PATTERNS.items():
        if code != "OTHER" and pattern.match(number):
            return code
    return remembered


def phone_form(value: str) -> str | None:
    """What a `recipient_phone` holds: "full", "masked" (a privacy label) or "last4"; else None."""
    if PHONE_FULL.match(value):
        return "full"
    if PHONE_MASKED.match(value):
        return "masked"
    if PHONE_LAST4.match(value):
        return "last4"
    return None
