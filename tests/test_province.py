"""A province (or prefecture) officer (issue #17): an admin opens the account on several counties;
the officer reads them side by side — the same figures each county's own kpis and coverage give —
and nothing else: no county's pages or API, no other county."""

from __future__ import annotations

from backend.accounts.tables import User
from tests.support import PASSWORD, bearer, event, login, push, received
from tests.test_county_pages import CSRF_FIELD, HTML

OFFICER = "13300000001"


def _sale(amount_fen: int) -> dict:
    return event(
        "sale.recorded",
        {"product": "核桃", "quantity": 2, "unit": "斤", "amount_fen": amount_fen,
         "commission_fen": 100, "channel": "微信"},
    )  # fmt: skip


async def _officer(client, world, counties) -> dict[str, str]:
    created = await client.post(
        "/api/v1/province/officers",
        json={"phone": OFFICER, "name": "省商务厅", "password": PASSWORD,
              "county_ids": [str(county) for county in counties]},
        headers=world.admin.headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert (created.json()["role"], created.json()["county_id"]) == ("province", None)
    return bearer((await login(client, OFFICER))["token"])


async def test_the_officer_reads_its_counties_as_each_county_counts_them(client, world):
    results = await push(client, world.keeper_a, [_sale(12_345), received(), received()])
    assert {result["status"] for result in results} == {"accepted"}
    officer = await _officer(client, world, [world.county_id, world.foreign_county_id])

    answer = await client.get("/api/v1/province/counties", headers=officer)
    assert answer.status_code == 200, answer.text
    lines = answer.json()["counties"]
    assert [line["code"] for line in lines] == ["FAR", "TEST"]  # by code
    home = lines[1]
    assert (home["retail_fen"], home["upward_sales_fen"]) == (12_345, 12_345)
    assert (home["parcels_in"], home["parcels_out"]) == (2, 0)
    assert (home["stations_built"], home["stations_active"]) == (2, 1)  # A recorded; B did not

    # The same answer the county's own staff read.
    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis",
        params={"month": home["month"]},
        headers=world.staff.headers,
    )
    coverage = await client.get(
        f"/api/v1/counties/{world.county_id}/coverage", headers=world.staff.headers
    )
    assert home["retail_fen"] == kpis.json()["figures"]["retail_fen"]
    assert home["year_retail_fen"] == kpis.json()["year_to_date"]["figures"]["retail_fen"]
    assert home["targets_set"] == len(kpis.json()["targets"])
    assert home["targets_met"] == sum(1 for t in kpis.json()["targets"] if t["met"])
    assert home["village_pct"] == coverage.json()["villages"]["pct"]

    # Read only, and only the province's view: no county's own API.
    own = await client.get(f"/api/v1/counties/{world.county_id}/kpis", headers=officer)
    assert own.status_code == 403
    bad_month = await client.get(
        "/api/v1/province/counties", params={"month": "2026-13"}, headers=officer
    )
    assert bad_month.status_code == 400


async def test_only_its_counties_and_only_an_admin_opens_one(client, world):
    officer = await _officer(client, world, [world.foreign_county_id])
    lines = (await client.get("/api/v1/province/counties", headers=officer)).json()["counties"]
    assert [line["code"] for line in lines] == ["FAR"]
    for actor in (world.staff, world.keeper_a):
        refused = await client.get("/api/v1/province/counties", headers=actor.headers)
        assert refused.status_code == 403
        assert refused.json()["code"] in ("province_only", "staff_only")
    everyone = await client.get("/api/v1/province/counties", headers=world.admin.headers)
    assert [line["code"] for line in everyone.json()["counties"]] == ["FAR", "TEST"]

    by_staff = await client.post(
        "/api/v1/province/officers",
        json={"phone": "13300000002", "name": "x", "password": PASSWORD,
              "county_ids": [str(world.county_id)]},
        headers=world.staff.headers,
    )  # fmt: skip
    assert by_staff.status_code == 403
    unknown = await client.post(
        "/api/v1/province/officers",
        json={"phone": "13300000003", "name": "x", "password": PASSWORD,
              "county_ids": [str(world.county_id), "00000000-0000-4000-8000-000000000000"]},
        headers=world.admin.headers,
    )  # fmt: skip
    assert unknown.status_code == 422, unknown.text
    assert (unknown.json()["code"], unknown.json()["field"]) == ("unknown_county", "county_ids[1]")
    phones = {row["phone"] for row in await User.select(User.phone)}
    assert {"13300000002", "13300000003"}.isdisjoint(phones)  # refused: nothing written


async def test_the_officer_lands_on_the_comparison_page(client, world):
    await _officer(client, world, [world.county_id, world.foreign_county_id])
    form = await client.get("/county/login?lang=ug", headers=HTML)
    token = CSRF_FIELD.search(form.text).group(1)
    landed = await client.post(
        "/county/login",
        data={"phone": OFFICER, "password": PASSWORD, "_csrf_token": token, "next": ""},
        headers=HTML,
    )
    assert landed.status_code == 303 and landed.headers["location"] == "/county/province"
    page = await client.get("/county/province?lang=ug", headers=HTML)
    assert page.status_code == 200
    assert 'dir="rtl"' in page.text
    assert 'data-county="TEST"' in page.text and 'data-county="FAR"' in page.text
    assert "测试县" in page.text and "远方县" in page.text
    dashboard = await client.get("/county/", headers=HTML)
    assert dashboard.status_code in (302, 303, 403)  # the county pages are not the officer's
