"""The county staff pages: login, the dashboard's figures, stations, coverage; languages; who
gets in; and no full phone number on any page."""

from __future__ import annotations

import calendar
import re

import pytest

from tests.support import PASSWORD, event, now_iso, push, received

HTML = {"accept": "text/html,application/xhtml+xml"}
FULL_PHONE = re.compile(r"\b1\d{10}\b")
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def html_as(actor) -> dict[str, str]:
    return {**HTML, **actor.headers}


async def page_login(client, phone: str, password: str = PASSWORD, next_path: str = ""):
    """Log in through the staff login form, as a browser does (cookies kept by the client)."""
    form_page = await client.get("/county/login", headers=HTML)
    assert form_page.status_code == 200
    token = CSRF_FIELD.search(form_page.text).group(1)
    return await client.post(
        "/county/login",
        data={"phone": phone, "password": password, "_csrf_token": token, "next": next_path},
        headers=HTML,
    )


def assert_no_full_phone(text: str) -> None:
    found = FULL_PHONE.findall(text)
    assert not found, f"unmasked phone numbers in the page: {found}"


async def some_activity(client, world) -> None:
    """Station A checks in and works; station B only receives one parcel."""
    await push(
        client,
        world.keeper_a,
        [
            event("checkin.recorded", {"note": "开门"}),
            received(phone="13912345678"),
            received(),
            event(
                "sale.recorded",
                {
                    "product": "土豆",
                    "quantity": 10,
                    "unit": "斤",
                    "amount_fen": 12345,
                    "commission_fen": 500,
                    "channel": "微信",
                },
            ),
            event(
                "purchase.ordered",
                {
                    "platform": "taobao",
                    "item": "电饭锅",
                    "amount_fen": 19900,
                    "commission_fen": 300,
                },
            ),
        ],
    )
    await push(client, world.keeper_b, [received(phone="13887654321")])


