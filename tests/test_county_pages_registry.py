"""The registry screens under /county/registry/: list, create and edit through forms, with the
registry's own validation shown next to the fields, the input kept, CSRF required, and another
county's rows out of reach."""

from __future__ import annotations

import re

from backend.accounts.service import verify_password
from backend.accounts.tables import User
from backend.i18n import translate
from backend.registry.keeper_pages import KEEPER_SCREEN
from backend.registry.pages import REGISTRY_SCREENS
from backend.registry.tables import Household, Station, Township, Village
from tests.test_county_pages import CSRF_FIELD, HTML, assert_no_full_phone, html_as, page_login


async def form_token(client, path: str) -> str:
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    return CSRF_FIELD.search(page.text).group(1)


def field_error(text: str, name: str) -> str:
    match = re.search(rf'data-error-for="{name}">([^<]+)<', text)
    return match.group(1) if match else ""


async def test_create_township_and_village_through_the_forms(client, world):
    await page_login(client, world.staff.phone)
    token = await form_token(client, "/county/registry/townships")
    created = await client.post(
        "/county/registry/townships",
        data={"_csrf_token": token, "name": "新河镇", "code": "XH"},
        headers=HTML,
    )
    assert created.status_code == 303
    assert created.headers["location"] == "/county/registry/townships?saved=1"
    township = await Township.select().where(Township.name == "新河镇").first()
    assert township["county"] == world.county_id

    token = await form_token(client, "/county/registry/villages")
    created = await client.post(
        "/county/registry/villages",
        data={
            "_csrf_token": token,
            "township_id": str(township["id"]),
            "name": "桥头村",
            "poor": "on",
        },
        headers=HTML,
    )
    assert created.status_code == 303
    village = await Village.select().where(Village.name == "桥头村").first()
    assert village["poor"] is True
    listing = await client.get("/county/registry/villages", headers=HTML)
    assert "桥头村" in listing.text


async def test_errors_next_to_fields_and_input_kept(client, world):
    await page_login(client, world.staff.phone)
    token = await form_token(client, "/county/registry/stations")
    refused = await client.post(
        "/county/registry/stations",
        data={
            "_csrf_token": token,
            "village_id": str(world.village_id),
            "name": "新站",
            "code": "A001",  # station A's code
            "address": "村委会旁",
            "shelves": "6",
            "layers": "4",
        },
        headers=HTML,
    )
    assert refused.status_code == 200
    assert field_error(refused.text, "code") == "这个编号已经被使用了。"
    assert 'value="村委会旁"' in refused.text and 'value="新站"' in refused.text
    assert await Station.count().where(Station.name == "新站") == 0

    bad_code = await client.post(
        "/county/registry/stations",
        data={"_csrf_token": token, "village_id": str(world.village_id), "name": "新站",
              "code": "有 空格"},
        headers=HTML,
    )  # fmt: skip
    assert "填写不正确" in field_error(bad_code.text, "code")
    assert 'value="有 空格"' in bad_code.text

    token = await form_token(client, "/county/registry/keepers")
    weak = await client.post(
        "/county/registry/keepers",
        data={"_csrf_token": token, "station_id": str(world.station_b), "name": "新站长",
              "phone": "13711112222", "password": "short"},
        headers=HTML,
    )  # fmt: skip
    assert "密码至少需要" in field_error(weak.text, "password")
    assert 'value="新站长"' in weak.text
    assert 'value="short"' not in weak.text  # passwords are never echoed
    assert await User.count().where(User.phone == "13711112222") == 0
    # A phone number that is no mobile's: said under 手机号 and naming it (it read '“”填写不正确'
    # above the form), for a keeper and a household alike.
    for short in ("1380000", "138****5678"):
        bad_phone = await client.post(
            "/county/registry/keepers",
            data={"_csrf_token": token, "station_id": str(world.station_b), "name": "新站长",
                  "phone": short, "password": "Qingshan-2026"},
            headers=HTML,
        )  # fmt: skip
        assert field_error(bad_phone.text, "phone") == "“手机号”填写不正确，请检查。"
        assert f'value="{short}"' in bad_phone.text


