"""Formatting for the staff pages: numbers with units (件, 元, %), county-local dates and moments,
masked phones; and bidi isolation, so that numbers, dates and codes keep their order inside a
right-to-left (Uyghur) page."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from markupsafe import Markup

from backend import clock, db
from backend.i18n import translate
from backend.privacy import mask_phone


def ltr(text: str) -> str:
    """A left-to-right isolate (138****5678 would read 5678****138 in a Uyghur page)."""
    return f"\u2066{text}\u2069" if text else text


def fen_as_yuan(fen: int) -> str:
    """Fen as the yuan a form shows and takes back (12.50)."""
    whole, cents = divmod(int(fen), 100)
    return f"{whole}.{cents:02d}"


class Formatter:
    """Numbers with units (件, 元, %) and county-local dates, in the page's language."""

    def __init__(self, language: str, timezone: zoneinfo.ZoneInfo | None = None):
        self.language = language
        self.timezone = timezone or zoneinfo.ZoneInfo("Asia/Shanghai")

    def t(self, key: str, **params: Any) -> str:
        return translate(key, self.language, **params)

    def yuan(self, fen: int | None) -> str:
        fen = int(fen or 0)
        sign = "-" if fen < 0 else ""
        whole, cents = divmod(abs(fen), 100)
        return self.t("county_page.unit.yuan", n=f"{sign}{whole:,}.{cents:02d}")

    def yuan_number(self, fen: int | None) -> str:
        fen = int(fen or 0)
        sign = "-" if fen < 0 else ""
        whole, cents = divmod(abs(fen), 100)
        return f"{sign}{whole:,}.{cents:02d}"

    def count(self, n: int | None, unit: str = "entries") -> str:
        return self.t(f"county_page.unit.{unit}", n=f"{int(n or 0):,}")

    def pct(self, value: float | None) -> str:
        if value is None:
            return "—"
        return f"{value:g}%"

    def rate(self, share: float | None) -> str:
        """A share (0.923) as a rate with one decimal (92.3%, and 50.0%): in a column of rates
        `pct`'s shortest form mixed 92% with 92.3%."""
        return "—" if share is None else f"{share * 100:.1f}%"

    def date(self, day: datetime.date | None) -> Markup:
        # Isolated left-to-right, as `moment`: inside Uyghur text a date must not be reordered.
        return Markup('<bdi dir="ltr">{}</bdi>').format(day.isoformat()) if day else Markup("—")

    def moment(self, value: datetime.datetime | None) -> Markup:
        """A UTC moment in the county's local time, to the minute."""
        if value is None:
            return Markup("—")
        text = db.as_moment(value).astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")
        # Isolated left-to-right: in a Uyghur page the date and the time would swap places.
        return Markup('<bdi dir="ltr">{}</bdi>').format(text)

    def phone(self, number: str | None) -> str:
        return mask_phone(number)

    def carrier(self, code: str) -> str:
        """A carrier's name in the page's language (顺丰 for SF); a code no catalog names, as is."""
        key = f"delivery.carrier.{code}"
        name = self.t(key)
        return code if name == key else name

    def utc_offset(self) -> Markup:
        """The county's clock as its offset from UTC (UTC+8): the same in every language, where
        the zone's id (Asia/Shanghai) is English and means little to a reader."""
        offset = clock.utcnow().astimezone(self.timezone).utcoffset() or datetime.timedelta()
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        hours, rest = divmod(abs(minutes), 60)
        text = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
        return Markup('<bdi dir="ltr">{}</bdi>').format(text)

    def month(self, day: datetime.date) -> str:
        """A month as addresses and choices carry it: 2026-12."""
        return day.strftime("%Y-%m")

    def month_name(self, month: datetime.date | str) -> str:
        """A month as a title says it, as the keeper's phone does: 2026年12月, 2026-يىلى 12-ئاي,
        December 2026 (a code, "2026-12 月", read as a code inside a sentence)."""
        year, number = str(month)[:7].split("-")
        name = self.t(f"county_page.month.{int(number)}")
        return self.t("county_page.month_name", year=year, month=int(number), name=name)
