"""The dashboard's station rows, written in Python (county/dashboard_rows.py), are byte for byte
what the template's Jinja wrote, in every language; and a station's name reaches the page
escaped."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import pytest

from backend.app import template_config
from backend.county import dashboard_rows
from backend.i18n import LANGUAGES
from backend.web.format import Formatter

HTML = {"accept": "text/html"}

# What dashboard.html wrote before the rows were written in Python, kept as the reference.
TEMPLATE_MISSING = (
    '{% for s in missing %}<li><a href="/county/stations/{{ s.id }}">{{ s.code }} {{ s.name }}'
    '</a> <span class="muted">{{ s.township }}</span></li>{% endfor %}'
)
TEMPLATE_ATTENTION = (
    '{% for item in attention %}<tr><td><a href="/county/stations/{{ item.station.id }}">'
    "{{ item.station.code }} {{ item.station.name }}</a></td><td>{{ item.station.township }}"
    '</td><td>{{ item.reasons | join("；" if lang == "zh-CN" else "; ") }}</td>'
    '<td class="num">{{ fmt.count(item.station.on_shelf, "parcels") }}</td></tr>{% endfor %}'
)


@dataclass
class Station:
    id: uuid.UUID
    code: str
    name: str
    township: str
    on_shelf: int | None


NAMES = ["压测站1", "<b>甲</b> & 'q' \"d\"", "ئۆستەڭبويى 3-يېزا", "Ali's shop", "", "12 > 3 < 4"]
TOWNSHIPS = ["城关镇", "ئاقسۇ بازىرى", "A&B <town>", "2-4-3303"]
SHELF = [0, 1, 7, 10, 999, 1000, 12345, 1234567, None]


def stations() -> list[Station]:
    combos = itertools.product(NAMES, TOWNSHIPS, SHELF)
    return [
        Station(uuid.UUID(int=n + 1), f"C{n:03d}<&>", name, township, shelf)
        for n, (name, township, shelf) in enumerate(combos)
    ]


def reasons_for(fmt: Formatter, n: int) -> list[str]:
    every = [
        fmt.t("county_page.attention.no_checkin"),
        fmt.t("county_page.attention.idle", days=14),
        fmt.t("county_page.attention.overdue", n=n),
        "<script>&'\"",
    ]
    return every[: 1 + n % 4]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rows_are_what_the_template_wrote(lang):
    engine = template_config().to_engine().engine
    fmt = Formatter(lang)
    listed = stations()
    attention = [
        {"station": station, "reasons": reasons_for(fmt, n)} for n, station in enumerate(listed)
    ]
    context = {"lang": lang, "fmt": fmt, "missing": listed, "attention": attention}
    chips, rows = dashboard_rows.station_lists(listed, attention, fmt)
    assert "".join(chips) == engine.from_string(TEMPLATE_MISSING).render(context)
    assert "".join(rows) == engine.from_string(TEMPLATE_ATTENTION).render(context)


async def test_a_station_name_with_markup_is_escaped_on_the_dashboard(client, world):
    station = (
        await client.post(
            f"/api/v1/counties/{world.county_id}/stations",
            json={"village_id": str(world.village_id), "name": '<b>新站</b>&"', "code": "X009"},
            headers=world.staff.headers,
        )
    ).json()
    assert "id" in station, station
    text = (await client.get("/county/?lang=zh-CN", headers={**HTML, **world.staff.headers})).text
    chips = text.split('data-list="missing"')[1].split("</ul>")[0]
    chip = (
        f'<li><a href="/county/stations/{station["id"]}">X009 &lt;b&gt;新站&lt;/b&gt;&amp;&#34;</a>'
    )
    assert chip in chips
    attention = text.split('data-table="attention"')[1].split("</table>")[0]
    assert "X009 &lt;b&gt;新站" in attention and "<b>新站" not in text
    assert "0 件" in attention.split("X009")[1].split("</tr>")[0]