async def test_keeper_created_reset_and_deactivated(client, world):
    await page_login(client, world.staff.phone)
    token = await form_token(client, "/county/registry/keepers")
    created = await client.post(
        "/county/registry/keepers",
        data={"_csrf_token": token, "station_id": str(world.station_b), "name": "新站长",
              "phone": "13711112222", "password": "good-pass-123", "language": "ug"},
        headers=HTML,
    )  # fmt: skip
    assert created.status_code == 303
    keeper = await User.select().where(User.phone == "13711112222").first()
    assert keeper["role"] == "keeper" and keeper["station"] == world.station_b
    path = f"/county/registry/keepers/{keeper['id']}"
    edit = await client.get(path, headers=HTML)
    assert "137****2222" in edit.text
    assert_no_full_phone(edit.text)
    token = CSRF_FIELD.search(edit.text).group(1)
    reset = await client.post(
        f"{path}/password", data={"_csrf_token": token, "password": "another-pass-9"}, headers=HTML
    )
    assert reset.status_code == 303
    stored = await User.select(User.password_hash).where(User.id == keeper["id"]).first()
    assert await verify_password(stored["password_hash"], "another-pass-9")
    # Deactivating: the edit form without the "active" box ticked.
    off = await client.post(
        path,
        data={"_csrf_token": token, "name": "新站长", "station_id": str(world.station_b)},
        headers=HTML,
    )
    assert off.status_code == 303
    assert (await User.select(User.active).where(User.id == keeper["id"]).first())[
        "active"
    ] is False


async def test_station_closed_and_reopened(client, world):
    await page_login(client, world.staff.phone)
    path = f"/county/registry/stations/{world.station_b}"
    token = await form_token(client, path)
    empty = await client.post(f"{path}/close", data={"_csrf_token": token}, headers=HTML)
    assert empty.status_code == 200 and field_error(empty.text, "reason")
    # A close refused for its date comes back in its own box, the reason as typed; the edit
    # form above keeps the station's own values (it came back blank, the message twice).
    early = await client.post(
        f"{path}/close",
        data={"_csrf_token": token, "reason": "站长外出务工", "closed_on": "2000-01-01"},
        headers=HTML,
    )
    assert early.status_code == 200
    assert early.text.count('data-error-for="closed_on"') == 1
    edit = early.text.split('data-form="edit"')[1].split("</form>")[0]
    close = early.text.split('data-form="close"')[1].split("</form>")[0]
    name = (await Station.select(Station.name).where(Station.id == world.station_b).first())["name"]
    assert f'value="{name}"' in edit and "2000-01-01" not in edit
    assert 'value="站长外出务工"' in close and 'data-error-for="closed_on"' in close
    closed = await client.post(
        f"{path}/close", data={"_csrf_token": token, "reason": "站长外出务工"}, headers=HTML
    )
    assert closed.status_code == 303
    row = await Station.select().where(Station.id == world.station_b).first()
    assert row["closed_at"] is not None and row["closed_reason"] == "站长外出务工"
    reopened = await client.post(f"{path}/reopen", data={"_csrf_token": token}, headers=HTML)
    assert reopened.status_code == 303
    assert (await Station.select().where(Station.id == world.station_b).first())[
        "closed_at"
    ] is None


async def test_household_phone_masked_and_kept_when_left_empty(client, world):
    await page_login(client, world.staff.phone)
    token = await form_token(client, "/county/registry/households")
    created = await client.post(
        "/county/registry/households",
        data={"_csrf_token": token, "village_id": str(world.poor_village_id), "code": "T-0099",
              "head_name": "王建国", "phone": "13912340000", "poverty": "on"},
        headers=HTML,
    )  # fmt: skip
    assert created.status_code == 303
    listing = await client.get("/county/registry/households", headers=HTML)
    assert "139****0000" in listing.text
    assert_no_full_phone(listing.text)
    household = await Household.select().where(Household.code == "T-0099").first()
    path = f"/county/registry/households/{household['id']}"
    edit = await client.get(path, headers=HTML)
    assert_no_full_phone(edit.text)
    saved = await client.post(
        path,
        data={
            "_csrf_token": token,
            "village_id": str(world.poor_village_id),
            "head_name": "王建华",
        },
        headers=HTML,
    )
    assert saved.status_code == 303
    row = await Household.select().where(Household.id == household["id"]).first()
    assert row["head_name"] == "王建华" and row["phone"] == "13912340000"
    assert row["poverty"] is False  # the box was not ticked


async def test_forms_need_the_csrf_token(client, world):
    await page_login(client, world.staff.phone)
    refused = await client.post(
        "/county/registry/townships", data={"name": "无令牌镇"}, headers=HTML
    )
    assert refused.status_code == 403
    assert await Township.count().where(Township.name == "无令牌镇") == 0


