"""The keeper's month (月结): the "me" screen shows last month's state at the county, lets the
keeper submit it, and keeps showing the last state seen while offline."""

from __future__ import annotations

import datetime
import zoneinfo

import httpx
import pytest

from tests.browser.helpers import go, login, wait_outbox_empty

pytestmark = [pytest.mark.browser]

KEEPER = "13800000038"
STAFF = "13900000001"


def last_month() -> str:
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
    return (today.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")


def earlier_months(month: str, count: int) -> list[str]:
    months, day = [], datetime.date.fromisoformat(f"{month}-01")
    for _ in range(count):
        day = (day - datetime.timedelta(days=1)).replace(day=1)
        months.append(day.strftime("%Y-%m"))
    return months


def month_end(month: str) -> str:
    first = datetime.date.fromisoformat(f"{month}-01")
    return (
        (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    ).isoformat()


def as_staff(base: str) -> httpx.Client:
    answer = httpx.post(
        f"{base}/api/v1/auth/login", json={"phone": STAFF, "password": "demo1234"}
    ).raise_for_status()
    return httpx.Client(
        base_url=base, headers={"authorization": f"Bearer {answer.json()['token']}"}
    )


async def test_the_keeper_submits_last_month_and_sees_the_county_close_it(
    phone, pwa_server, api_as
):
    month = last_month()
    station = api_as(KEEPER).user["station_id"]
    page = await phone.new_page()
    await login(page, pwa_server.url, KEEPER)
    await go(page, "me", f"[data-month='{month}'][data-month-state=open]")
    cell = page.locator(f"[data-month='{month}']")
    assert "未提交" in await cell.inner_text()
    # The months before it are listed too, newest first, each with its state at the county.
    listed = await page.locator("[data-month]").evaluate_all(
        "cells => cells.map(c => [c.dataset.month, c.dataset.monthState])"
    )
    assert [m for m, _ in listed] == [month, *earlier_months(month, 5)]
    assert {state for _, state in listed} == {"open"}

    # A top-up of the month's last evening, saved while the phone was offline, holds the month
    # back: no submit until it has reached the county.
    await phone.set_offline(True)
    await page.evaluate(
        """async (occurredAt) => {
             const icon = document.querySelector("link[rel=icon]").href;
             const store = await import(icon.replace("icons/icon-192.png", "js/store.js"));
             await store.record("service.recorded",
               {service: "phone_topup", amount_fen: 5000, fee_fen: 100},
               {occurred_at: occurredAt});
           }""",
        f"{month_end(month)}T20:30:00+08:00",
    )
    await go(page, "home", ".home")
    await go(page, "me", f"[data-month='{month}'].cell-warn")
    assert "还有 1 条" in await cell.inner_text()
    assert await cell.locator("[data-action=month-submit]").count() == 0
    await phone.set_offline(False)  # the app sends it as the network returns
    await wait_outbox_empty(page)
    await go(page, "home", ".home")
    await go(page, "me", f"[data-month='{month}'] [data-action=month-submit]")
    # The month's end-of-day counts: one day with business, its till not yet counted (日结).
    days = page.locator("[data-month-days]")
    assert (
        await days.get_attribute("data-month-days"),
        await days.get_attribute("data-month-counted"),
    ) == ("1", "0")
    # The date's hyphen is glued to its digits by word joiners (U+2060): it never breaks there.
    assert f"未日结：{month_end(month)[5:]}" in (await days.inner_text()).replace("\u2060", "")
    assert "cell-warn" in (await days.get_attribute("class") or "")
    await page.evaluate(
        """async (occurredAt) => {
             const icon = document.querySelector("link[rel=icon]").href;
             const store = await import(icon.replace("icons/icon-192.png", "js/store.js"));
             await store.record("cash.counted", {counted_fen: 4900}, {occurred_at: occurredAt});
           }""",
        f"{month_end(month)}T21:00:00+08:00",
    )
    await wait_outbox_empty(page)
    await go(page, "home", ".home")
    await go(page, "me", "[data-month-counted='1']")
    assert "未日结" not in await page.locator("[data-month-days]").inner_text()

    await cell.locator("[data-action=month-submit]").click()
    assert "已日结 1 天" in await page.locator(".sheet").inner_text()
    await page.click(".sheet [data-action=confirm]")
    await page.wait_for_selector(f"[data-month='{month}'][data-month-state=submitted]")
    assert "等待县里审核" in await cell.inner_text()
    with as_staff(pwa_server.url) as staff:
        state = staff.get(f"/api/v1/stations/{station}/months/{month}").raise_for_status()
        assert state.json()["state"] == "submitted"
        staff.post(f"/api/v1/stations/{station}/months/{month}/close").raise_for_status()

    # The county closes it: the screen says so when it is opened again, offline too.
    await go(page, "home", ".home")
    await go(page, "me", f"[data-month='{month}'][data-month-state=closed]")
    await phone.set_offline(True)
    try:
        await page.reload()  # the app from the service worker, still on "me"
        await page.wait_for_selector(f"[data-month='{month}'][data-month-state=closed]")
        assert "月结" in await page.locator(f"[data-month='{month}']").inner_text()
    finally:
        await phone.set_offline(False)
