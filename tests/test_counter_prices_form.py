"""The county's 代发 price table on its settings page (/county/registry/county): carriers ×
weight bands, fees typed in 元 (a decimal comma too), checked by check_prices; a refused grid is
shown again as typed with a message in the page's language and changes nothing."""

from __future__ import annotations

import json
import re

from backend.i18n import translate
from backend.registry.tables import County
from tests.test_county_pages import CSRF_FIELD, HTML, html_as, page_login

PAGE = "/county/registry/county"


def cell(text: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', text)
    assert match, name
    return match.group(1)


async def stored_prices(world) -> dict:
    county = await County.select(County.dispatch_prices).where(County.id == world.county_id).first()
    return json.loads(county["dispatch_prices"] or "{}")


async def test_county_price_table_saved_in_yuan_then_a_bad_grid_refused(client, world):
    await page_login(client, world.staff.phone)
    page = await client.get(PAGE, headers=HTML)
    assert page.status_code == 200
    # The built-in bands are offered while the county has no table of its own.
    assert cell(page.text, "band_0") == "1" and cell(page.text, "band_4") == "30"
    assert 'name="fee_SF_0" id="f-fee_SF_0"' in page.text and 'placeholder="18.00"' in page.text
    token = CSRF_FIELD.search(page.text).group(1)
    form = {
        "_csrf_token": token,
        "band_0": "1",
        "band_1": "3",
        "band_2": "5",
        "fee_SF_0": "16",
        "fee_SF_1": "22,5",  # a decimal comma, as a Uyghur or Chinese keyboard gives
        "fee_SF_2": "30.00",
        "fee_ZTO_0": "8.5",
        "fee_ZTO_2": "15",
    }
    saved = await client.post(f"{PAGE}/prices", data=form, headers=HTML)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].startswith(f"{PAGE}?saved=prices")
    # ZTO's 3 kg cell was left empty: the built-in fee (the grey one) stays in its table.
    table = {
        "SF": [[1000, 1600], [3000, 2250], [5000, 3000]],
        "ZTO": [[1000, 850], [3000, 1500], [5000, 1500]],
    }
    assert await stored_prices(world) == table

    # The stations' table follows the county's (the built-in one for the others).
    answer = await client.get(
        f"/api/v1/stations/{world.station_a}/prices", headers=world.keeper_a.headers
    )
    assert answer.json()["prices"]["SF"] == table["SF"] and answer.json()["county"] == table
    # "base" (what a station's own prices override): the county's table over the built-in one.
    assert answer.json()["base"]["ZTO"] == table["ZTO"] and answer.json()["base"]["YTO"]

    again = await client.get(f"{PAGE}?saved=prices", headers=HTML)
    assert cell(again.text, "fee_SF_1") == "22.50" and cell(again.text, "fee_ZTO_1") == "15.00"
    assert cell(again.text, "fee_YTO_0") == ""  # a carrier left empty follows the built-in table
    assert translate("county_page.prices.saved", "zh-CN") in again.text

    # Not an amount: refused with the cell marked, the typed grid kept, nothing changed.
    bad = await client.post(f"{PAGE}/prices", data={**form, "fee_ZTO_0": "8块5"}, headers=HTML)
    assert bad.status_code == 200
    assert 'data-error-for="fee_ZTO_0"' in bad.text
    assert cell(bad.text, "fee_ZTO_0") == "8块5" and cell(bad.text, "fee_SF_1") == "22,5"
    assert translate("problem.price_fee_format", "zh-CN") in bad.text
    # The message names the cell (at 360 px the red cell may be out of the table's view).
    said = bad.text.split("data-prices-error>")[1].split("</p>")[0]
    assert "中通，第 1 档（元）：" in said
    assert await stored_prices(world) == table

    # Bands that do not rise: check_prices refuses, in the page's language (Uyghur here).
    falling = await client.post(
        f"{PAGE}/prices?lang=ug", data={**form, "band_1": "0.5"}, headers=HTML
    )
    assert falling.status_code == 200
    assert translate("problem.price_bands_invalid", "ug") in falling.text
    assert cell(falling.text, "band_1") == "0.5"
    assert await stored_prices(world) == table

    # Emptying every fee goes back to the built-in table.
    empty = {"_csrf_token": token, "band_0": "1"}
    assert (await client.post(f"{PAGE}/prices", data=empty, headers=HTML)).status_code == 303
    assert await stored_prices(world) == {}


async def test_price_form_needs_staff_and_the_csrf_token(client, world):
    await page_login(client, world.staff.phone)
    missing = await client.post(f"{PAGE}/prices", data={"fee_SF_0": "1"}, headers=HTML)
    assert missing.status_code in (401, 403)
    keeper = await client.get(PAGE, headers=html_as(world.keeper_a))
    assert keeper.status_code in (302, 303, 401, 403)
    assert await stored_prices(world) == {}


async def test_price_form_renders_in_every_language(client, world):
    for lang in ("zh-CN", "en", "ug"):
        page = await client.get(f"{PAGE}?lang={lang}", headers=html_as(world.staff))
        assert page.status_code == 200
        assert translate("county_page.prices.title", lang) in page.text
        assert translate("county_page.carrier.SF", lang) in page.text
        assert "county_page." not in page.text
        assert 'name="fee_SF_0"' in page.text and 'dir="ltr"' in page.text