async def test_other_countys_rows_are_out_of_reach(client, world):
    foreign_township = (
        await Township.select().where(Township.county == world.foreign_county_id).first()
    )
    for path in (
        f"/county/registry/townships/{foreign_township['id']}",
        f"/county/registry/stations/{world.foreign_station}",
        f"/county/registry/keepers/{world.foreign_keeper.id}",
    ):
        response = await client.get(path, headers=html_as(world.staff))
        assert response.status_code == 403, path
    response = await client.post(
        f"/county/registry/stations/{world.foreign_station}/close",
        data={"reason": "x"},
        headers=world.staff.headers,
    )
    assert response.status_code == 403
    row = await Station.select().where(Station.id == world.foreign_station).first()
    assert row["closed_at"] is None


async def test_registry_pages_render_in_every_language(client, world):
    for screen in ("townships", "villages", "stations", "households", "keepers"):
        for lang in ("zh-CN", "en", "ug"):
            response = await client.get(
                f"/county/registry/{screen}?lang={lang}", headers=html_as(world.staff)
            )
            assert response.status_code == 200, (screen, lang)
            assert "county_page." not in response.text and "field." not in response.text
            label = {**REGISTRY_SCREENS, "keepers": KEEPER_SCREEN}[screen].create_fields[0].name
            assert translate(f"field.{label}", lang) in response.text  # in the page's language
            assert_no_full_phone(response.text)


async def test_county_settings_in_yuan_and_percent(client, world):
    from backend.registry.tables import County

    await page_login(client, world.staff.phone)
    page = await client.get("/county/registry/county", headers=HTML)
    assert 'value="1.00"' in page.text  # 100 fen per parcel, shown in 元
    token = CSRF_FIELD.search(page.text).group(1)
    form = {
        "_csrf_token": token,
        "target_township_pct": "100",
        "target_village_pct": "70",
        "target_poor_village_pct": "55",
        "subsidy_fen_per_parcel": "1.50",
        "subsidy_monthly_cap_fen": "800",
        "parcel_free_days": "3",
        "parcel_daily_fee_fen": "0.5",
        "parcel_fee_cap_fen": "3.00",
        "parcel_return_days": "7",
        "checkin_reminder_weekday": "2",
        "checkin_reminder_hour": "10",
        "month_close_day": "8",
    }
    saved = await client.post("/county/registry/county", data=form, headers=HTML)
    assert saved.status_code == 303
    county = await County.select().where(County.id == world.county_id).first()
    assert county["target_village_pct"] == 70 and county["subsidy_fen_per_parcel"] == 150
    assert county["subsidy_monthly_cap_fen"] == 80000 and county["subsidy_farm_only"] is False
    assert county["parcel_daily_fee_fen"] == 50 and county["checkin_reminder_weekday"] == 2
    assert county["month_close_day"] == 8
    coverage = await client.get("/county/coverage", headers=HTML)
    assert "70%" in coverage.text.split('data-target="villages"')[1].split("</tr>")[0]

    bad = await client.post(
        "/county/registry/county",
        data={**form, "target_village_pct": "120", "subsidy_fen_per_parcel": "1.5元"},
        headers=HTML,
    )
    assert bad.status_code == 200
    assert field_error(bad.text, "target_village_pct") or field_error(
        bad.text, "subsidy_fen_per_parcel"
    )
    assert 'value="1.5元"' in bad.text  # the typed input is kept
    unchanged = await County.select().where(County.id == world.county_id).first()
    assert unchanged["target_village_pct"] == 70


