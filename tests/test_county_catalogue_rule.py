"""A change of the catalogue's rule (a text mapped, a product's category) moves the county's
figures at once without rebuilding the county (rollups.follow_catalogue): only the months of the
sales it moved are recounted, and what they give is what a rebuild gives, in every rollup table,
whichever way a text moved (to a product that is not farm produce, to a farm product, unmapped),
beside a reversed sale, a sale naming a product by its code, another station's sales and a closed
month. A product added moves nothing and stops nothing."""

from __future__ import annotations

import contextlib

from backend import db, runtime
from backend.county import rollups
from tests.rollup_tables import same_rows, snapshot
from tests.support import event, push, statuses
from tests.test_catalogue import TEAPOT, WALNUT, add, make_farm
from tests.test_catalogue_sales import map_text
from tests.test_county_rollups import at
from tests.test_months import close, in_last_month, last_month, retail


async def forget_the_kept_rule(county_id) -> None:
    async with db.write_transaction():
        await db.execute(
            "UPDATE county_rollup_state SET products_rule = '' WHERE county = $1", county_id
        )


def sold(product: str, amount_fen: int, when: str, **more) -> dict:
    data = {"product": product, "quantity": 1, "unit": "个", "amount_fen": amount_fen,
            "commission_fen": 0, "channel": "微信", **more}  # fmt: skip
    return event("sale.recorded", data, when)


async def farm_retail(client, world, month: str) -> int:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["figures"]["farm_retail_fen"]


async def test_a_mapped_text_recounts_its_months_as_a_rebuild_would(client, world):
    teapot = (await add(client, world, TEAPOT)).json()
    walnut = (await add(client, world, WALNUT)).json()
    poor = world.household_code
    a_sales = [
        sold("茶壶", 3000, in_last_month(3)),
        sold("茶壶", 2000, at(0), household_code=poor),
        sold("茶壶", 1000, at(0)),  # reversed below
        sold("茶壶", 500, at(0), product_code=walnut["code"]),  # its code decides, not its text
        sold("红枣", 700, at(0)),
    ]
    assert set(statuses(await push(client, world.keeper_a, a_sales))) == {"accepted"}
    b_sales = [sold("茶壶", 4000, in_last_month(5)), sold("核桃", 900, in_last_month(5))]
    # Months of other sales: the text's months are a few of the county's, so they are
    # recounted alone (a text sold in most of them rebuilds the county).
    earlier = [sold("红枣", 300, at(days)) for days in (70, 100, 130, 160)]
    assert set(statuses(await push(client, world.keeper_a, earlier))) == {"accepted"}
    earlier = [sold("红枣", 300, at(days)) for days in (70, 100, 130, 160)]
    assert set(statuses(await push(client, world.keeper_b, earlier))) == {"accepted"}
    assert set(statuses(await push(client, world.keeper_b, b_sales))) == {"accepted"}
    reversal = event("entry.reversed", {"target_id": a_sales[2]["id"], "reason": "录错了"})
    assert statuses(await push(client, world.keeper_a, [reversal])) == ["accepted"]
    await rollups.refresh()
    await close(client, world, last_month(), station=world.station_b)  # frozen: 4,900 farm
    month = at(0)[:7]
    assert await farm_retail(client, world, month) == 2000 + 500 + 700

    for product_id, farm_this_month in (
        (teapot["id"], 500 + 700),  # not farm produce: the text's sales leave 农产品 retail
        (walnut["id"], 2000 + 500 + 700),  # a farm product: farm produce again
        (teapot["id"], 500 + 700),
        (None, 2000 + 500 + 700),  # unmapped: farm produce, as every text is by default
    ):
        mapped = await map_text(client, world, "茶壶", product_id)
        assert mapped.status_code == 200, mapped.text
        assert await farm_retail(client, world, month) == farm_this_month
        followed = await snapshot()
        await rollups.rebuild()
        same_rows(followed, await snapshot())
    # Station B's closed month kept its figures through every mapping; A's open one followed.
    assert await retail(client, world, last_month()) == 3000 + 4000 + 900


async def test_a_category_changed_recounts_the_months_of_its_sales(client, world):
    """A product's category changed: the sales naming it by code and the texts mapped to it move
    at once, on the next read, and the figures equal a rebuild's."""
    teapot = (await add(client, world, TEAPOT)).json()
    by_code = sold("茶壶", 3000, in_last_month(3), product_code=teapot["code"])
    earlier = [sold("红枣", 300, at(days)) for days in (70, 100, 130, 160)]
    await push(client, world.keeper_a, [by_code, sold("茶杯", 800, at(0)), *earlier])
    assert (await map_text(client, world, "茶杯", teapot["id"])).status_code == 200
    assert await farm_retail(client, world, last_month()) == 0
    assert await farm_retail(client, world, at(0)[:7]) == 0
    await make_farm(client, world, TEAPOT, teapot["id"])
    assert await farm_retail(client, world, last_month()) == 3000
    assert await farm_retail(client, world, at(0)[:7]) == 800
    followed = await snapshot()
    await rollups.rebuild()
    same_rows(followed, await snapshot())


