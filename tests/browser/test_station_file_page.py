"""The station file's section on the registry's station screen (issue #14), in a real browser, in
zh-CN and Uyghur: filled in through its form, a photo uploaded through its form and shown, no
untranslated key, Uyghur right-to-left with the numbers kept left-to-right; screenshots
docs/screenshots/county-{lang}-station-file.png when CUNZHAN_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import io
import os

import httpx
import pytest
from PIL import Image

from tests.browser.conftest import PASSWORD, SCREENSHOTS
from tests.browser.helpers import visible_keys
from tests.browser.test_county_pages import DESKTOP, FULL_PHONE, keeper_station, log_in
from tests.server_process import Server, environment, run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def file_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("station-file-server")
    env = environment(data_dir, f"sqlite:///{data_dir}/file.db")
    run(env, "migrate", "--quiet")
    run(env, "demo", timeout=300)
    server = Server(env)
    server.start()
    yield server
    server.stop()


def shop_front(path) -> None:
    """A 2400 × 1800 photo: a green shop front under a white sign board."""
    image = Image.new("RGB", (2400, 1800), (7, 193, 96))
    image.paste((250, 250, 250), (300, 150, 2100, 600))
    image.paste((120, 80, 40), (900, 900, 1500, 1800))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("lang", ["zh-CN", "ug"])
async def test_station_file_section(browser, file_server, tmp_path, lang):
    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    base = file_server.url
    station_id = keeper_station(base, "13800000003")
    context = await browser.new_context(viewport=DESKTOP, locale=lang)
    page = await context.new_page()
    await log_in(page, base, lang)
    await page.goto(f"{base}/county/registry/stations/{station_id}")
    assert await page.locator("#station-file").count() == 1

    await page.fill(
        "#sf-address", "红星村村委会东侧 8 号" if lang == "zh-CN" else "قىزىل يۇلتۇز كەنتى 8-نومۇر"
    )
    await page.fill("#sf-company", "县邮政分公司" if lang == "zh-CN" else "ناھىيە پوچتا شۆبىسى")
    await page.fill("#sf-lat", "25.153617")
    await page.fill("#sf-lng", "103.546823")
    # The demo filled the file in: every box is set as inspected, 4 of the 6 items on.
    wanted = {"has_computer", "has_printer", "has_cctv", "has_shelves", "has_signage"}
    for name in (*wanted, "has_scanner", "has_broadband"):
        await page.set_checked(f"form[data-form=station-file] [name={name}]", name in wanted)
    await page.fill("#sf-inspected_on", "2026-11-18")
    await page.check("form[data-form=station-file] [name=keeper_poor]")
    await page.check("form[data-form=station-file] [name=keeper_party_member]")
    await page.select_option("form[data-form=station-file] [name=keeper_gender]", "female")
    async with page.expect_navigation():
        await page.click("form[data-form=station-file] button[type=submit]")
    assert await page.locator("p.ok").count() == 1
    assert await page.input_value("#sf-lat") == "25.153617"

    photo = tmp_path / "front.jpg"
    shop_front(photo)
    await page.set_input_files("#sp-file", str(photo))
    async with page.expect_navigation():
        await page.click("form[data-form=station-photo] button[type=submit]")
    image = page.locator("[data-list=photos] img").first
    await image.wait_for()
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 1600

    assert await page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ug" else "ltr")
    assert await visible_keys(page) == []
    text = await page.evaluate("document.body.innerText")
    assert not FULL_PHONE.findall(text)
    summary = await page.inner_text("[data-file=summary]")
    size = await page.inner_text("[data-list=photos] li p")
    if lang == "ug":
        # Numbers inside Uyghur text are isolated left-to-right (U+2066 … U+2069).
        assert "\u20664/6\u2069" in summary, summary
        assert "\u20661600 × 1200\u2069" in size, size
    else:
        assert "设备 4/6 项" in summary and "1600 × 1200 像素" in size

    # At 1024 px the screen does not scroll sideways.
    await page.set_viewport_size({"width": 1024, "height": 768})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1024
    await page.set_viewport_size(DESKTOP)
    await page.locator("#station-file").scroll_into_view_if_needed()
    await page.screenshot(path=str(folder / f"county-{lang}-station-file.png"), full_page=True)
    # The roster is linked from the stations list and downloads with the session.
    await page.goto(f"{base}/county/registry/stations")
    async with page.expect_download() as waiting:
        await page.click("a[data-link=roster]")
    workbook = await (await waiting.value).path()
    with open(workbook, "rb") as file:
        assert file.read(2) == b"PK"
    # Through the API the same file, as saved through the form.
    token = httpx.post(
        f"{base}/api/v1/auth/login", json={"phone": "13900000001", "password": PASSWORD}
    ).json()["token"]
    stored = httpx.get(
        f"{base}/api/v1/stations/{station_id}/file", headers={"authorization": f"Bearer {token}"}
    ).json()
    assert stored["lat"] == 25.153617 and stored["keeper_gender"] == "female"
    assert [p["kind"] for p in stored["photos"]][-1] == "front"
    await context.close()
