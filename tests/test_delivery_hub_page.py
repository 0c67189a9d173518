"""The county hub's scanner page, `/county/hub`, through HTTP: the form post is one hub dispatch
(the API's service), with the session's CSRF token; a keeper is refused; numbers that cannot be
tracking numbers are 422 problem details that change nothing; a hub account logs in to this page
alone; the legs open past 48 h are listed."""

from __future__ import annotations

import datetime
import html
import json
import re

from backend import clock
from tests.support import PASSWORD, Actor, login
from tests.test_county_pages import CSRF_FIELD, HTML, html_as, page_login

REAL_NOW = clock.utcnow
HUB_PHONE = "13700000099"


async def legs(client, world) -> dict:
    """The month's totals, read through the delivery API as the county's staff."""
    response = await client.get(
        f"/api/v1/counties/{world.county_id}/delivery", headers=world.staff.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["totals"]


async def hub_form(client) -> str:
    """The page as the logged-in browser sees it; returns the form's CSRF token."""
    page = await client.get("/county/hub", headers=HTML)
    assert page.status_code == 200, page.text
    return CSRF_FIELD.search(page.text).group(1)


async def make_hub_account(client, world) -> None:
    made = await client.post(
        f"/api/v1/counties/{world.county_id}/users",
        json={"phone": HUB_PHONE, "name": "分拣员", "password": PASSWORD, "role": "hub"},
        headers=world.staff.headers,
    )
    assert made.status_code == 201, made.text


async def test_staff_hand_a_scanned_list_over_as_one_dispatch(client, world):
    from backend.accounts.tables import AuditEntry

    await page_login(client, world.staff.phone)
    token = await hub_form(client)
    numbers = ["SF1000000000001", "yt2000000000002", "JD0012345678901-1-2-", "JD0012345678901-2-2-"]
    response = await client.post(
        "/county/hub",
        data={
            "_csrf_token": token,
            "station_id": str(world.station_a),
            "tracking_nos": "\n".join(numbers) + "\n\n",
        },
        headers=HTML,
    )
    assert response.status_code == 201, response.text
    text = response.text
    # 4 parcels (the JD number's two packages are two), to station A's route.
    assert "已将 4 件包裹交给" in text
    assert "交接时间" in text
    assert "YT2000000000002" in text  # normalised as the ledger does
    handed = json.loads(html.unescape(re.search(r'data-handed="([^"]+)"', text).group(1)))
    assert sorted(handed) == [
        "JD0012345678901#1/2",
        "JD0012345678901#2/2",
        "SF1000000000001",
        "YT2000000000002",
    ]
    # Each parcel of the answer's list with its carrier, guessed from the number, in Chinese.
    carriers = re.findall(
        r'<li data-tracking-no="([A-Z0-9]+)"(?: data-package="([0-9/]+)")?>.*?'
        r'<span class="carrier" data-carrier="(\w+)">([^<]+)</span></li>',
        text,
    )
    assert sorted(carriers) == [
        ("JD0012345678901", "1/2", "JD", "京东"),
        ("JD0012345678901", "2/2", "JD", "京东"),
        ("SF1000000000001", "", "SF", "顺丰"),
        ("YT2000000000002", "", "YTO", "圆通"),
    ]
    # The page's script names the carriers as the page does, in the page's language.
    names = json.loads(html.unescape(re.search(r'data-carriers="([^"]+)"', text).group(1)))
    assert names["JD"] == "京东" and names["OTHER"] == "其他快递"
    assert (await legs(client, world))["legs"] == 4
    assert (await legs(client, world))["pending"] == 4
    audited = await AuditEntry.select().where(AuditEntry.action == "hub.dispatched")
    assert len(audited) == 1 and audited[0]["target_id"] == str(world.station_a)

    # The same list again (a reload that posts twice): nothing new, the answer says so.
    again = await client.post(
        "/county/hub",
        data={"_csrf_token": token, "station_id": str(world.station_a), "tracking_nos": numbers[0]},
        headers=HTML,
    )
    assert again.status_code == 201
    assert "其中 1 件此前已交给该线路" in again.text
    assert (await legs(client, world))["legs"] == 4


async def test_the_form_post_needs_the_csrf_token(client, world):
    await page_login(client, world.staff.phone)
    await hub_form(client)
    for token in ("", "forged-token-" + "x" * 40):
        response = await client.post(
            "/county/hub",
            data={
                "_csrf_token": token,
                "station_id": str(world.station_a),
                "tracking_nos": "SF1000000000001",
            },
            headers=HTML,
        )
        assert response.status_code == 403
    assert (await legs(client, world))["legs"] == 0


async def test_keepers_and_other_counties_are_refused(client, world):
    for method in ("GET", "POST"):
        response = await client.request(
            method,
            "/county/hub",
            data={"station_id": str(world.station_a), "tracking_nos": "SF1000000000001"},
            headers=html_as(world.keeper_a),
        )
        assert response.status_code == 403, (method, response.status_code)
    # Another county's staff cannot hand parcels to this county's station.
    foreign = await client.post(
        "/county/hub",
        data={"station_id": str(world.station_a), "tracking_nos": "SF1000000000001"},
        headers=world.foreign_staff.headers,
    )
    assert foreign.status_code == 422
    assert foreign.json()["code"] == "delivery_unknown_station"
    assert (await legs(client, world))["legs"] == 0


async def test_bad_numbers_are_422_problems_that_change_nothing(client, world):
    url = "/county/hub"
    station = str(world.station_a)
    cases = [
        # (numbers as typed, expected code, field)
        ("SF1000000000001\n12-34\nYT2000000000002", "delivery_invalid_tracking_no_at", None),
        ("SF1000000000001\nSF10000 0000\u202e02", "delivery_invalid_tracking_no_at", None),
        ("", "invalid_input", "tracking_nos"),
        # (A list longer than one dispatch takes, 501, is handed over in parts: see
        # tests/browser/test_hub_page.py.)
    ]
    for numbers, code, field in cases:
        response = await client.post(
            url,
            data={"station_id": station, "tracking_nos": numbers},
            headers=world.staff.headers,
        )
        assert response.status_code == 422, (numbers[:40], response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["code"] == code
        if field:
            assert problem["field"] == field
    first = await client.post(
        url,
        data={"station_id": station, "tracking_nos": "SF1000000000001\n12-34"},
        headers=world.staff.headers,
    )
    assert first.json()["detail"].startswith("第 2 个单号")  # the second number is the bad one
    not_a_station = await client.post(
        url,
        data={"station_id": "not-a-uuid", "tracking_nos": "SF1000000000001"},
        headers=world.staff.headers,
    )
    assert not_a_station.status_code == 422
    assert not_a_station.json()["field"] == "station_id"
    assert (await legs(client, world))["legs"] == 0

    # In the browser: the page again with the message, 422, the list kept in the form.
    await page_login(client, world.staff.phone)
    token = await hub_form(client)
    page = await client.post(
        url,
        data={
            "_csrf_token": token,
            "station_id": station,
            "tracking_nos": "SF1000000000001\n12-34",
        },
        headers=HTML,
    )
    assert page.status_code == 422
    assert re.search(r'role="alert" data-error>第 2 个单号不是快递单号', page.text), page.text
    assert "SF1000000000001\n12-34</textarea>" in page.text
    assert f'data-selected="{station}"' in page.text
    assert (await legs(client, world))["legs"] == 0


async def test_a_hub_account_logs_in_to_its_page_alone(client, world):
    await make_hub_account(client, world)
    response = await page_login(client, HUB_PHONE, next_path="/county/stations")
    assert response.status_code == 303
    assert response.headers["location"] == "/county/hub"
    page = await client.get("/county/hub", headers=HTML)
    assert page.status_code == 200
    assert 'class="mainnav"' not in page.text  # staff's pages are not the hub's
    assert (await client.get("/county/", headers=HTML)).status_code == 403
    assert (await client.get("/county/login", headers=HTML)).headers["location"] == "/county/hub"
    token = CSRF_FIELD.search(page.text).group(1)
    handed = await client.post(
        "/county/hub",
        data={
            "_csrf_token": token,
            "station_id": str(world.station_b),
            "tracking_nos": "SF3000000000003",
        },
        headers=HTML,
    )
    assert handed.status_code == 201
    assert "已将 1 件包裹交给" in handed.text
    assert (await legs(client, world))["legs"] == 1
    # Its token also works on the API, as before.
    token_login = await login(client, HUB_PHONE)
    hub = Actor(
        id=token_login["user"]["id"], phone=HUB_PHONE, token=token_login["token"], role="hub"
    )
    assert (await client.get("/county/hub", headers=html_as(hub))).status_code == 200


async def test_late_legs_are_listed_with_their_hours(client, world):
    """A parcel handed over 50 h ago and not received is late; one of 10 h ago is not yet."""
    now = REAL_NOW()
    for number, hours_ago in (("SF5000000000005", 50), ("SF6000000000006", 10)):
        clock.utcnow = lambda ago=hours_ago: now - datetime.timedelta(hours=ago)  # type: ignore[assignment]
        try:
            answer = await client.post(
                f"/api/v1/counties/{world.county_id}/hub-dispatches",
                json={"station_id": str(world.station_b), "tracking_nos": [number]},
                headers=world.staff.headers,
            )
        finally:
            clock.utcnow = REAL_NOW  # type: ignore[assignment]
        assert answer.status_code == 201
    for lang, hours in (("zh-CN", "50.0 小时"), ("en", "50.0 h"), ("ug", "50.0")):
        page = await client.get(f"/county/hub?lang={lang}", headers=html_as(world.staff))
        assert page.status_code == 200
        late = page.text.split('id="late"', 1)[1]
        assert 'data-tracking-no="SF5000000000005"' in late
        assert "SF6000000000006" not in late
        assert hours in late