async def test_browser_without_session_is_sent_to_login(client, world):
    response = await client.get("/county/stations?month=2026-10", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/county/login?next=")
    # Scripts (no HTML in Accept) get the API's 401 problem document instead.
    response = await client.get("/county/")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_login_form_logs_staff_in_and_out(client, world):
    response = await page_login(client, world.staff.phone, next_path="/county/coverage")
    assert response.status_code == 303
    assert response.headers["location"] == "/county/coverage"
    assert "cz_session" in client.cookies
    page = await client.get("/county/", headers=HTML)
    assert page.status_code == 200
    assert "用户0010" in page.text  # the staff member's name on every page
    again = await client.get("/county/login", headers=HTML)
    assert again.status_code == 303 and again.headers["location"] == "/county/"
    token = CSRF_FIELD.search(page.text).group(1)
    out = await client.post("/county/logout", data={"_csrf_token": token}, headers=HTML)
    assert out.status_code == 303
    assert (await client.get("/county/", headers=HTML)).status_code == 303


async def test_login_refuses_wrong_password_keepers_and_missing_token(client, world):
    wrong = await page_login(client, world.staff.phone, password="wrong-password")
    assert wrong.status_code == 200 and "手机号或密码不对" in wrong.text
    assert 'value="13700000010"' in wrong.text  # the phone is kept in the form
    keeper = await page_login(client, world.keeper_a.phone)
    assert keeper.status_code == 200 and "只有县电商公共服务中心" in keeper.text
    assert "cz_session" not in client.cookies or not client.cookies["cz_session"]
    client.cookies.clear()
    no_token = await client.post(
        "/county/login", data={"phone": world.staff.phone, "password": PASSWORD}, headers=HTML
    )
    assert no_token.status_code == 200 and "安全校验未通过" in no_token.text
    assert "cz_session" not in client.cookies


async def test_logout_needs_the_csrf_token(client, world):
    await page_login(client, world.staff.phone)
    response = await client.post("/county/logout", data={}, headers=HTML)
    assert response.status_code == 403
    # A form whose token is refused (a tab left open past the session) says to reload the page,
    # not that the staff member may not do this (it said 无权操作).
    assert "页面已过期" in response.text and "无权操作" not in response.text
    assert (await client.get("/county/", headers=HTML)).status_code == 200


@pytest.mark.parametrize("lang", ["zh-CN", "en", "ug"])
async def test_dashboard_shows_this_weeks_checkins_and_activity(client, world, lang):
    await some_activity(client, world)
    response = await client.get(f"/county/?lang={lang}", headers=html_as(world.staff))
    assert response.status_code == 200
    text = response.text
    assert f'<html lang="{lang}" dir="{"rtl" if lang == "ug" else "ltr"}">' in text
    assert response.cookies.get("cz_lang") == lang
    # Two open stations in the home county; A checked in, B did not.
    missing = text.split('data-list="missing"')[1].split("</ul>")[0]
    assert "B001" in missing and "A001" not in missing
    assert "50%" in text
    assert "123.45" in text  # the sale, in yuan
    assert "<svg" in text
    assert_no_full_phone(text)


async def test_dashboard_figures_in_chinese(client, world):
    await some_activity(client, world)
    text = (await client.get("/county/?lang=zh-CN", headers=html_as(world.staff))).text
    assert "1 / 2 个站已打卡" in text
    sale_row = text.split('data-kind="sale_recorded"')[1].split("</tr>")[0]
    assert "1 笔" in sale_row and "123.45 元" in sale_row
    received_row = text.split('data-kind="parcel_received"')[1].split("</tr>")[0]
    assert "3 件" in received_row
    assert "322.45 元" in text  # 网络零售额 = 代购 199.00 + 代销 123.45


async def test_station_list_filters_sorts_and_links(client, world):
    await some_activity(client, world)
    response = await client.get(
        "/county/stations?sort=parcel_received&order=desc", headers=html_as(world.staff)
    )
    assert response.status_code == 200
    codes = re.findall(r'data-station="(\w+)"', response.text)
    assert codes == ["A001", "B001"]
    ascending = await client.get(
        "/county/stations?sort=parcel_received&order=asc", headers=html_as(world.staff)
    )
    assert re.findall(r'data-station="(\w+)"', ascending.text) == ["B001", "A001"]
    assert f"/county/stations/{world.station_a}" in response.text
    other = await client.get(
        f"/county/stations?township={world.township_id}&sort=bogus", headers=html_as(world.staff)
    )
    assert other.status_code == 200
    assert_no_full_phone(response.text)


async def test_station_page_masks_phones_and_shows_the_month(client, world):
    await some_activity(client, world)
    response = await client.get(f"/county/stations/{world.station_a}", headers=html_as(world.staff))
    assert response.status_code == 200
    assert "139****5678" in response.text
    assert "137****0001" in response.text  # the keeper
    assert "开门" in response.text
    assert 'data-table="days"' in response.text
    assert_no_full_phone(response.text)
    october = await client.get(
        f"/county/stations/{world.station_a}?month=2026-10", headers=html_as(world.staff)
    )
    assert october.status_code == 200


async def test_coverage_against_targets(client, world):
    await some_activity(client, world)
    response = await client.get("/county/coverage?lang=zh-CN", headers=html_as(world.staff))
    assert response.status_code == 200
    text = response.text
    # A township counts as covered by a 乡级服务站: the world has only 村级服务点.
    townships = text.split('data-target="townships"')[1].split("</tr>")[0]
    assert "0 / 1</bdi> 个乡镇" in townships and "0%" in townships and "未达标" in townships
    villages = text.split('data-target="villages"')[1].split("</tr>")[0]
    assert "2 / 2</bdi> 个村" in villages and "100%" in villages
    poor = text.split('data-target="poor_villages"')[1].split("</tr>")[0]
    assert "1 / 1" in poor
    farm = text.split('data-figure="farm_retail"')[1].split("</tr>")[0]
    assert "123.45 元" in farm
    assert f"/api/v1/counties/{world.county_id}/export.xlsx?month=" in text
    assert 'data-list="poor-without-station"' not in text  # 西村 has station B001


async def test_the_poor_villages_still_without_a_station_are_listed(client, world):
    made = await client.post(
        f"/api/v1/counties/{world.county_id}/villages",
        json={"township_id": str(world.township_id), "name": "北村", "poor": True},
        headers=world.staff.headers,
    )
    assert made.status_code == 201, made.text
    for lang, heading in (
        ("zh-CN", "尚无村级服务点的贫困村（1 个）"),
        ("en", "without a village service point (1)"),
    ):
        page = await client.get(f"/county/coverage?lang={lang}", headers=html_as(world.staff))
        listed = page.text.split('data-list="poor-without-station"')[1].split("</ul>")[0]
        assert "北村" in listed and "西村" not in listed and heading in page.text
        poor = page.text.split('data-target="poor_villages"')[1].split("</tr>")[0]
        assert "1 / 2" in poor and "50%" in poor


async def test_keepers_and_foreign_staff_are_refused(client, world):
    keeper = await client.get("/county/", headers=html_as(world.keeper_a))
    assert keeper.status_code == 403 and "<html" in keeper.text
    assert 'href="/app/"' in keeper.text  # a keeper is pointed to the phone app
    foreign = await client.get(
        f"/county/stations/{world.station_a}", headers=html_as(world.foreign_staff)
    )
    assert foreign.status_code == 403
    api_style = await client.get(
        f"/county/stations/{world.station_a}", headers=world.foreign_staff.headers
    )
    assert api_style.status_code == 403
    assert api_style.headers["content-type"].startswith("application/problem+json")


async def test_static_files_and_csp(client, world):
    css = await client.get("/county/static/county.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    js = await client.get("/county/static/county.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    page = await client.get("/county/", headers=html_as(world.staff))
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and " style=" not in page.text


async def test_notice_sent_from_the_form_with_counts(client, world):
    await page_login(client, world.staff.phone)
    page = await client.get("/county/notices", headers=HTML)
    token = CSRF_FIELD.search(page.text).group(1)
    refused = await client.post(
        "/county/notices",
        data={"_csrf_token": token, "scope": "county", "title": "", "body": "明天停电"},
        headers=HTML,
    )
    assert refused.status_code == 200
    assert 'data-error-for="title"' in refused.text and "明天停电" in refused.text
    # A township notice with no township chosen was refused with nothing on the page.
    for scope in ("township", "station"):
        unaddressed = await client.post(
            "/county/notices",
            data={"_csrf_token": token, "scope": scope, "title": "停电", "body": "明天停电"},
            headers=HTML,
        )
        assert unaddressed.status_code == 200
        shown = unaddressed.text.split(f'data-error-for="{scope}_id"')[1].split("</")[0]
        assert "请选择要通知的乡镇或服务站" in shown and "明天停电" in unaddressed.text
    sent = await client.post(
        "/county/notices",
        data={
            "_csrf_token": token,
            "scope": "station",
            "station_id": str(world.station_a),
            "title": "年货节",
            "body": "请各站备货",
        },
        headers=HTML,
    )
    assert sent.status_code == 303
    listing = await client.get("/county/notices?lang=en", headers=HTML)
    row = listing.text.split("年货节")[0].rsplit("<tr", 1)[1] + listing.text.split("年货节")[1]
    assert "One station" in row
    assert_no_full_phone(listing.text)


@pytest.mark.parametrize(("lang", "name"), [("zh-CN", "顺丰"), ("ug", "شۈنفېڭ")])
async def test_carriers_by_name_and_the_county_clock_by_its_offset(client, world, lang, name):
    """The station's shelf and the subsidy claims showed carriers as codes (SF, YTO), and every
    page's footer the zone's English id (Asia/Shanghai); now the carrier's name in the page's
    language and the county's clock as UTC+8, isolated left-to-right in Uyghur."""
    await push(client, world.keeper_a, [received("SF1234567890123")])
    dispatched = {"tracking_no": "SF1234567890124", "carrier": "SF", "weight_g": 2500,
                  "fee_fen": 1200, "destination": "杭州", "farm_product": True}  # fmt: skip
    await push(client, world.keeper_a, [event("parcel.dispatched", dispatched)])
    station = await client.get(
        f"/county/stations/{world.station_a}?lang={lang}", headers=html_as(world.staff)
    )
    row = station.text.split("SF1234567890123")[1].split("</tr>")[0]
    assert f"<td>{name}</td>" in row
    claims = await client.get(
        f"/county/subsidies?station=A001&lang={lang}", headers=html_as(world.staff)
    )
    claim = claims.text.split('id="claim"')[1].split("SF1234567890124")[1].split("</tr>")[0]
    assert f"<td>{name}</td>" in claim
    footer = station.text.split('<footer class="footer">')[1].split("</footer>")[0]
    assert '<bdi dir="ltr">UTC+8</bdi>' in footer and "Asia/" not in footer


async def test_subsidies_and_reports_pages(client, world):
    def dispatch() -> dict:
        data = {
            "tracking_no": "SF1234567890123",
            "carrier": "SF",
            "weight_g": 2500,
            "fee_fen": 1200,
            "destination": "杭州",
            "farm_product": True,
        }
        return event("parcel.dispatched", data)

    await push(client, world.keeper_a, [dispatch()])
    await push(client, world.keeper_b, [dispatch()])  # the same parcel claimed again
    for lang in ("zh-CN", "en", "ug"):
        response = await client.get(f"/county/subsidies?lang={lang}", headers=html_as(world.staff))
        assert response.status_code == 200
        assert 'data-station="A001"' in response.text and 'data-station="B001"' in response.text
        duplicates = response.text.split('id="duplicates"')[1].split("</section>")[0]
        assert "SF1234567890123" in duplicates and "B001" in duplicates
        reports = await client.get(f"/county/reports?lang={lang}", headers=html_as(world.staff))
        assert reports.status_code == 200
        # No provincial platform is configured here: the page says plainly nothing is sent.
        assert 'data-reporting="off"' in reports.text and "CUNZHAN_PROVINCE_URL" in reports.text
    zh = await client.get("/county/subsidies?lang=zh-CN", headers=html_as(world.staff))
    assert "1.00 元" in zh.text.split('data-figure="payable"')[1][:40]
    one = await client.get("/county/subsidies?station=A001", headers=html_as(world.staff))
    assert "SF1234567890123" in one.text.split('id="claim"')[1].split("</section>")[0]


async def test_rolled_up_days_show_the_same_figures_as_the_live_ledger(client, world):
    """Past days come from county-data's rollups once they exist, today from the cashbook."""
    from backend.county.rollups import refresh
    from backend.county.tables import RollupState

    sale = event(
        "sale.recorded",
        {
            "product": "核桃",
            "quantity": 5,
            "unit": "斤",
            "amount_fen": 45600,
            "commission_fen": 900,
            "channel": "微信",
        },
        occurred_at=now_iso(-24),
    )
    await push(client, world.keeper_a, [sale, event("checkin.recorded", {})])
    coverage = f"/county/coverage?month={now_iso(-24)[:7]}"  # yesterday's month

    async def figures() -> tuple[str, str]:
        month = (await client.get(coverage, headers=html_as(world.staff))).text
        farm = re.search(r'data-figure="farm_retail".*?class="num now">([^<]+)<', month, re.S)
        dashboard = (await client.get("/county/", headers=html_as(world.staff))).text
        return farm[1], dashboard.split('data-table="activity"')[1].split("</table>")[0]

    live = await figures()  # no rollup yet: everything read from the ledger
    await refresh()
    assert await RollupState.count().where(RollupState.refreshed_at.is_not_null()) >= 1
    rolled = await figures()  # yesterday from the rollups, today from the ledger
    assert "456.00" in live[0]
    assert live == rolled


async def test_every_page_in_every_language_without_keys_or_full_phone_numbers(client, app, world):
    """Every GET page under /county/, with the home county's ids, in zh-CN, en and ug: it renders,
    every text is translated, and no full mobile number appears (parcels' recipients, keepers and
    households all have one)."""
    from backend.registry import service as registry
    from backend.registry.schemas import HouseholdCreate
    from backend.registry.tables import Township, Village
    from tests.test_authorization_matrix import app_routes

    await some_activity(client, world)
    with_phone = await registry.create_household(
        None,
        world.county_id,
        HouseholdCreate(village_id=world.village_id, code="T-0100", phone="13687654321"),
    )
    batch = await client.post(  # a trace batch, for its label sheet
        f"/api/v1/counties/{world.county_id}/trace-batches",
        json={"product": "红枣"},
        headers=world.staff.headers,
    )
    ids = {
        "batch_id": batch.json()["id"],
        "station_id": str(world.station_a),
        "township_id": str(world.township_id),
        "village_id": str(world.village_id),
        "user_id": str(world.keeper_a.id),
        "household_id": str(with_phone.id),
    }
    assert await Township.count() and await Village.count()
    paths = [
        path.format(**ids)
        for method, path in app_routes(app)
        if method == "GET" and path.startswith("/county") and "/static/" not in path
    ]
    assert len(paths) >= 15
    for path in paths:
        for lang in ("zh-CN", "en", "ug"):
            # The province's page is a province officer's or an admin's, not county staff's.
            viewer = world.admin if path == "/county/province" else world.staff
            headers = HTML if path == "/county/login" else html_as(viewer)
            response = await client.get(f"{path}?lang={lang}", headers=headers)
            assert response.status_code == 200, (path, lang, response.status_code)
            text = response.text
            assert f'<html lang="{lang}"' in text
            assert not re.findall(r"\b(?:county_page|field|problem)\.[a-z_.]+", text), (path, lang)
            assert_no_full_phone(text)


async def test_stations_needing_attention(client, world):
    """B has five parcels past the return deadline (7 days) and no check-in; A is fine."""
    await push(client, world.keeper_a, [event("checkin.recorded", {}), received()])
    old = []
    for _ in range(5):
        parcel = received()
        parcel["occurred_at"] = now_iso(-8 * 24)
        old.append(parcel)
    await push(client, world.keeper_b, old)
    text = (await client.get("/county/?lang=zh-CN", headers=html_as(world.staff))).text
    attention = text.split('data-table="attention"')[1].split("</table>")[0]
    assert "A001" not in attention
    row = next(row for row in attention.split("<tr>") if "B001" in row)
    assert "5 件滞留超期" in row and "本周未打卡" in row
    listing = await client.get(
        "/county/stations?sort=overdue&order=desc", headers=html_as(world.staff)
    )
    assert re.findall(r'data-station="(\w+)"', listing.text)[0] == "B001"


async def test_unknown_ids_are_a_not_found_page(client, world):
    missing = "00000000-0000-4000-8000-000000000099"
    page = await client.get(f"/county/stations/{missing}", headers=html_as(world.staff))
    assert page.status_code == 404 and "<html" in page.text and "找不到" in page.text
    api = await client.get(f"/county/stations/{missing}", headers=world.staff.headers)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


async def test_a_mistyped_county_address_is_a_page_in_the_readers_language(client, world):
    """An address under /county that no page answers was a problem document in JSON on the
    screen; a browser now gets the county's error page, in the language it chose."""
    page = await client.get("/county/stationz?lang=ug", headers=html_as(world.staff))
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'lang="ug" dir="rtl"' in page.text and 'href="/county/"' in page.text
    assert "urn:cunzhan:problem" not in page.text
    api = await client.get("/county/stationz", headers=world.staff.headers)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["instance"] == "/county/stationz"
    elsewhere = await client.get("/api/v1/nosuch", headers=html_as(world.staff))
    assert elsewhere.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/county/stations?month=2026-13", "月份格式应为 2026-11"),
        ("/county/months?month=9999-12", "2015-01"),
        ("/county/scorecard?month=11-2026", "月份格式应为 2026-11"),
        ("/county/cash?month=2026-1", "月份格式应为 2026-11"),
    ],
)
async def test_a_month_that_cannot_be_read_is_said_so(client, world, path, words):
    """A hand-typed month the pages cannot show was answered with this month's figures under the
    asked month's address, nothing said; now the county's error page names the problem in the
    reader's language, as the API and the logistics page already did."""
    page = await client.get(path, headers=html_as(world.staff))
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert words in page.text and 'href="/county/"' in page.text
    shown = await client.get(path.split("?")[0], headers=html_as(world.staff))
    assert shown.status_code == 200


