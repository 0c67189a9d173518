"""The dashboard's two lists of stations — those not checked in this week (chips) and those
needing attention (table rows) — written as HTML here, once per station, rather than by Jinja.

A county's dashboard lists every open station up to twice (300 stations: ~700 rows, 80 KB), and
Jinja spent about half of the page's time on the event loop there: ~11 attribute look-ups (most
on dicts, each a caught AttributeError), ~11 escapes and a catalogue look-up per row, while the
phones' pushes waited. Here each row is one f-string of escaped fields, and a count or a reason
list that repeats (most stations have 0 parcels on the shelf and the same reasons) is formatted
once per page. The bytes are those the template wrote (tests/test_county_dashboard_rows.py
renders the same rows the template's way and compares, in every language).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from markupsafe import Markup, escape

from backend.web.format import Formatter


class ListedStation(Protocol):
    id: Any
    code: str
    name: str
    township: str
    on_shelf: int


def _text(value: Any) -> str:
    """`value` escaped as Jinja's autoescape escapes it (markupsafe), the escaping skipped for
    the usual text without any of & < > ' " (most of a page's codes, names and townships)."""
    text = str(value)
    if "&" in text or "<" in text or ">" in text or "'" in text or '"' in text:
        return str(escape(text))
    return text


def station_lists(
    missing: Iterable[ListedStation], attention: Iterable[dict[str, Any]], fmt: Formatter
) -> tuple[list[Markup], list[Markup]]:
    """The `<li>` of each station not checked in this week (its link and its township), and the
    `<tr>` of each station needing attention (its link, township, reasons joined as the language
    writes a list, and its parcels on the shelf). A station in both is escaped once."""
    cells: dict[Any, tuple[str, str]] = {}

    def link_and_township(station: ListedStation) -> tuple[str, str]:
        known = cells.get(station.id)
        if known is None:
            link = (
                f'<a href="/county/stations/{_text(station.id)}">'
                f"{_text(station.code)} {_text(station.name)}</a>"
            )
            known = cells[station.id] = (link, _text(station.township))
        return known

    chips = []
    for station in missing:
        link, township = link_and_township(station)
        html = f'<li>{link} <span class="muted">{township}</span></li>'
        chips.append(Markup(html))  # noqa: S704  (every field escaped: _text)
    separator = _text("；" if fmt.language == "zh-CN" else "; ")
    reasons_html: dict[tuple[str, ...], str] = {}
    shelf_html: dict[int, str] = {}
    rows = []
    for item in attention:
        station = item["station"]
        reasons: Sequence[str] = item["reasons"]
        key = tuple(reasons)
        joined = reasons_html.get(key)
        if joined is None:
            joined = reasons_html[key] = separator.join(map(_text, reasons))
        on_shelf = int(station.on_shelf or 0)
        shelf = shelf_html.get(on_shelf)
        if shelf is None:
            shelf = shelf_html[on_shelf] = _text(fmt.count(on_shelf, "parcels"))
        link, township = link_and_township(station)
        html = (
            f"<tr><td>{link}</td><td>{township}</td><td>{joined}</td>"
            f'<td class="num">{shelf}</td></tr>'
        )
        rows.append(Markup(html))  # noqa: S704  (every field escaped: _text)
    return chips, rows
