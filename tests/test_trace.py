"""Traceability (API.md "Traceability"): a county registers trace batches; the public page a buyer
reaches by scanning shows the batch without personal data, with no script, small, in zh-CN, ug and
en, and counts one scan per visit (not bots, HEAD or the QR image), exactly under concurrency."""

from __future__ import annotations

import asyncio
import datetime
import re

from backend import clock
from backend.trace.tables import TraceBatch
from tests.test_county_pages import CSRF_FIELD, HTML, page_login

# A phone that has not visited yet: no cookie (an explicit Cookie header keeps the test client's
# cookie jar, and so an earlier visit's marker, out of the request). Each request is a new visit.
PHONE = {
    "user-agent": "Mozilla/5.0 (Linux; Android 12; V2049A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/86.0 Mobile Safari/537.36 MicroMessenger/8.0.40",
    **HTML,
}
PHONE_UA = {**PHONE, "cookie": ""}
BOT_UA = {"user-agent": "Mozilla/5.0 (compatible; Baiduspider/2.0)", **HTML}
HEAD_NAME = "买买提·艾力"
HEAD_PHONE = "13912345678"


def batches_url(county_id) -> str:
    return f"/api/v1/counties/{county_id}/trace-batches"


async def household_with_a_name(client, world) -> str:
    answer = await client.post(
        f"/api/v1/counties/{world.county_id}/households",
        json={
            "village_id": str(world.village_id),
            "code": "T-0099",
            "head_name": HEAD_NAME,
            "phone": HEAD_PHONE,
        },
        headers=world.staff.headers,
    )
    assert answer.status_code == 201, answer.text
    return "T-0099"


async def create(client, world, **fields):
    body = {"product": "岳普湖红枣", **fields}
    return await client.post(batches_url(world.county_id), json=body, headers=world.staff.headers)


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver.local")


async def test_create_and_list_with_scans_counted_per_visit(client, world):
    household = await household_with_a_name(client, world)
    created = await create(
        client,
        world,
        household_code=household,
        station_id=str(world.station_a),
        harvested_on="2026-10-01",
        quantity=12.5,
        unit="kg",
        inspection="passed",
        brand="岳普湖",
        certification="地理标志",
    )
    assert created.status_code == 201, created.text
    answer = created.json()
    assert set(answer) == {"id", "code", "url"}
    assert re.fullmatch(r"TEST-[0-9A-HJKMNP-TV-Z]{8}", answer["code"])
    assert answer["url"] == f"http://testserver.local/t/{answer['code']}"
    page = path_of(answer["url"])

    for _ in range(3):
        assert (await client.get(page, headers=PHONE_UA)).status_code == 200
    assert (await client.get(page, headers=BOT_UA)).status_code == 200
    assert (await client.head(page, headers=PHONE_UA)).status_code == 200
    qr = await client.get(page + ".svg", headers=PHONE_UA)
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.lstrip().startswith("<?xml") and "<svg" in qr.text

    listed = await client.get(batches_url(world.county_id), headers=world.staff.headers)
    assert listed.status_code == 200
    [batch] = listed.json()
    assert batch["code"] == answer["code"] and batch["id"] == answer["id"]
    assert batch["scans"] == 3  # three phone visits; the bot, the HEAD and the QR not
    assert batch["quantity"] == 12.5 and batch["unit"] == "kg"
    assert batch["village_name"] == "东村"  # the household's village is the origin
    assert batch["household_code"] == "T-0099"
    assert batch["station_name"] == "A001服务站"
    assert batch["certification"] == "geo_indication"
    assert batch["inspection"] == "passed"
    assert batch["harvested_on"] == "2026-10-01"


async def test_public_page_shows_the_batch_and_nothing_personal(client, world):
    household = await household_with_a_name(client, world)
    created = await create(
        client,
        world,
        household_code=household,
        station_id=str(world.station_a),
        harvested_on="2026-10-01",
        quantity=3,
        unit="jin",
        inspection="failed",
        brand="疆果园",  # not part of the product's name: shown only if the brand is
        certification="green",
    )
    code = created.json()["code"]
    page = await client.get(f"/t/{code}", headers=PHONE_UA)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    for shown in ("岳普湖红枣", "东村", "A001服务站", "2026-10-01", "不合格", "3 斤", code):
        assert shown in text, shown
    assert "<dt>品牌</dt><dd>疆果园</dd>" in text and "绿色食品" in text
    for personal in (HEAD_NAME, HEAD_PHONE, "T-0099", HEAD_PHONE[-4:]):
        assert personal not in text, personal
    assert "<script" not in text.lower()
    assert len(page.content) < 20 * 1024
    # Kept by the phone, not by a shared cache; the visit's marker says nothing about the buyer.
    assert page.headers["cache-control"] == "private, max-age=300"
    assert page.headers["set-cookie"].startswith(f"tv_{code}=1;")
    # The inline CSS is allowed by its hash, and nothing else runs.
    policy = page.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "'unsafe-inline'" not in policy
    # The QR on the page encodes the page's own URL.
    assert f'data-url="http://testserver.local/t/{code}"' in text