async def test_checkins_week_by_week(client, world):
    await push(client, world.keeper_a, [event("checkin.recorded", {})])
    old = event("checkin.recorded", {}, occurred_at=now_iso(-7 * 24))
    await push(client, world.keeper_b, [old])  # B checked in last week, not this week
    for lang in ("zh-CN", "en", "ug"):
        page = await client.get(f"/county/checkins?lang={lang}", headers=html_as(world.staff))
        assert page.status_code == 200
    text = page.text
    a_row = text.split('data-station="A001"')[1].split("</tr>")[0]
    b_row = text.split('data-station="B001"')[1].split("</tr>")[0]
    assert re.findall(r"[✓✗]", a_row)[-1] == "✓"
    assert re.findall(r"[✓✗]", b_row)[-2:] == ["✓", "✗"]
    footer = text.split("<tfoot>")[1]
    assert "50%" in footer and "100%" not in footer.split("</td>")[-2]
    filtered = await client.get(
        f"/county/checkins?township={world.township_id}", headers=html_as(world.staff)
    )
    assert 'data-station="A001"' in filtered.text


@pytest.mark.parametrize("lang", ["zh-CN", "ug", "en"])
async def test_a_date_inside_a_sentence_is_isolated_markup_not_visible_tags(client, world, lang):
    # "本周打卡（<bdi dir="ltr">2026-11-30</bdi> 起）" was shown as text: the translated sentence
    # was a plain string, so the date's isolation markup got escaped (seen in a screenshot).
    await some_activity(client, world)
    page = await client.get("/county/", headers={**html_as(world.staff), "accept-language": lang})
    assert page.status_code == 200
    assert "&lt;bdi" not in page.text and "&amp;lt;" not in page.text
    assert re.search(r'<h2>[^<]*<bdi dir="ltr">\d{4}-\d\d-\d\d</bdi>', page.text), page.text[:2000]


