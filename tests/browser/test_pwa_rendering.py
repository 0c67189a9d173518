"""What the keeper's screens draw at 360 px, measured in the
browser (colours, the lines glyphs land on, what a title or an icon shows), in zh-CN, Uyghur
(right-to-left) and English."""

from __future__ import annotations

import calendar
import datetime
import zoneinfo

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE
from tests.browser.helpers import go, login, record_received, wait_outbox_empty

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The rules parity test only signs in as this keeper; nothing here needs another's state.
KEEPER = "13800000029"
WARN = "rgb(198, 40, 40)"  # --warn
GOOD = "rgb(6, 107, 52)"  # the payout's green


async def keeper_page(browser, pwa_server, lang: str):
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale=lang)
    page = await context.new_page()
    await login(page, pwa_server.url, KEEPER)
    assert await page.evaluate("document.documentElement.lang") == lang
    return context, page


@pytest.mark.parametrize("lang", ["zh-CN", "ug"])
async def test_a_commission_above_the_sale_shows_no_payout_in_the_good_colour(
    browser, pwa_server, lang
):
    context, page = await keeper_page(browser, pwa_server, lang)
    try:
        await go(page, "record/sale", "form[data-form='sale.recorded']")
        await page.fill("[name=product]", "核桃")
        await page.fill("[name=quantity]", "10")
        await page.fill("[name=amount_fen]", "5")
        await page.fill("[name=commission_fen]", "60")
        line = page.locator("[data-payout]")
        await expect(line).to_be_visible()
        await expect(line).to_contain_text("55.00")
        # While the commission is above the sale the line warns; no minus sign, never green.
        assert await line.evaluate("el => getComputedStyle(el).color") == WARN
        assert not {"-", "\u2212"} & set(await line.inner_text())
        await page.click("form[data-form='sale.recorded'] button[type=submit]")
        await expect(page.locator("[data-field=commission_fen] .field-error")).not_to_be_empty()
        assert await line.evaluate("el => getComputedStyle(el).color") == WARN
        # A commission the sale covers: the payout, in green.
        await page.fill("[name=commission_fen]", "0.5")
        await expect(line).to_contain_text("4.50")
        assert await line.evaluate("el => getComputedStyle(el).color") == GOOD
    finally:
        await context.close()


# For each width of `selector` from 160 px to its own: every text matching `source` (a regular
# expression, within one text node) whose first and last glyphs land on different lines.
BROKEN_TEXT = """([selector, source]) => {
  const root = document.querySelector(selector);
  const broken = [];
  let found = 0;
  const full = root.getBoundingClientRect().width;
  for (let width = 160; width <= full; width += 2) {
    root.style.width = `${width}px`;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const pattern = new RegExp(source, "gu");
      let match;
      while ((match = pattern.exec(node.data))) {
        const top = (at) => {
          const range = document.createRange();
          range.setStart(node, at);
          range.setEnd(node, at + 1);
          return range.getClientRects()[0].top;
        };
        found += 1;
        const end = match.index + match[0].length - 1;
        if (Math.abs(top(match.index) - top(end)) > 1) broken.push([width, match[0]]);
      }
    }
  }
  root.style.width = "";
  return { found, broken };
}"""

# A date written with digits ("11-04", maybe glued by invisible joiners).
DIGIT_DATE = r"\d{2}\u2060?-\u2060?\d{2}"
# "and 1 more" after the fifth day, its number kept with its words (zh-CN broke "等 1" / "天").
AND_MORE = {
    "zh-CN": r"等\s\u2066?\d+\u2069?\s天",
    "ug": r"قاتارلىق\s\u2066?\d+\u2069?\sكۈن",
    "en": r"and\s\u2066?\d+\u2069?\smore",
}


# An entry saved through the app's own store, at a time of our choosing.
RECORD = """async ([type, data, occurredAt]) => {
  const icon = document.querySelector("link[rel=icon]").href;
  const store = await import(icon.replace("icons/icon-192.png", "js/store.js"));
  await store.record(type, data, occurredAt ? { occurred_at: occurredAt } : {});
}"""


def last_month() -> tuple[int, int]:
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
    last = today.replace(day=1) - datetime.timedelta(days=1)
    return last.year, last.month


@pytest.mark.parametrize("lang", ["zh-CN", "ug", "en"])
async def test_the_months_days_without_a_till_count_never_break_inside_a_date(
    browser, pwa_server, lang
):
    year, month = last_month()
    context, page = await keeper_page(browser, pwa_server, lang)
    try:
        # Six days of last month with business and no till count, recorded offline (they stay
        # on this phone): the list names five of them.
        await context.set_offline(True)
        for day in range(10, 16):
            await page.evaluate(
                RECORD,
                [
                    "service.recorded",
                    {"service": "phone_topup", "amount_fen": 5000, "fee_fen": 100},
                    f"{year}-{month:02d}-{day}T10:00:00+08:00",
                ],
            )
        await go(page, "home", ".home")
        await go(page, "me", "[data-month-days] .cell-detail")
        for source in (DIGIT_DATE, AND_MORE[lang]):
            found = await page.evaluate(BROKEN_TEXT, ["[data-month-days]", source])
            assert found["found"] > 0, source
            assert found["broken"] == [], source
    finally:
        await context.close()