async def test_levels_days_and_poor_townships_through_the_forms(client, world):
    """The registry pages set a station's level and days and a township's 贫困乡镇 flag; a
    closing day before the opening day is refused next to its field and changes nothing."""
    await page_login(client, world.staff.phone)
    token = await form_token(client, "/county/registry/townships")
    made = await client.post(
        "/county/registry/townships",
        data={"_csrf_token": token, "name": "高山乡", "poor": "on"},
        headers=HTML,
    )
    assert made.status_code == 303
    assert (await Township.select().where(Township.name == "高山乡").first())["poor"] is True
    listing = await client.get("/county/registry/townships?lang=zh-CN", headers=HTML)
    assert "贫困乡镇" in listing.text

    form = await client.get("/county/registry/stations?lang=zh-CN", headers=HTML)
    assert '<option value="township">乡级服务站</option>' in form.text
    created = await client.post(
        "/county/registry/stations",
        data={"_csrf_token": token, "village_id": str(world.village_id), "name": "镇站",
              "code": "Z001", "level": "township", "opened_on": "2025-03-01"},
        headers=HTML,
    )  # fmt: skip
    assert created.status_code == 303, created.text
    row = await Station.select().where(Station.code == "Z001").first()
    assert (row["level"], str(row["opened_on"])) == ("township", "2025-03-01")
    path = f"/county/registry/stations/{row['id']}"
    edit = await client.get(f"{path}?lang=zh-CN", headers=HTML)
    assert 'value="2025-03-01"' in edit.text and "乡级服务站" in edit.text

    early = await client.post(
        f"{path}/close",
        data={"_csrf_token": token, "reason": "撤并", "closed_on": "2025-02-01"},
        headers=HTML,
    )
    assert early.status_code == 200
    assert "早于开站日期" in field_error(early.text, "closed_on")
    assert (await Station.select().where(Station.code == "Z001").first())["closed_at"] is None
    closed = await client.post(
        f"{path}/close",
        data={"_csrf_token": token, "reason": "撤并", "closed_on": "2025-09-30"},
        headers=HTML,
    )
    assert closed.status_code == 303
    # Edited while closed: a 村级服务点 from 2025-04-01 that closed on 2025-10-31.
    changed = await client.post(
        path,
        data={"_csrf_token": token, "name": "镇站", "level": "village", "opened_on": "2025-04-01",
              "closed_on": "2025-10-31", "shelves": "6", "layers": "4"},
        headers=HTML,
    )  # fmt: skip
    assert changed.status_code == 303, changed.text
    row = await Station.select().where(Station.code == "Z001").first()
    assert row["level"] == "village"
    assert (str(row["opened_on"]), str(row["closed_on"])) == ("2025-04-01", "2025-10-31")
    listed = await client.get("/county/registry/stations?lang=zh-CN", headers=HTML)
    line = listed.text.split("Z001")[1].split("</tr>")[0]
    assert "村级服务点" in line and "2025-10-31" in line and "已关闭" in line


async def test_a_refused_box_says_the_limit_it_passed(client, world):
    """A number above its range or a text too long was told only "“货架数”填写不正确，请检查。"
    (the page and the API alike): now the limit it passed, in the reader's language."""
    api = await client.patch(
        f"/api/v1/counties/{world.county_id}",
        json={"checkin_reminder_hour": 25},
        headers={**world.staff.headers, "accept-language": "ug"},
    )
    assert api.status_code == 400 and api.json()["code"] == "invalid_input"
    assert api.json()["field"] == "checkin_reminder_hour"
    assert "\u206623\u2069" in api.json()["detail"]  # the limit, isolated in right-to-left text
    hour = await client.patch(
        f"/api/v1/counties/{world.county_id}", json={"checkin_reminder_hour": 25},
        headers={**world.staff.headers, "accept-language": "zh-CN"},
    )  # fmt: skip
    assert hour.json()["detail"] == "“提醒时间（点）”不能大于 23。"

    await page_login(client, world.staff.phone)
    path = f"/county/registry/stations/{world.station_b}"
    token = await form_token(client, path)
    opened = re.search(
        r'name="opened_on" type="date" value="([^"]*)"', (await client.get(path, headers=HTML)).text
    )[1]
    edit = {"_csrf_token": token, "name": "B站", "level": "village", "opened_on": opened,
            "shelves": "125", "layers": "4"}  # fmt: skip
    refused = await client.post(f"{path}?lang=zh-CN", data=edit, headers=HTML)
    assert re.fullmatch(r"“货架数”不能大于 \d+。", field_error(refused.text, "shelves"))
    long_name = await client.post(
        path, data={**edit, "shelves": "6", "name": "站" * 300}, headers=HTML
    )
    assert re.fullmatch(r"“名称”最多 \d+ 个字。", field_error(long_name.text, "name"))
    unchanged = await Station.select().where(Station.id == world.station_b).first()
    assert unchanged["shelves"] != 125 and unchanged["name"] != "站" * 300


async def test_a_required_choice_sent_empty_comes_back_empty(client, world):
    """A station sent with no village (the browser's own check off): refused under 所属村, the
    choice shown empty; it came back set to the first village, as if chosen."""
    await page_login(client, world.staff.phone)
    token = await form_token(client, "/county/registry/stations")
    refused = await client.post(
        "/county/registry/stations",
        data={"_csrf_token": token, "village_id": "", "name": "新站", "code": "N001"},
        headers=HTML,
    )
    assert refused.status_code == 200
    assert field_error(refused.text, "village_id") == "请填写“村”。"
    choice = refused.text.split('name="village_id"')[1].split("</select>")[0]
    assert '<option value="">—</option>' in choice and " selected" not in choice
    assert await Station.count().where(Station.code == "N001") == 0
