"""The product sales page sums each station's months (county/sale_months.py) instead of parsing
every sale of the county per request: its figures stay those of a recount from the log — after
the first count, after new sales, after a reversal of an earlier month's sale, and after a
rebuild — and the page shows what the API answers."""

from __future__ import annotations

import datetime
import json
import re
from collections import defaultdict

from backend.county import rollups
from backend.ledger.tables import Event
from tests.support import event, push
from tests.test_catalogue import WALNUT, add
from tests.test_catalogue_sales import sale, sales_url
from tests.test_county_figures import SHANGHAI
from tests.test_county_pages import HTML, page_login


def days_ago(days: int) -> str:
    moment = datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=days)
    return moment.isoformat(timespec="seconds")


async def recount_from_the_log(world) -> dict:
    """The API's `products` and `texts` figures computed here from the county's events alone."""
    rows = await Event.select(Event.id, Event.type, Event.data).where(
        Event.county == world.county_id
    )
    taken_back = {
        json.loads(row["data"])["target_id"] for row in rows if row["type"] == "entry.reversed"
    }
    products: dict = defaultdict(lambda: [0, 0])
    texts: dict = defaultdict(lambda: [0, 0])
    for row in rows:
        if row["type"] != "sale.recorded" or str(row["id"]) in taken_back:
            continue
        data = json.loads(row["data"])
        key = (data.get("product_code") or "", data["unit"])
        products[key][0] += 1
        products[key][1] += data["amount_fen"]
        if not data.get("product_code"):
            texts[data["product"]][0] += 1
            texts[data["product"]][1] += data["amount_fen"]
    return {
        "products": {key: tuple(value) for key, value in products.items()},
        "texts": {key: tuple(value) for key, value in texts.items()},
    }


async def answered(client, world) -> dict:
    answer = (await client.get(sales_url(world), headers=world.staff.headers)).json()
    return {
        "products": {
            (p["code"], p["unit"]): (p["sales"], p["amount_fen"]) for p in answer["products"]
        },
        "texts": {t["text"]: (t["sales"], t["amount_fen"]) for t in answer["texts"]},
    }


async def test_the_monthly_groups_equal_a_recount_from_the_log(client, world):
    await add(client, world, WALNUT)
    last_month = sale("红枣", 5000, 9)
    last_month["occurred_at"] = days_ago(40)
    await push(
        client,
        world.keeper_a,
        [last_month, sale("核桃", 2000, 1.5, product_code="HT-01"), sale("红枣", 900, 3)],
    )
    await push(client, world.keeper_b, [sale("红枣", 400, 1, unit="公斤")])
    first = await answered(client, world)  # the county counted whole
    assert first == await recount_from_the_log(world)
    assert first["texts"]["红枣"] == (3, 6300)

    # New sales and a reversal of last month's sale: only the touched months are recounted.
    await push(
        client,
        world.keeper_a,
        [
            sale("核桃", 3000, 2.25, product_code="HT-01"),
            event("entry.reversed", {"target_id": last_month["id"], "reason": "录错了"}),
        ],
    )
    second = await answered(client, world)
    assert second == await recount_from_the_log(world)
    assert second["texts"]["红枣"] == (2, 1300)
    assert second["products"][("HT-01", "斤")] == (2, 5000)

    await rollups.rebuild()  # forgets the groups and counts them again
    assert await answered(client, world) == second

    await page_login(client, world.staff.phone)
    page = await client.get("/county/products/sales", headers=HTML)
    line = re.search(r'<tr data-product="HT-01" data-unit="斤">.*?</tr>', page.text, re.S)[0]
    assert "2 笔" in line and "50.00 元" in line
    text_row = re.search(r'<tr data-text="红枣">.*?</tr>', page.text, re.S)[0]
    assert "2 笔" in text_row and "13.00 元" in text_row
