"""Carriers and their tracking-number formats.

Formats drift over the years, so a number that does not match its carrier's known pattern is
flagged for the keeper to confirm (`tracking_confirmed: true`), not silently refused; only what
cannot be a tracking number at all is rejected.
"""

import re

# Anything a carrier could print on a waybill: 8–30 letters and digits.
ANY_TRACKING_NO = re.compile(r"^[A-Z0-9]{8,30}$")

CARRIER_PATTERNS: dict[str, re.Pattern[str]] = {
    "SF": re.compile(r"^SF[0-9]{13}$"),  # 顺丰
    "ZTO": re.compile(r"^[0-9]{12,15}$"),  # 中通
    "YTO": re.compile(r"^YT[0-9]{13}$"),  # 圆通
    "STO": re.compile(r"^[0-9]{12,15}$"),  # 申通
    "YUNDA": re.compile(r"^[0-9]{13,15}$"),  # 韵达
    "JD": re.compile(r"^JD[A-Z0-9]{11,18}$"),  # 京东
    "EMS": re.compile(r"^([A-Z]{2}[0-9]{9}[A-Z]{2}|[0-9]{13})$"),  # EMS / 中国邮政
    "JT": re.compile(r"^JT[0-9]{13}$"),  # 极兔
    "BEST": re.compile(r"^[0-9]{12,14}$"),  # 百世
    "OTHER": ANY_TRACKING_NO,
}

CARRIERS = tuple(CARRIER_PATTERNS)


def normalize_tracking_no(value: str) -> str:
    """Scanners and thumbs add spaces, dashes and lower case; the waybill means none of them."""
    return re.sub(r"[\s-]", "", value).upper()


def is_possible_tracking_no(value: str) -> bool:
    return bool(ANY_TRACKING_NO.match(value))


def matches_carrier(carrier: str, value: str) -> bool:
    return bool(CARRIER_PATTERNS[carrier].match(value))