async def test_public_page_in_three_languages(client, world):
    code = (await create(client, world, inspection="passed", quantity=2, unit="box")).json()["code"]
    chinese = await client.get(f"/t/{code}", headers=PHONE_UA)
    assert 'lang="zh-CN"' in chinese.text and "合格" in chinese.text and "产地" in chinese.text
    uyghur = await client.get(f"/t/{code}?lang=ug", headers=PHONE_UA)
    assert 'lang="ug" dir="rtl"' in uyghur.text
    assert "لاياقەتلىك" in uyghur.text and "قۇتا" in uyghur.text
    # The code keeps its order inside right-to-left text.
    assert f'<bdi dir="ltr">{code}</bdi>' in uyghur.text
    english = await client.get(
        f"/t/{code}", headers={**PHONE_UA, "accept-language": "en-US,en;q=0.9"}
    )
    assert 'lang="en"' in english.text and "Passed" in english.text and "2 boxes" in english.text
    assert "Accept-Language" in english.headers["vary"]
    for answer in (chinese, uyghur, english):
        assert "<script" not in answer.text.lower() and len(answer.content) < 20 * 1024


async def test_unknown_code_is_a_small_localized_404(client, world):
    missing = await client.get("/t/TEST-ZZZZZZZZ?lang=ug", headers=PHONE_UA)
    assert missing.status_code == 404
    assert "ئىز قوغلاش ئۇچۇرى تېپىلمىدى" in missing.text
    assert "<script" not in missing.text.lower() and len(missing.content) < 20 * 1024
    chinese = await client.get("/t/nonsense", headers=PHONE_UA)
    assert chinese.status_code == 404 and "未找到溯源信息" in chinese.text
    assert (await client.get("/t/TEST-ZZZZZZZZ.svg")).status_code == 404
    script = await client.get("/t/TEST-ZZZZZZZZ")
    assert script.headers["content-type"].startswith("application/problem+json")


async def test_codes_typed_with_lookalike_letters_still_find_the_batch(client, world):
    code = (await create(client, world)).json()["code"]
    typed = code.lower().replace("1", "l").replace("0", "o")
    page = await client.get(f"/t/{typed}", headers=PHONE_UA)
    assert page.status_code == 200 and code in page.text


