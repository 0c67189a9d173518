"""The county's product catalogue (issue #15): staff list, add and edit products through the API
and the county page, each edit audited; another county's staff and keepers are refused."""

from __future__ import annotations

import re

from backend.accounts.tables import AuditEntry
from backend.catalogue.tables import CatalogueProduct
from tests.test_county_pages import CSRF_FIELD, HTML, page_login


def products_url(county_id) -> str:
    return f"/api/v1/counties/{county_id}/products"


WALNUT = {
    "code": "ht-01",
    "name": "薄皮核桃",
    "category": "farm",
    "brand": "叶城",
    "certification": "地理标志",
    "unit": "斤",
}
TEAPOT = {"code": "CJ-01", "name": "陶瓷茶壶", "category": "other", "unit": "个"}


async def add(client, world, product: dict):
    return await client.post(
        products_url(world.county_id), json=product, headers=world.staff.headers
    )


async def make_farm(client, world, product: dict, product_id: str) -> None:
    """Staff change the product's category to farm produce."""
    edit = {k: v for k, v in product.items() if k != "code"} | {"category": "farm"}
    answer = await client.put(
        f"{products_url(world.county_id)}/{product_id}", json=edit, headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text


async def test_staff_add_list_and_edit_products_audited(client, world):
    created = await add(client, world, WALNUT)
    assert created.status_code == 201, created.text
    walnut = created.json()
    assert (walnut["code"], walnut["certification"]) == ("HT-01", "geo_indication")
    assert (await add(client, world, TEAPOT)).status_code == 201

    listed = await client.get(products_url(world.county_id), headers=world.staff.headers)
    assert [(p["code"], p["name"], p["category"], p["unit"]) for p in listed.json()] == [
        ("CJ-01", "陶瓷茶壶", "other", "个"),
        ("HT-01", "薄皮核桃", "farm", "斤"),
    ]

    edited = await client.put(
        f"{products_url(world.county_id)}/{walnut['id']}",
        json={"name": "薄皮核桃", "category": "farm", "brand": "叶城", "certification": "有机",
              "unit": "公斤"},
        headers=world.staff.headers,
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert (edited.json()["code"], edited.json()["certification"]) == ("HT-01", "organic")
    assert edited.json()["unit"] == "公斤"

    audited = await AuditEntry.select(AuditEntry.action, AuditEntry.details).where(
        AuditEntry.action.like("catalogue_product.%")
    )
    actions = sorted(row["action"] for row in audited)
    assert actions == ["catalogue_product.create"] * 2 + ["catalogue_product.edit"]
    edit = next(row for row in audited if row["action"] == "catalogue_product.edit")
    assert "geo_indication" in str(edit["details"]) and "organic" in str(edit["details"])


async def test_bad_input_is_refused_and_changes_nothing(client, world):
    assert (await add(client, world, WALNUT)).status_code == 201
    taken = await add(client, world, {**WALNUT, "code": "HT-01", "name": "别的"})
    assert taken.status_code == 409
    assert taken.json()["code"] == "catalogue_code_taken"
    assert taken.json()["detail"] == "本县已有编号为 HT-01 的产品。"
    for bad in (
        {**TEAPOT, "category": "vegetable"},
        {**TEAPOT, "certification": "金奖"},
        {**TEAPOT, "code": "茶 壶"},
        {**TEAPOT, "name": ""},
    ):
        refused = await add(client, world, bad)
        assert refused.status_code in (400, 422), (bad, refused.text)
    assert await CatalogueProduct.count() == 1
    # The same code in another county is another product.
    foreign = await client.post(
        products_url(world.foreign_county_id), json=WALNUT, headers=world.foreign_staff.headers
    )
    assert foreign.status_code == 201


async def test_only_the_countys_staff(client, world):
    walnut = (await add(client, world, WALNUT)).json()
    url = products_url(world.county_id)
    for actor in (world.foreign_staff, world.keeper_a):
        assert (await client.get(url, headers=actor.headers)).status_code == 403
        assert (await client.post(url, json=TEAPOT, headers=actor.headers)).status_code == 403
        put = await client.put(f"{url}/{walnut['id']}", json=TEAPOT, headers=actor.headers)
        assert put.status_code in (403, 400)
    # A product of another county is not found through this county.
    foreign = (
        await client.post(
            products_url(world.foreign_county_id), json=TEAPOT, headers=world.foreign_staff.headers
        )
    ).json()
    edit = {k: v for k, v in TEAPOT.items() if k != "code"}
    answer = await client.put(f"{url}/{foreign['id']}", json=edit, headers=world.staff.headers)
    assert answer.status_code == 404
    assert await CatalogueProduct.count() == 2


async def test_county_page_lists_adds_and_edits(client, world):
    await page_login(client, world.staff.phone)
    page = await client.get("/county/products", headers=HTML)
    assert page.status_code == 200
    assert 'href="/county/products"' in page.text  # in the county navigation
    token = CSRF_FIELD.search(page.text).group(1)
    refused = await client.post(
        "/county/products",
        data={"_csrf_token": token, "code": "HT-01", "name": "核桃", "category": "nuts"},
        headers=HTML,
    )
    assert 'data-error-for="category"' in refused.text and 'value="核桃"' in refused.text
    created = await client.post(
        "/county/products",
        data={"_csrf_token": token, "code": "HT-01", "name": "核桃", "category": "farm",
              "certification": "green", "unit": "斤"},
        headers=HTML,
    )  # fmt: skip
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/county/products?saved=HT-01"
    row = await CatalogueProduct.select().first()
    edit_form = await client.get(f"/county/products?edit={row['id']}", headers=HTML)
    assert f'action="/county/products/{row["id"]}"' in edit_form.text
    edited = await client.post(
        f"/county/products/{row['id']}",
        data={"_csrf_token": token, "name": "核桃", "category": "other", "unit": "斤"},
        headers=HTML,
    )
    assert edited.status_code == 303, edited.text
    listing = await client.get("/county/products", headers=HTML)
    line = re.search(r'<tr data-product="HT-01">.*?</tr>', listing.text, re.S).group(0)
    assert 'data-category="other"' in line and "非农产品" in line
    for language, word in (("ug", "مەھسۇلات مۇندەرىجىسى"), ("en", "Not farm produce")):
        localized = await client.get(f"/county/products?lang={language}", headers=HTML)
        assert word in localized.text


async def test_a_keeper_reads_the_catalogue_of_the_station_county(client, world):
    """The 代销 form's picker: the phone keeps its county's catalogue for offline use."""
    await add(client, world, WALNUT)
    url = f"/api/v1/stations/{world.station_a}/products"
    answer = await client.get(url, headers=world.keeper_a.headers)
    assert answer.status_code == 200
    assert [(p["code"], p["name"], p["unit"]) for p in answer.json()] == [
        ("HT-01", "薄皮核桃", "斤")
    ]
    for actor in (world.keeper_b, world.foreign_keeper, world.foreign_staff):
        assert (await client.get(url, headers=actor.headers)).status_code == 403