async def test_a_date_in_an_attribute_is_text_not_markup(client, world):
    # The week-by-week check-ins put "week of <date>" in each column's title; a date isolated
    # with <bdi> markup there would close the attribute early and break the table's header.
    await some_activity(client, world)
    for lang in ("zh-CN", "ug"):
        page = await client.get(f"/county/checkins?lang={lang}", headers=html_as(world.staff))
        assert page.status_code == 200
        titles = re.findall(r'title="([^"]*)"', page.text)
        assert titles and all("<" not in title for title in titles), titles[:3]
        assert re.search(r'title="[^"]*\d{4}-\d\d-\d\d[^"]*"', page.text)


def chosen_month(page: str) -> tuple[str, int]:
    """The year and the month number chosen in a page's month picker."""
    this = re.search(r'<option value="(\d{4})-(\d{2})" selected>', page)
    assert this, "the month choice"
    return this.group(1), int(this.group(2))


async def test_month_titles_read_as_months_in_chinese(client, world):
    """ "2026-11 月度数据与去年同期", "县到村 48 小时配送（2026-11 月）": a month written as a code
    inside a Chinese title. Titles now say 2026年11月; choices and addresses keep 2026-11."""
    await page_login(client, world.staff.phone)
    month = (await client.get("/county/coverage?lang=zh-CN", headers=HTML)).text
    year, number = chosen_month(month)
    assert f"{year}年{number}月数据与去年同期" in month
    assert f"下载{year}年{number}月台帐" in month
    assert re.search(r"\d{4}-\d{2} 月", month) is None
    scorecard = (await client.get("/county/scorecard?lang=zh-CN", headers=HTML)).text
    assert f"县到村 48 小时配送（{year}年{number}月）" in scorecard


async def test_month_titles_read_as_months_in_uyghur_and_english(client, world):
    """Uyghur and English titles said "2026-12" where the keeper's phone says 2026-يىلى 12-ئاي
    and December 2026; a Uyghur title then said ئاي ("month") after it twice over."""
    await page_login(client, world.staff.phone)
    english = (await client.get("/county/scorecard?lang=en", headers=HTML)).text
    year, number = chosen_month(english)
    assert f"delivery in 48 hours ({calendar.month_name[number]} {year})" in english
    uyghur = (await client.get("/county/scorecard?lang=ug", headers=HTML)).text
    said = f"\u2066{year}\u2069-يىلى \u2066{number}\u2069-ئاي"  # the digits left-to-right
    assert f"يەتكۈزۈش ({said})" in uyghur
    coverage = (await client.get("/county/coverage?lang=ug", headers=HTML)).text
    assert f"{said}لىق سانلار" in coverage
    assert "ئاي ئاي" not in uyghur + coverage