async def test_a_product_added_leaves_the_figures_moving(client, world):
    """A product added (not farm produce) changes the catalogue's rule, but no sale can name its
    code yet: the figures keep following the keepers' entries without waiting for a rebuild."""
    await push(client, world.keeper_a, [sold("红枣", 700, at(0))])
    month = at(0)[:7]
    assert await farm_retail(client, world, month) == 700
    assert (await add(client, world, TEAPOT)).status_code == 201
    await push(client, world.keeper_a, [sold("核桃", 900, at(0))])
    assert await farm_retail(client, world, month) == 700 + 900
    followed = await snapshot()
    await rollups.rebuild()
    same_rows(followed, await snapshot())


async def test_a_rule_not_kept_rebuilds_the_county_under_the_new_one(client, world):
    """Rollups counted before the rule was kept beside its digest (a county migrated from an
    earlier release) cannot tell what moved: the next change rebuilds the county (the job's
    work; a page's read leaves it to the job)."""
    teapot = (await add(client, world, TEAPOT)).json()
    by_code = sold("茶壶", 3000, in_last_month(3), product_code=teapot["code"])
    await push(client, world.keeper_a, [by_code, sold("茶杯", 800, at(0))])
    assert await farm_retail(client, world, last_month()) == 0
    await forget_the_kept_rule(world.county_id)
    await make_farm(client, world, TEAPOT, teapot["id"])
    assert await farm_retail(client, world, last_month()) == 0  # a page does not rebuild
    await rollups.refresh()  # the job does
    assert await farm_retail(client, world, last_month()) == 3000
    followed = await snapshot()
    await rollups.rebuild()
    same_rows(followed, await snapshot())


async def test_a_refresh_that_waited_behind_a_catalogue_change_counts_under_the_new_rule(
    client, world, monkeypatch
):
    """The rollup job reads the county's rule, then waits for the county's turn while staff map a
    text (their request follows the change) and a keeper pushes a sale of it. Its turn come, the
    job counts that sale under the rule the rollups now name, not the one it read: right after
    it the rollups are a rebuild's, and the next refresh has nothing left to do."""
    teapot = (await add(client, world, TEAPOT)).json()
    for keeper in (world.keeper_a, world.keeper_b):  # the text's month is a few of the county's
        earlier = [sold("红枣", 300, at(days)) for days in (40, 70, 100, 130, 160)]
        assert set(statuses(await push(client, keeper, earlier))) == {"accepted"}
    assert statuses(await push(client, world.keeper_a, [sold("茶壶", 3000, at(0))])) == ["accepted"]
    await rollups.refresh()
    real_turn, asked, mapped = rollups._one_refresh_at_a_time, [], []

    @contextlib.asynccontextmanager
    async def mapped_while_waiting(county_id):
        if not asked:  # the job's refresh, before its turn comes (not the mapping's own follow)
            asked.append(county_id)
            mapped.append(await map_text(client, world, "茶壶", teapot["id"]))
            b_sale = [sold("茶壶", 2000, at(0))]  # behind, for the job's refresh
            assert statuses(await push(client, world.keeper_b, b_sale)) == ["accepted"]
        async with real_turn(county_id):
            yield

    monkeypatch.setattr(rollups, "_one_refresh_at_a_time", mapped_while_waiting)
    async with runtime.running():
        await rollups.refresh_county(world.county_id)
    monkeypatch.undo()
    assert mapped[0].status_code == 200, mapped[0].text
    refreshed = await snapshot()
    assert await rollups.refresh_county(world.county_id) == 0
    await rollups.rebuild()
    same_rows(refreshed, await snapshot())
    assert await farm_retail(client, world, at(0)[:7]) == 0  # 茶壶 is not farm produce now


async def test_a_rule_not_kept_is_kept_at_the_next_read(client, world):
    """A county migrated from a release that did not keep the rule has it kept by its next read
    of the figures (its rollups were counted under the rule its digest names): a category changed
    after that moves the figures at once, without the job's rebuild."""
    teapot = (await add(client, world, TEAPOT)).json()
    by_code = sold("茶壶", 3000, in_last_month(3), product_code=teapot["code"])
    earlier = [sold("红枣", 300, at(days)) for days in (70, 100, 130, 160)]
    await push(client, world.keeper_a, [by_code, *earlier])
    assert await farm_retail(client, world, last_month()) == 0
    await forget_the_kept_rule(world.county_id)
    assert await farm_retail(client, world, last_month()) == 0  # this read keeps the rule
    await make_farm(client, world, TEAPOT, teapot["id"])
    assert await farm_retail(client, world, last_month()) == 3000
    followed = await snapshot()
    await rollups.rebuild()
    same_rows(followed, await snapshot())
