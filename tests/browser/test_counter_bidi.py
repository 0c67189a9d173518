"""Codes, tracking numbers, phone tails and amounts inside Uyghur (right-to-left) text keep their
left-to-right order on screen (issue #10, defect 3): checked on the rendered glyphs' positions
(Range.getClientRects in Chromium), not on the string."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PASSWORD, PHONE
from tests.browser.helpers import go, login, wait_outbox_empty

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The left edges of the glyphs of `needle` where it first occurs in a text node under `selector`.
GLYPH_LEFTS = """([selector, needle]) => {
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const at = node.data.indexOf(needle);
      if (at < 0) continue;
      const lefts = [];
      for (let k = 0; k < needle.length; k++) {
        const range = document.createRange();
        range.setStart(node, at + k);
        range.setEnd(node, at + k + 1);
        lefts.push(range.getClientRects()[0].left);
      }
      return lefts;
    }
  }
  return null;
}"""


async def assert_reads_left_to_right(page, selector: str, needle: str) -> None:
    lefts = await page.evaluate(GLYPH_LEFTS, [selector, needle])
    assert lefts, f"{needle!r} not found in {selector}"
    assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts), (needle, lefts)


async def test_uyghur_screens_show_codes_numbers_and_amounts_left_to_right(
    browser, pwa_server, api_as
):
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale="ug")
    try:
        page = await context.new_page()
        await login(page, pwa_server.url, "13800000030")
        assert await page.get_attribute("html", "dir") == "rtl"
        await go(page, "record/received", "form[data-form='parcel.received']")
        # The label's form as the hint under the recipient field shows it.
        await assert_reads_left_to_right(
            page, "[data-field=recipient_phone] .field-hint", "138****5678"
        )
        await page.fill("[name=tracking_no]", "JD0123456789012-1-3-")
        await page.fill("[name=recipient_phone]", "138****5678")
        await page.click("form[data-form='parcel.received'] button[type=submit]")
        recent = await page.wait_for_selector(".recent [data-entry]")
        code = re.search(r"\d+-\d+-\d{4}", await recent.inner_text()).group(0)
        # The toast the keeper reads while writing the shelf on the parcel.
        await page.wait_for_selector(f".toast-shown:has-text('{code}')")
        await assert_reads_left_to_right(page, ".toast-shown", code)
        await assert_reads_left_to_right(page, ".recent", code)
        await assert_reads_left_to_right(page, ".recent", "1/3")

        await go(page, "pickup", "[data-parcel='JD0123456789012']")
        await assert_reads_left_to_right(page, "[data-parcel]", "138****5678")
        await assert_reads_left_to_right(page, "[data-parcel]", code)

        await go(page, "record/service", "form[data-form='service.recorded']")
        await page.fill("[name=amount_fen]", "1,250")
        await page.click("form[data-form='service.recorded'] button[type=submit]")
        await assert_reads_left_to_right(page, "[data-field=amount_fen] .field-error", "1,250")

        # The county page of that station, in Uyghur: the shelf's codes and numbers.
        await page.fill("[name=amount_fen]", "")
        await wait_outbox_empty(page)
        station = api_as("13800000030").user["station_id"]
        desk = await browser.new_context(viewport={"width": 1024, "height": 768}, locale="ug")
        staff = await desk.new_page()
        await staff.goto(f"{pwa_server.url}/county/login?lang=ug")
        await staff.fill("[name=phone]", "13900000001")
        await staff.fill("[name=password]", PASSWORD)
        async with staff.expect_navigation():
            await staff.click("main form button[type=submit], form[method=post] button")
        await staff.goto(f"{pwa_server.url}/county/stations/{station}?lang=ug")
        assert await staff.get_attribute("html", "dir") == "rtl", staff.url
        await assert_reads_left_to_right(staff, "table", code)
        await assert_reads_left_to_right(staff, "table", "JD0123456789012")
        await desk.close()
    finally:
        await context.close()