async def test_twenty_concurrent_visits_are_twenty_scans(client, world):
    code = (await create(client, world)).json()["code"]
    answers = await asyncio.gather(*(client.get(f"/t/{code}", headers=PHONE_UA) for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    row = await TraceBatch.select(TraceBatch.scans).where(TraceBatch.code == code).first()
    assert row["scans"] == 20


async def test_only_the_countys_staff_create_and_list(client, world):
    assert (
        await client.post(batches_url(world.county_id), json={"product": "枣"})
    ).status_code == 401
    foreign = await client.post(
        batches_url(world.county_id), json={"product": "枣"}, headers=world.foreign_staff.headers
    )
    assert foreign.status_code == 403
    keeper = await client.post(
        batches_url(world.county_id), json={"product": "枣"}, headers=world.keeper_a.headers
    )
    assert keeper.status_code == 403
    assert (
        await client.get(batches_url(world.county_id), headers=world.keeper_a.headers)
    ).status_code == 403
    assert (await client.get(batches_url(world.county_id))).status_code == 401
    assert await TraceBatch.count() == 0
    assert (await create(client, world)).status_code == 201
    # The foreign county sees none of the home county's batches.
    foreign_list = await client.get(
        batches_url(world.foreign_county_id), headers=world.foreign_staff.headers
    )
    assert foreign_list.status_code == 200 and foreign_list.json() == []


async def test_bad_inputs_are_problems_naming_the_field_and_write_nothing(client, world):
    tomorrow = (clock.utcnow() + datetime.timedelta(days=2)).date().isoformat()
    foreign_village = await client.get(
        f"/api/v1/counties/{world.foreign_county_id}/villages",
        headers=world.foreign_staff.headers,
    )
    cases = [
        ({"product": ""}, "product", 400),
        ({"product": "   "}, "product", 422),
        ({"product": "红枣\n"}, "product", 422),
        ({"product": "红\t枣"}, "product", 400),
        ({"brand": "岳普湖\n"}, "brand", 422),
        ({"product": "枣" * 61}, "product", 400),
        ({"village_id": foreign_village.json()[0]["id"]}, "village_id", 422),
        ({"station_id": str(world.foreign_station)}, "station_id", 422),
        ({"household_code": world.foreign_household_code}, "household_code", 422),
        ({"household_code": "NOPE-1"}, "household_code", 422),
        (
            {"household_code": world.household_code, "village_id": str(world.village_id)},
            "household_code",
            422,
        ),  # T-0001 lives in the poor village
        ({"harvested_on": "2026-02-30"}, "harvested_on", 400),
        ({"harvested_on": tomorrow}, "harvested_on", 422),
        ({"quantity": 0, "unit": "kg"}, "quantity", 400),
        ({"quantity": -1, "unit": "kg"}, "quantity", 400),
        ({"quantity": "12,5", "unit": "kg"}, "quantity", 400),
        ({"quantity": 1.2345, "unit": "kg"}, "quantity", 422),
        ({"quantity": 5}, "unit", 422),
        ({"quantity": 5, "unit": "ton"}, "unit", 422),
        ({"inspection": "maybe"}, "inspection", 422),
        ({"certification": "best"}, "certification", 422),
        ({"brand": "x" * 41}, "brand", 400),
    ]
    for fields, field, status in cases:
        answer = await client.post(
            batches_url(world.county_id),
            json={"product": "红枣", **fields},
            headers={**world.staff.headers, "accept-language": "en"},
        )
        # The schema's refusals are 400 as everywhere in the API; the registry's and the rules'
        # are 422.
        assert answer.status_code == status, (fields, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["field"] == field, (fields, answer.json())
    assert await TraceBatch.count() == 0
    chinese = await client.post(
        batches_url(world.county_id),
        json={"product": "红枣", "household_code": "NOPE-1"},
        headers=world.staff.headers,
    )
    assert chinese.json()["detail"] == "本县没有这个户码。"


async def test_staff_page_creates_lists_and_prints_labels(client, world):
    await page_login(client, world.staff.phone)
    page = await client.get("/county/trace", headers=HTML)
    assert page.status_code == 200
    assert 'href="/county/trace"' in page.text  # in the county navigation
    token = CSRF_FIELD.search(page.text).group(1)
    refused = await client.post(
        "/county/trace",
        data={"_csrf_token": token, "product": "红枣", "quantity": "12,5斤", "unit": "kg"},
        headers=HTML,
    )
    assert refused.status_code == 200
    assert 'data-error-for="quantity"' in refused.text
    assert 'value="红枣"' in refused.text and 'value="12,5斤"' in refused.text  # input kept
    assert await TraceBatch.count() == 0
    created = await client.post(
        "/county/trace",
        data={
            "_csrf_token": token,
            "product": "红枣",
            "quantity": "12.5",
            "unit": "kg",
            "village_id": str(world.village_id),
            "inspection": "passed",
        },
        headers=HTML,
    )
    assert created.status_code == 303, created.text
    row = await TraceBatch.select().first()
    assert created.headers["location"] == f"/county/trace?saved={row['code']}"
    await client.get(f"/t/{row['code']}", headers=PHONE_UA)
    listing = await client.get("/county/trace", headers=HTML)
    match = re.search(rf'<tr data-batch="{row["code"]}">.*?</tr>', listing.text, re.S)
    assert match, listing.text
    # This year's scans and all scans, each with its unit.
    assert '<td class="num scans-year">1 次</td>' in match.group(0)
    assert '<td class="num scans">1 次</td>' in match.group(0)
    assert f'href="http://testserver.local/t/{row["code"]}"' in match.group(0)
    assert f'href="http://testserver.local/t/{row["code"]}.svg"' in match.group(0)
    labels = await client.get(f"/county/trace/{row['id']}/labels", headers=HTML)
    assert labels.status_code == 200
    assert labels.text.count('<div class="label">') == 24
    assert labels.text.count("<svg") == 24 and "@page{size:A4" in labels.text
    assert "<script" not in labels.text.lower()
    for language, word in (("ug", "ئىز قوغلاش"), ("en", "Traceability")):
        localized = await client.get(f"/county/trace?lang={language}", headers=HTML)
        assert word in localized.text


async def test_another_countys_labels_are_out_of_reach(client, world):
    code_answer = await client.post(
        batches_url(world.foreign_county_id),
        json={"product": "土豆"},
        headers=world.foreign_staff.headers,
    )
    batch_id = code_answer.json()["id"]
    await page_login(client, world.staff.phone)
    answer = await client.get(f"/county/trace/{batch_id}/labels", headers=HTML)
    assert answer.status_code == 404
