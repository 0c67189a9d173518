"""代销 and the catalogue (issue #15): a sale names a catalogue product and a trace batch by code
(an unknown one is rejected with a localized reason); staff map the texts keepers wrote to
products; a 代销 of a product that is not farm produce counts in 网络零售额 but not in
农产品网络零售额 — on the dashboard, in the kpis and in the workbook alike; the county sees its
sales per product and per batch."""

from __future__ import annotations

import datetime
import re

from backend.accounts.tables import AuditEntry
from backend.county import rollups
from backend.ledger.tables import Event
from tests.support import event, push
from tests.test_catalogue import TEAPOT, WALNUT, add, make_farm
from tests.test_county_figures import SHANGHAI, _dashboard, _kpis, _workbook
from tests.test_county_pages import CSRF_FIELD, HTML, page_login


def sale(product: str, amount_fen: int, quantity: float = 2, unit: str = "斤", **codes) -> dict:
    data = {
        "product": product,
        "quantity": quantity,
        "unit": unit,
        "amount_fen": amount_fen,
        "commission_fen": 0,
        "channel": "微信",
        **codes,
    }
    return event("sale.recorded", data)


def month() -> str:
    return datetime.datetime.now(SHANGHAI).strftime("%Y-%m")


def figures(retail: int, farm: int) -> dict[str, int]:
    return {"retail_fen": retail, "farm_retail_fen": farm, "parcels_in": 0}


async def everywhere(client, world) -> list[dict[str, int]]:
    """The dashboard's, the kpis' and the workbook's figures of the month."""
    return [
        await _dashboard(client, world.staff),
        await _kpis(client, world, month()),
        await _workbook(client, world, month()),
    ]


