"""What a keeper does on the phone, as Playwright steps (selectors use the API's field names)."""

from __future__ import annotations

import asyncio
import re
import time

from tests.browser.conftest import PASSWORD

# Catalog keys look like "home.title" or "type.parcel.received".
KEY_PATTERN = re.compile(r"\b[a-z]+(?:\.[a-z0-9_]+)+\b")


async def login(page, base: str, phone_number: str) -> None:
    await page.goto(f"{base}/app/")
    await page.wait_for_selector("form.login-form")
    await page.fill("form.login-form [name=phone]", phone_number)
    await page.fill("form.login-form [name=password]", PASSWORD)
    await page.click("form.login-form button[type=submit]")
    await page.wait_for_selector(".home")


async def county_login(page, base: str, phone_number: str, lang: str | None = None) -> None:
    """Sign in on the county's login page (staff, a hub worker, a township officer, the
    province), as a person does; the page it leads to is loaded when this returns."""
    await page.goto(f"{base}/county/login" + (f"?lang={lang}" if lang else ""))
    await page.fill("form.login-form [name=phone]", phone_number)
    await page.fill("form.login-form [name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("form.login-form button[type=submit]")


async def go(page, route: str, ready: str) -> None:
    await page.evaluate("route => { location.hash = route; }", f"#/{route}")
    await page.wait_for_selector(ready)


async def outbox(page) -> list[dict]:
    """The phone's outbox, read straight from IndexedDB."""
    return await page.evaluate(
        """async () => {
          const open = (name) => new Promise((ok, no) => {
            const r = indexedDB.open(name);
            r.onsuccess = () => ok(r.result);
            r.onerror = () => no(r.error);
          });
          const get = (req) => new Promise((ok, no) => {
            req.onsuccess = () => ok(req.result); req.onerror = () => no(req.error);
          });
          const meta = await open("cunzhan");
          const user = await get(meta.transaction("meta").objectStore("meta").get("user"));
          meta.close();
          if (!user) return [];
          const db = await open("cunzhan-station-" + user.station_id);
          const all = await get(db.transaction("outbox").objectStore("outbox").getAll());
          db.close();
          return all;
        }"""
    )


async def wait_until(condition, timeout: float = 20, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


async def wait_outbox_empty(page, timeout: float = 20) -> None:
    async def empty():
        return not await outbox(page)

    await wait_until(empty, timeout, "the outbox to empty")


async def wait_saved_and_sent(page, timeout: float = 40) -> None:
    """Every save the form has begun is in the outbox (its button no longer busy), and the
    outbox has emptied: an outbox read while a save is still being checked is empty too early."""
    await page.wait_for_function(
        "() => !document.querySelector('form[data-form] [aria-busy]')", timeout=timeout * 1000
    )
    await wait_outbox_empty(page, timeout)


async def submit(page, kind: str) -> None:
    """Save the open form; the entry appears under it as "just recorded"."""
    before = await page.locator(".recent [data-entry]").count()
    await page.click(f"form[data-form='{kind}'] button[type=submit]")
    await page.wait_for_function(
        "n => document.querySelectorAll('.recent [data-entry]').length > n", arg=before
    )


async def record_received(
    page, tracking_no: str, phone: str, name: str = "", carrier: str = ""
) -> str:
    """A 代收; returns the pickup code the phone proposed."""
    await go(page, "record/received", "form[data-form='parcel.received']")
    await page.fill("[name=tracking_no]", tracking_no)
    if carrier:
        await page.select_option("[name=carrier]", carrier)
    await page.fill("[name=recipient_phone]", phone)
    if name:
        await page.fill("[name=recipient_name]", name)
    await submit(page, "parcel.received")
    text = await page.inner_text(".recent [data-entry]")
    match = re.search(r"\d+-\d+-[0-9A-Z]+(?:-\d+)?", text)
    assert match, text
    return match.group(0)


async def visible_keys(page) -> list[str]:
    """Catalog keys left untranslated anywhere in the visible page."""
    text = await page.evaluate("document.body.innerText")
    return KEY_PATTERN.findall(text)


async def meta(page, key: str):
    """A value the app keeps in its "cunzhan" meta store (device id, language, flags)."""
    return await page.evaluate(
        """async (key) => {
          const db = await new Promise((ok, no) => {
            const r = indexedDB.open("cunzhan");
            r.onsuccess = () => ok(r.result);
            r.onerror = () => no(r.error);
          });
          const value = await new Promise((ok, no) => {
            const r = db.transaction("meta").objectStore("meta").get(key);
            r.onsuccess = () => ok(r.result);
            r.onerror = () => no(r.error);
          });
          db.close();
          return value === undefined ? null : value;
        }""",
        key,
    )


async def visual_text(locator) -> str:
    """The element's text as the screen shows it, glyph by glyph left to right (lines top to
    bottom, spaces and zero-width marks dropped): in a right-to-left page a range "8–30" that is
    not isolated reads "30–8" here, though the string says "8–30"."""
    return await locator.evaluate(
        """element => {
          const glyphs = [];
          const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (let i = 0; i < node.data.length; i++) {
              if (!node.data[i].trim()) continue;
              const range = document.createRange();
              range.setStart(node, i);
              range.setEnd(node, i + 1);
              const box = range.getBoundingClientRect();
              if (box.width > 0) glyphs.push([node.data[i], box.left, box.top + box.height / 2]);
            }
          }
          const lines = [];
          for (const glyph of glyphs.sort((a, b) => a[2] - b[2])) {
            const line = lines.find((l) => Math.abs(l.middle - glyph[2]) < 4);
            if (line) line.glyphs.push(glyph);
            else lines.push({ middle: glyph[2], glyphs: [glyph] });
          }
          return lines
            .map((l) => l.glyphs.sort((a, b) => a[1] - b[1]).map((g) => g[0]).join(""))
            .join("\\n");
        }"""
    )