@pytest.mark.parametrize(
    "lang,title",
    [
        ("zh-CN", "{year}年{month}月台帐"),
        ("ug", "{year}-يىلى {month}-ئاي ھېساباتى"),
        ("en", "Ledger for {name} {year}"),
    ],
)
async def test_a_months_ledger_is_named_as_the_language_names_a_month(
    browser, pwa_server, lang, title
):
    year, month = last_month()
    context, page = await keeper_page(browser, pwa_server, lang)
    try:
        await go(page, "me", f"[data-month='{year}-{month:02d}']")
        shown = await page.inner_text(f"[data-month='{year}-{month:02d}'] .cell-title")
        expected = title.format(year=year, month=month, name=calendar.month_name[month])
        assert shown.replace("\u2066", "").replace("\u2069", "") == expected
    finally:
        await context.close()


async def test_the_shelf_shows_a_villagers_number_masked_whichever_phone_recorded_it(
    browser, pwa_server
):
    """The server sends every phone its parcels' numbers masked; the phone that recorded a parcel
    keeps the typed number. The lists show one form: masked."""
    tracking, full, masked = "731229000001", "13929290001", "139****0001"
    context, page = await keeper_page(browser, pwa_server, "zh-CN")
    other = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    try:
        await record_received(page, tracking, full)
        row = page.locator(f".pickup-list [data-parcel='{tracking}']")
        await go(page, "pickup", f".pickup-list [data-parcel='{tracking}']")
        shown_first = await row.inner_text()  # not yet sent
        assert masked in shown_first and full not in shown_first
        await wait_outbox_empty(page)
        await go(page, "home", ".home")
        await go(page, "pickup", f".pickup-list [data-parcel='{tracking}']")
        shown_here = await row.inner_text()
        assert masked in shown_here and full not in shown_here
        # The number's last four digits still find it; its sheet shows the same form.
        await page.fill("input[name=q]", "0001")
        await expect(page.locator(".pickup-list [data-parcel]")).to_have_count(1)
        await row.click()
        facts = await page.locator(".sheet .facts").inner_text()
        assert masked in facts and full not in facts
        await page.click(".sheet-close")
        assert full not in await page.inner_text("#screen")

        # Another phone of the station, which has it from the server, shows it alike.
        second = await other.new_page()
        await login(second, pwa_server.url, KEEPER)
        await go(second, "pickup", f".pickup-list [data-parcel='{tracking}']")
        there = second.locator(f".pickup-list [data-parcel='{tracking}']")
        assert await there.inner_text() == shown_here
    finally:
        await other.close()
        await context.close()


async def test_a_service_account_shows_its_last_four_on_the_phone_that_recorded_it(
    browser, pwa_server
):
    """A bill paid for a villager: the server sends the account masked to every phone, and the
    phone that recorded it showed it whole in its ledger (台帐) after the sync too."""
    context, page = await keeper_page(browser, pwa_server, "zh-CN")
    try:
        await go(page, "record/service", "form[data-form='service.recorded']")
        await page.click("label.chip:has(input[value=electricity])")
        await page.fill("[name=amount_fen]", "50")
        await page.fill("[name=account]", "0301234567")
        await page.click("form[data-form='service.recorded'] button[type=submit]")
        await wait_outbox_empty(page)
        await go(page, "history", ".history-list [data-type='service.recorded']")
        shown = await page.inner_text(".history-list [data-type='service.recorded']")
        assert "******4567" in shown and "0301234567" not in shown
    finally:
        await context.close()


# For each width of the cell `selector` from 200 px to its own: every "·" of its detail (the
# server's reason aside) that starts a line, and every amount (a .nowrap holding "¥") drawn on
# more than one line.
SEPARATORS = """(selector) => {
  const cell = document.querySelector(selector);
  const detail = cell.querySelector(".problem-detail");
  const faults = [];
  let dots = 0;
  const full = cell.getBoundingClientRect().width;
  const glyphs = () => {
    const out = [];
    const walker = document.createTreeWalker(detail, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      if (node.parentElement.closest(".problem-reason")) continue;
      for (let k = 0; k < node.data.length; k++) {
        if (/[\\s\\u00a0\\u2060\\u2066-\\u2069]/.test(node.data[k])) continue;
        const range = document.createRange();
        range.setStart(node, k);
        range.setEnd(node, k + 1);
        const rect = range.getClientRects()[0];
        if (rect) out.push({ ch: node.data[k], top: rect.top, node });
      }
    }
    return out;
  };
  for (let width = 200; width <= full; width += 2) {
    cell.style.width = `${width}px`;
    const all = glyphs();
    all.forEach((g, i) => {
      if (g.ch !== "·") return;
      dots += 1;
      if (i === 0 || Math.abs(all[i - 1].top - g.top) > 1) faults.push([width, "· first"]);
    });
    for (const span of detail.querySelectorAll(".nowrap")) {
      if (span.textContent.indexOf("¥") < 0) continue;
      const tops = all.filter((g) => span.contains(g.node)).map((g) => Math.round(g.top));
      if (new Set(tops).size > 1) faults.push([width, span.textContent]);
    }
  }
  cell.style.width = "";
  return { dots, faults };
}"""


