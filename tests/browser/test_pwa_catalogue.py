"""The 代销 form and the county's catalogue (issue #15): the phone keeps the catalogue it fetched;
the keeper picks a product (its name and unit filled in) and scans the batch's label with a
scanner gun; the sale syncs with both codes and the county sees it on the batch."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import PASSWORD
from tests.browser.helpers import go, login, wait_outbox_empty, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KEEPER = "13800000009"  # a demo keeper no other browser test uses
STAFF = "13900000001"

KV = """async (key) => {
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
  if (!user) return null;
  const db = await open("cunzhan-station-" + user.station_id);
  const value = await get(db.transaction("kv").objectStore("kv").get(key));
  db.close();
  return value || null;
}"""


def staff(base: str) -> tuple[dict, str]:
    answer = httpx.post(f"{base}/api/v1/auth/login", json={"phone": STAFF, "password": PASSWORD})
    answer.raise_for_status()
    body = answer.json()
    return {"authorization": f"Bearer {body['token']}"}, body["user"]["county_id"]


async def test_a_sale_picked_from_the_catalogue_with_a_scanned_batch_syncs_both_codes(
    phone, pwa_server, api_as
):
    headers, county_id = staff(pwa_server.url)
    county = f"{pwa_server.url}/api/v1/counties/{county_id}"
    product = httpx.post(
        f"{county}/products",
        json={"code": "BR-HT-01", "name": "薄皮核桃", "category": "farm", "brand": "叶城",
              "unit": "公斤"},
        headers=headers,
    )  # fmt: skip
    assert product.status_code == 201, product.text
    batch = httpx.post(f"{county}/trace-batches", json={"product": "薄皮核桃"}, headers=headers)
    assert batch.status_code == 201, batch.text
    code, url = batch.json()["code"], batch.json()["url"]

    page = await phone.new_page()
    await login(page, pwa_server.url, KEEPER)

    async def catalogue_kept():
        products = await page.evaluate(KV, "products")
        return bool(products) and any(p["code"] == "BR-HT-01" for p in products)

    await wait_until(catalogue_kept, message="the catalogue on the phone")
    await go(page, "record/sale", "form[data-form='sale.recorded']")
    await page.select_option("[name=product_code]", "BR-HT-01")
    assert await page.input_value("[name=product]") == "薄皮核桃"
    assert await page.input_value("[name=unit]") == "公斤"
    await page.fill("[name=quantity]", "2.5")
    await page.focus("[name=amount_fen]")
    await page.keyboard.type("75", delay=60)
    # The gun reads the label's QR (its page's URL) into the batch field and ends with Enter.
    await page.focus("[name=batch_code]")
    await page.keyboard.type(url, delay=8)
    await page.keyboard.press("Enter")
    assert await page.input_value("[name=batch_code]") == code
    await page.click("form[data-form='sale.recorded'] button[type=submit]")
    await page.wait_for_selector(".recent [data-entry]")
    # The same product is ready for the next sale; the batch is not.
    assert await page.input_value("[name=product]") == "薄皮核桃"
    assert await page.input_value("[name=batch_code]") == ""

    await wait_outbox_empty(page)
    sales = [e["data"] for e in api_as(KEEPER).events() if e["type"] == "sale.recorded"]
    assert [(s["product"], s["unit"], s["quantity"], s["amount_fen"]) for s in sales] == [
        ("薄皮核桃", "公斤", 2.5, 7500)
    ]
    assert (sales[0]["product_code"], sales[0]["batch_code"]) == ("BR-HT-01", code)
    by_batch = httpx.get(f"{county}/product-sales", headers=headers).json()["batches"]
    assert [(b["batch_code"], b["sales"], b["amount_fen"]) for b in by_batch] == [(code, 1, 7500)]