async def batch_code(client, world, product: str = "薄皮核桃") -> str:
    created = await client.post(
        f"/api/v1/counties/{world.county_id}/trace-batches",
        json={"product": product},
        headers=world.staff.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()["code"]


def sales_url(world) -> str:
    return f"/api/v1/counties/{world.county_id}/product-sales"


async def map_text(client, world, text: str, product_id: str | None):
    return await client.put(
        f"/api/v1/counties/{world.county_id}/product-texts",
        json={"text": text, "product_id": product_id},
        headers=world.staff.headers,
    )


async def test_a_text_mapped_to_a_product_not_farm_leaves_farm_retail_everywhere(client, world):
    teapot = (await add(client, world, TEAPOT)).json()
    walnut = (await add(client, world, WALNUT)).json()
    await push(
        client,
        world.keeper_a,
        [sale("核桃", 10000), sale("茶壶", 3000, 1, "个"), sale("茶壶 ", 1500, 1, "个")],
    )
    await push(client, world.keeper_b, [sale("红枣", 700)])
    await rollups.refresh()
    # Before any mapping every 代销 is farm produce, as it always was.
    assert await everywhere(client, world) == [figures(15200, 15200)] * 3

    texts = (await client.get(sales_url(world), headers=world.staff.headers)).json()["texts"]
    assert [(t["text"], t["sales"], t["amount_fen"], t["product_id"]) for t in texts] == [
        ("茶壶", 2, 4500, None),  # "茶壶 " was trimmed when it was recorded
        ("核桃", 1, 10000, None),
        ("红枣", 1, 700, None),
    ]

    mapped = await map_text(client, world, "茶壶", teapot["id"])
    assert mapped.status_code == 200, mapped.text
    assert (await map_text(client, world, "核桃", walnut["id"])).status_code == 200
    # 茶壶 is not farm produce: 网络零售额 keeps it, 农产品网络零售额 does not; 红枣 (unmapped)
    # and 核桃 (a farm product) stay farm.
    assert await everywhere(client, world) == [figures(15200, 10700)] * 3

    by_product = (await client.get(sales_url(world), headers=world.staff.headers)).json()
    assert [
        (p["code"], p["category"], p["unit"], p["sales"], p["quantity"], p["amount_fen"])
        for p in by_product["products"]
    ] == [
        ("CJ-01", "other", "个", 2, 2, 4500),
        ("HT-01", "farm", "斤", 1, 2, 10000),
        ("", "", "斤", 1, 2, 700),
    ]

    # Unmapped again: farm again, everywhere at once.
    assert (await map_text(client, world, "茶壶", None)).status_code == 200
    assert await everywhere(client, world) == [figures(15200, 15200)] * 3
    audited = await AuditEntry.select(AuditEntry.target_id).where(
        AuditEntry.action == "catalogue_text.map"
    )
    assert [row["target_id"] for row in audited] == ["茶壶", "核桃", "茶壶"]


async def test_a_sale_by_code_counts_by_its_products_category(client, world):
    teapot = (await add(client, world, TEAPOT)).json()
    await add(client, world, WALNUT)
    results = await push(
        client,
        world.keeper_a,
        [
            sale("茶壶", 3000, 1, "个", product_code="cj-01"),
            sale("核桃", 10000, product_code="HT-01"),
        ],
    )
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    assert await everywhere(client, world) == [figures(13000, 10000)] * 3
    # The category changed by staff counts at once: the months of the sales naming that product
    # are recounted (rollups.follow_catalogue), not the county.
    await make_farm(client, world, TEAPOT, teapot["id"])
    assert await everywhere(client, world) == [figures(13000, 13000)] * 3


async def test_unknown_product_or_batch_codes_are_rejected_localized(client, world):
    await add(client, world, WALNUT)
    foreign_product = await client.post(
        f"/api/v1/counties/{world.foreign_county_id}/products",
        json={**TEAPOT, "code": "FAR-1"},
        headers=world.foreign_staff.headers,
    )
    assert foreign_product.status_code == 201
    mine = await batch_code(client, world)
    results = await push(
        client,
        world.keeper_a,
        [
            sale("核桃", 100, product_code="NOPE"),
            sale("茶壶", 100, product_code="FAR-1"),  # another county's
            sale("核桃", 100, batch_code="TEST-ZZZZZZZZ"),
            sale("核桃", 100, batch_code="not a code"),
            sale("核桃", 100, product_code="HT-01", batch_code=mine.lower()),
        ],
    )
    assert [r["status"] for r in results] == ["rejected"] * 4 + ["accepted"]
    assert [(r["error"]["code"], r["error"]["field"]) for r in results[:4]] == [
        ("unknown_product_code", "product_code"),
        ("unknown_product_code", "product_code"),
        ("unknown_batch_code", "batch_code"),
        ("invalid_format", "batch_code"),
    ]
    assert results[0]["error"]["detail"] == (
        "本县产品目录里没有编号 NOPE；请更新目录后重新选择，或直接填写产品名称。"
    )
    assert await Event.count() == 1
    stored = await Event.select(Event.data).first()
    assert f'"batch_code":"{mine}"' in stored["data"]  # typed in lower case, kept as printed
    uyghur = await client.post(
        "/api/v1/sync",
        json={"device_id": "6c1f7d1e-3a52-4c56-9b8e-0f6d8d5b2a10",
              "events": [sale("نەرسە", 100, batch_code="TEST-ZZZZZZZZ")]},
        headers={**world.keeper_a.headers, "accept-language": "ug"},
    )  # fmt: skip
    error = uyghur.json()["results"][0]["error"]
    assert "ئىز قوغلاش تۈركۈمى يوق" in error["detail"] and "TEST-ZZZZZZZZ" in error["detail"]


async def test_sales_per_batch_on_the_api_and_the_page(client, world):
    walnut = (await add(client, world, WALNUT)).json()
    first, second = await batch_code(client, world), await batch_code(client, world, "红枣")
    await push(
        client,
        world.keeper_a,
        [
            sale("核桃", 2000, 1.5, product_code="HT-01", batch_code=first),
            sale("核桃", 3000, 2.25, product_code="HT-01", batch_code=first),
            sale("红枣", 900, 3, batch_code=second),
            sale("红枣", 400, 1),
        ],
    )
    reversed_sale = sale("红枣", 5000, 9, batch_code=second)
    await push(client, world.keeper_b, [reversed_sale])
    await push(
        client,
        world.keeper_b,
        [event("entry.reversed", {"target_id": reversed_sale["id"], "reason": "录错了"})],
    )
    answer = (await client.get(sales_url(world), headers=world.staff.headers)).json()
    assert [
        (b["batch_code"], b["product"], b["unit"], b["sales"], b["quantity"], b["amount_fen"])
        for b in answer["batches"]
    ] == sorted([(first, "薄皮核桃", "斤", 2, 3.75, 5000), (second, "红枣", "斤", 1, 3, 900)])
    products = {(p["code"], p["unit"]): (p["sales"], p["amount_fen"]) for p in answer["products"]}
    assert products == {("HT-01", "斤"): (2, 5000), ("", "斤"): (2, 1300)}

    await page_login(client, world.staff.phone)
    trace_page = await client.get("/county/trace", headers=HTML)
    assert 'href="/county/products/sales#batches"' in trace_page.text
    page = await client.get("/county/products/sales", headers=HTML)
    assert page.status_code == 200
    row = re.search(rf'<tr data-batch="{first}" data-unit="斤">.*?</tr>', page.text, re.S)[0]
    assert "2 笔" in row and '<bdi dir="ltr">3.75</bdi> 斤' in row and "50.00 元" in row
    line = re.search(r'<tr data-product="HT-01" data-unit="斤">.*?</tr>', page.text, re.S)[0]
    assert "薄皮核桃" in line and "50.00 元" in line

    # The page maps a text to a product.
    token = CSRF_FIELD.search(page.text).group(1)
    mapped = await client.post(
        "/county/products/sales",
        data={"_csrf_token": token, "text": "红枣", "product_id": walnut["id"]},
        headers=HTML,
    )
    assert mapped.status_code == 303, mapped.text
    after = await client.get("/county/products/sales", headers=HTML)
    text_row = re.search(r'<tr data-text="红枣">.*?</tr>', after.text, re.S)[0]
    assert f'<option value="{walnut["id"]}" selected>' in text_row
    for language, word in (("ug", "ئىز قوغلاش تۈركۈمى بويىچە"), ("en", "By trace batch")):
        localized = await client.get(f"/county/products/sales?lang={language}", headers=HTML)
        assert word in localized.text


async def test_mapping_is_the_countys_staff_only_and_to_its_own_products(client, world):
    foreign = await client.post(
        f"/api/v1/counties/{world.foreign_county_id}/products",
        json=TEAPOT,
        headers=world.foreign_staff.headers,
    )
    refused = await map_text(client, world, "茶壶", foreign.json()["id"])
    assert refused.status_code == 422
    assert refused.json()["code"] == "catalogue_unknown_product"
    for actor in (world.keeper_a, world.foreign_staff):
        answer = await client.put(
            f"/api/v1/counties/{world.county_id}/product-texts",
            json={"text": "茶壶", "product_id": None},
            headers=actor.headers,
        )
        assert answer.status_code == 403
        assert (await client.get(sales_url(world), headers=actor.headers)).status_code == 403
    assert await AuditEntry.count().where(AuditEntry.action == "catalogue_text.map") == 0
