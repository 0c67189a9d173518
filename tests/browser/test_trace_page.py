"""The public trace page as a buyer's phone sees it (360 px Chromium, real server, demo county):
the QR on the page decodes to the page's own URL, nothing personal shows, no script runs, one
visit is one scan; and the screenshots of the page (zh-CN, ug) and of a label sheet
(docs/screenshots/trace-*.png when CUNZHAN_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime
import io
import os
import re

import httpx
import pytest

from tests.browser.conftest import PASSWORD, PHONE, SCREENSHOTS
from tests.browser.helpers import county_login, visual_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STAFF = "13900000001"
FULL_PHONE = re.compile(r"\b1\d{10}\b")
# A phone in WeChat: the page counts it (a headless browser's own agent would not be counted).
WECHAT = (
    "Mozilla/5.0 (Linux; Android 12; V2049A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/86.0 Mobile Safari/537.36 MicroMessenger/8.0.40"
)


def decode_qr(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.fixture(scope="module")
def trace_batch(pwa_server):
    """A batch of the demo county from one of its households, as the county registers it."""
    base = pwa_server.url
    login = httpx.post(f"{base}/api/v1/auth/login", json={"phone": STAFF, "password": PASSWORD})
    login.raise_for_status()
    headers = {"authorization": f"Bearer {login.json()['token']}"}
    county = login.json()["user"]["county_id"]
    households = httpx.get(f"{base}/api/v1/counties/{county}/households", headers=headers).json()
    household = next(h for h in households if h["head_name"] and h["phone"])
    station = httpx.get(f"{base}/api/v1/counties/{county}/stations", headers=headers).json()[0]
    created = httpx.post(
        f"{base}/api/v1/counties/{county}/trace-batches",
        json={
            "product": "岳普湖红枣",
            "household_code": household["code"],
            "station_id": station["id"],
            "harvested_on": (datetime.date.today() - datetime.timedelta(days=20)).isoformat(),
            "quantity": 250,
            "unit": "kg",
            "inspection": "passed",
            "brand": "疆果园",  # not part of the product's name
            "certification": "地理标志",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return {
        **created.json(),
        "household": household,
        "list": lambda: httpx.get(
            f"{base}/api/v1/counties/{county}/trace-batches", headers=headers
        ).json(),
    }


async def test_the_qr_on_the_page_decodes_to_the_page(browser, trace_batch):
    url = trace_batch["url"]
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, locale="zh-CN", user_agent=WECHAT
    )
    page = await context.new_page()
    answer = await page.goto(url)
    assert answer is not None and answer.status == 200
    assert len(await answer.body()) < 20 * 1024
    assert await page.evaluate("document.scripts.length") == 0
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    # The page fits the phone: nothing wider than 360 px.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    png = await page.locator("#qr svg").screenshot()
    assert decode_qr(png) == [url]

    text = await page.evaluate("document.body.innerText")
    assert "岳普湖红枣" in text and "合格" in text and "地理标志" in text and "疆果园" in text
    household = trace_batch["household"]
    assert household["head_name"] not in text
    assert household["code"] not in text
    assert household["phone"] not in text and not FULL_PHONE.findall(text)
    html = await page.content()
    assert household["head_name"] not in html and household["code"] not in html

    # One visit by a phone is one scan; the QR image is not a visit, nor is a reload or the
    # language switch within the visit (the page's marker cookie); another phone is a new visit.
    await page.goto(url + ".svg")
    await page.goto(url)
    await page.reload()
    async with page.expect_navigation():
        await page.click("a[lang=ug]")
    assert await page.evaluate("document.documentElement.lang") == "ug"

    def scans() -> int:
        [batch] = [b for b in trace_batch["list"]() if b["code"] == trace_batch["code"]]
        return batch["scans"]

    assert scans() == 1
    await context.close()
    other = await browser.new_context(viewport=PHONE, locale="zh-CN", user_agent=WECHAT)
    await (await other.new_page()).goto(url)
    assert scans() == 2
    await other.close()


@pytest.mark.parametrize("lang", ["zh-CN", "ug"])
async def test_screenshots_of_the_public_page_and_labels(
    browser, pwa_server, trace_batch, lang, tmp_path
):
    folder = SCREENSHOTS if os.environ.get("CUNZHAN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=lang)
    page = await context.new_page()
    await page.goto(f"{trace_batch['url']}?lang={lang}")
    assert await page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ug" else "ltr")
    text = await page.evaluate("document.body.innerText")
    assert not re.findall(r"\btrace\.[a-z_.]+", text)
    await page.screenshot(path=str(folder / f"trace-{lang}-public.png"), full_page=True)
    await context.close()

    # The label sheet, as the county prints it (A4 at 96 dpi is about 794 px wide).
    desk = await browser.new_context(viewport={"width": 820, "height": 1150}, locale=lang)
    page = await desk.new_page()
    await county_login(page, pwa_server.url, STAFF, lang)
    await page.goto(f"{pwa_server.url}/county/trace?lang={lang}")
    async with page.expect_navigation():
        await page.click(f"tr[data-batch='{trace_batch['code']}'] a[data-link=labels]")
    assert await page.locator(".label").count() == 24
    # The printing hint's sizes read as on the label paper's box, in a Uyghur page too.
    hint = (await visual_text(page.locator(".hint"))).replace(" ", "")
    assert "3×8" in hint and "70×37" in hint, hint
    png = await page.locator(".label").first.locator("svg").screenshot()
    assert decode_qr(png) == [trace_batch["url"]]
    await page.screenshot(path=str(folder / f"trace-{lang}-labels.png"), full_page=True)
    await desk.close()


async def test_long_words_wrap_and_english_labels_are_capitalised(browser, pwa_server, trace_batch):
    """A batch whose product and brand are written in Latin letters without a space (a brand as
    registered, a pinyin name) stays inside a 360 px phone, each word whole on the screen; the
    English page's labels are written as labels (Brand, Harvest date…), not as lowercase words."""
    base = pwa_server.url
    login = httpx.post(f"{base}/api/v1/auth/login", json={"phone": STAFF, "password": PASSWORD})
    headers = {"authorization": f"Bearer {login.json()['token']}"}
    county = login.json()["user"]["county_id"]
    created = httpx.post(
        f"{base}/api/v1/counties/{county}/trace-batches",
        json={
            "product": "XinjiangYuepuhuHongzaoTejiLiheZhuang",
            "brand": "GreenValleyOrganicFarmsCooperative",
            "harvested_on": (datetime.date.today() - datetime.timedelta(days=3)).isoformat(),
            "quantity": 1234.5,
            "unit": "jin",
            "inspection": "passed",
            "certification": "green",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    for lang in ("en", "ug", "zh-CN"):
        context = await browser.new_context(viewport=PHONE, locale=lang, user_agent=WECHAT)
        page = await context.new_page()
        await page.goto(f"{created.json()['url']}?lang={lang}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], lang
        for selector in ("h1", "dd"):
            cut = await page.locator(selector).evaluate_all(
                "els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)"
            )
            assert cut == [], (lang, cut)
        if lang == "en":
            labels = await page.locator("dt").all_inner_texts()
            assert labels and all(label[0].isupper() for label in labels), labels
        await context.close()


@pytest.mark.parametrize(
    "product",
    ["XinjiangYuepuhuHongzaoTejiLiheZhuang", ("新疆岳普湖县阿洪鲁库木乡特级骏枣" * 4)[:60]],
    ids=["long-latin-word", "sixty-chinese-characters"],
)
async def test_a_long_product_name_leaves_each_label_its_code(browser, pwa_server, product):
    """The label sheet of a batch with a long product name (one long Latin word; the 60
    characters the form allows): on every label the scan line and the code are whole inside the
    label's 70 × 37 mm, nothing cut at its edge (the code is what a buyer types when the QR
    will not scan)."""
    base = pwa_server.url
    login = httpx.post(f"{base}/api/v1/auth/login", json={"phone": STAFF, "password": PASSWORD})
    headers = {"authorization": f"Bearer {login.json()['token']}"}
    county = login.json()["user"]["county_id"]
    assert len(product) <= 60
    created = httpx.post(
        f"{base}/api/v1/counties/{county}/trace-batches", json={"product": product}, headers=headers
    )
    assert created.status_code == 201, created.text
    desk = await browser.new_context(viewport={"width": 820, "height": 1150}, locale="zh-CN")
    page = await desk.new_page()
    await county_login(page, base, STAFF)
    await page.goto(f"{base}/county/trace/{created.json()['id']}/labels")
    outside = await page.locator(".label").first.evaluate(
        """label => {
          const box = label.getBoundingClientRect();
          const code = label.querySelector("code").getBoundingClientRect();
          const text = label.querySelector("div");
          const out = [];
          if (code.bottom > box.bottom - 1 || code.right > box.right - 1) out.push("code");
          if (text.getBoundingClientRect().right > box.right - 1) out.push("text");
          return out;
        }"""
    )
    assert outside == []
    assert await page.locator(".label code").first.inner_text() == created.json()["code"]
    await desk.close()