@pytest.mark.parametrize("lang", ["zh-CN", "ug"])
async def test_a_problem_on_home_keeps_its_separators_and_amount_whole(browser, pwa_server, lang):
    context, page = await keeper_page(browser, pwa_server, lang)
    try:
        # A sale the server refuses (no such household), as the review saw it on home.
        sale = {
            "product": "核桃",
            "quantity": 10,
            "unit": "斤",
            "amount_fen": 15000,
            "commission_fen": 600,
            "channel": "微信",
            "household_code": "NOSUCH09",
        }
        await page.evaluate(RECORD, ["sale.recorded", sale, None])
        await go(page, "home", ".home [data-problem] .problem-reason")
        found = await page.evaluate(SEPARATORS, ".home [data-problem]")
        assert found["dots"] > 0
        assert found["faults"] == []
    finally:
        await context.close()


@pytest.mark.parametrize("lang", ["ug", "zh-CN", "en"])
async def test_a_form_title_is_read_whole_at_360_px(browser, pwa_server, lang):
    context, page = await keeper_page(browser, pwa_server, lang)
    try:
        await go(page, "record/service", "form[data-form='service.recorded']")
        title = page.locator(".nav-title")
        # Nothing of it is clipped: every line it needs is drawn, none cut with "…".
        size = await title.evaluate(
            "el => [el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight]"
        )
        assert size[0] <= size[1] and size[2] <= size[3], size
        lines = await title.evaluate(
            "el => { const r = document.createRange(); r.selectNodeContents(el);"
            " return new Set(Array.from(r.getClientRects(), (q) => Math.round(q.top))).size; }"
        )
        assert lines <= 2
        # The title and the sync state beside it do not overlap.
        box, badge = await title.bounding_box(), await page.locator(".nav-sync").bounding_box()
        assert box["x"] + box["width"] <= badge["x"] or badge["x"] + badge["width"] <= box["x"]
    finally:
        await context.close()


async def test_every_record_tile_draws_an_icon_of_its_own(browser, pwa_server):
    """村级培训 drew 打卡签到's map pin: each tile's icon, as laid out (the drawn path's length and
    box), differs from the others'."""
    context, page = await keeper_page(browser, pwa_server, "zh-CN")
    try:
        await go(page, "record", ".tiles")
        drawn = await page.eval_on_selector_all(
            ".tiles .tile",
            """tiles => tiles.map((tile) => {
                 const paths = tile.querySelectorAll(".tile-icon svg path");
                 const path = paths[0];
                 const box = path.getBBox();
                 return [tile.getAttribute("href"), paths.length, Math.round(path.getTotalLength()),
                         [box.x, box.y, box.width, box.height].map(Math.round).join(",")];
               })""",
        )
        assert all(count == 1 for _, count, _, _ in drawn)  # inline, like the others
        # 代收/连续入库 and 取件/出库 are one kind of work each, and share theirs.
        shapes = {href: (length, box) for href, _, length, box in drawn}
        for shared in ("#/batch", "#/handover"):
            shapes.pop(shared)
        assert "#/training" in shapes and "#/checkin" in shapes
        assert len(set(shapes.values())) == len(shapes), shapes
    finally:
        await context.close()


@pytest.mark.parametrize(
    "lang,label,message",
    [
        ("zh-CN", "寄往地", "请填写寄往地"),
        ("ug", "مەنزىل", "مەنزىلنى تولدۇرۇڭ"),
        ("en", "Destination", "Please fill in the destination"),
    ],
)
async def test_a_dispatch_without_its_destination_asks_for_it_in_a_sentence(
    browser, pwa_server, lang, label, message
):
    context, page = await keeper_page(browser, pwa_server, lang)
    try:
        await go(page, "record/dispatched", "form[data-form='parcel.dispatched']")
        await page.fill("[name=tracking_no]", "78123450000014")
        await page.fill("[name=weight_g]", "1")
        await page.fill("[name=fee_fen]", "8")
        await page.click("form[data-form='parcel.dispatched'] button[type=submit]")
        field = page.locator("[data-field=destination]")
        await expect(field.locator(".field-error")).to_have_text(message)
        await expect(field.locator(".field-label")).to_have_text(label)
        assert await page.locator(".recent [data-entry]").count() == 0  # nothing saved
    finally:
        await context.close()
