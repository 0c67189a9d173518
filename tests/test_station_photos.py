"""Station photos (门头, 标识): resized and re-encoded on upload, EXIF gone and orientation applied,
kept in the database, served to the county's staff only, deleted with an audit entry; what is not
a picture or is too large stores nothing. And the roster workbook (网点花名册)."""

from __future__ import annotations

import datetime
import io
import zoneinfo

from openpyxl import load_workbook
from PIL import Image

from backend import clock
from backend.accounts.tables import AuditEntry
from backend.registry.photos import MAX_BYTES
from backend.registry.tables import StationPhoto
from tests.test_county_pages import CSRF_FIELD, HTML, assert_no_full_phone, page_login
from tests.test_county_pages_registry import field_error
from tests.test_station_file import FULL, file_url

RED, BLUE = (220, 30, 30), (30, 30, 220)


def camera_jpeg() -> bytes:
    """A 4000 × 3000 photo as a phone held upright stores it: the sensor's landscape pixels and
    EXIF orientation 6 (turn 90° clockwise to view), with a camera make and a GPS position. Its
    left half is red, its right half blue: upright, red is on top."""
    image = Image.new("RGB", (4000, 3000), BLUE)
    image.paste(RED, (0, 0, 2000, 3000))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "TestCam"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 34.0, 22.0)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def photos_url(station_id) -> str:
    return f"/api/v1/stations/{station_id}/photos"


def jpeg_headers(actor) -> dict[str, str]:
    return {**actor.headers, "content-type": "image/jpeg"}


async def test_a_camera_photo_is_kept_upright_small_and_without_exif(client, world):
    original = camera_jpeg()
    with Image.open(io.BytesIO(original)) as check:  # the test's own photo is what it says
        assert check.size == (4000, 3000) and check.getexif()[0x0112] == 6
    added = await client.post(
        f"{photos_url(world.station_a)}?kind=front",
        content=original,
        headers=jpeg_headers(world.staff),
    )
    assert added.status_code == 201, added.text
    photo = added.json()
    # Upright it is 3000 × 4000; its long side becomes 1600: 1200 × 1600.
    assert (photo["width"], photo["height"]) == (1200, 1600)
    assert photo["kind"] == "front"
    served = await client.get(photo["url"], headers=world.staff.headers)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert len(served.content) == photo["bytes"] < len(original)
    with Image.open(io.BytesIO(served.content)) as kept:
        assert kept.format == "JPEG" and kept.size == (1200, 1600)
        assert len(kept.getexif()) == 0 and "exif" not in kept.info
        top = kept.getpixel((600, 200))
        bottom = kept.getpixel((600, 1400))
    assert top[0] > 180 and top[2] < 80, top  # red on top: the orientation was applied
    assert bottom[2] > 180 and bottom[0] < 80, bottom
    assert b"TestCam" not in served.content
    # Listed on the file; one row in the database with the bytes; audited.
    file = (await client.get(file_url(world.station_a), headers=world.staff.headers)).json()
    assert [p["id"] for p in file["photos"]] == [photo["id"]]
    row = await StationPhoto.select().where(StationPhoto.station == world.station_a).first()
    assert bytes(row["content"]) == served.content and row["size"] == photo["bytes"]
    (entry,) = await AuditEntry.select().where(AuditEntry.action == "station.photo_added")
    assert entry["target_id"] == str(world.station_a) and entry["actor"] == world.staff.id

    # A PNG with transparency and a WebP are taken too (small ones are not enlarged).
    png = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(png, "PNG")
    sign = await client.post(
        f"{photos_url(world.station_a)}?kind=sign",
        content=png.getvalue(),
        headers={**world.staff.headers, "content-type": "image/png"},
    )
    assert sign.status_code == 201 and (sign.json()["width"], sign.json()["height"]) == (300, 200)
    served = await client.get(sign.json()["url"], headers=world.staff.headers)
    with Image.open(io.BytesIO(served.content)) as kept:
        assert kept.getpixel((150, 100))[0] > 240  # transparent became white, not black
    webp = io.BytesIO()
    Image.new("RGB", (2000, 500), RED).save(webp, "WEBP")
    wide = await client.post(
        f"{photos_url(world.station_a)}?kind=sign",
        content=webp.getvalue(),
        headers={**world.staff.headers, "content-type": "image/webp"},
    )
    assert (wide.json()["width"], wide.json()["height"]) == (1600, 400)

    # Deleted: gone, audited; a second delete is 404.
    deleted = await client.delete(
        f"{photos_url(world.station_a)}/{photo['id']}", headers=world.staff.headers
    )
    assert deleted.status_code == 204
    assert (await client.get(photo["url"], headers=world.staff.headers)).status_code == 404
    again = await client.delete(
        f"{photos_url(world.station_a)}/{photo['id']}", headers=world.staff.headers
    )
    assert again.status_code == 404
    assert await AuditEntry.count().where(AuditEntry.action == "station.photo_deleted") == 1
    assert await StationPhoto.count() == 2


async def test_too_large_or_not_a_picture_stores_nothing(client, world):
    url = f"{photos_url(world.station_a)}?kind=front"
    too_large = await client.post(
        url, content=b"\xff" * (MAX_BYTES + 1), headers=jpeg_headers(world.staff)
    )
    assert too_large.status_code == 413
    assert too_large.json()["code"] == "photo_too_large"
    text = await client.post(
        url, content=b"not a photo at all\n" * 50, headers=jpeg_headers(world.staff)
    )
    assert text.status_code == 422 and text.json()["code"] == "photo_unreadable"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    refused = await client.post(url, content=gif.getvalue(), headers=jpeg_headers(world.staff))
    assert refused.status_code == 422 and refused.json()["code"] == "photo_unreadable"
    truncated = await client.post(
        url, content=camera_jpeg()[:5000], headers=jpeg_headers(world.staff)
    )
    assert truncated.status_code == 422
    kind = await client.post(
        f"{photos_url(world.station_a)}?kind=selfie",
        content=camera_jpeg(),
        headers=jpeg_headers(world.staff),
    )
    assert kind.status_code == 422 and kind.json()["code"] == "station_photo_kind"
    assert await StationPhoto.count() == 0
    assert await AuditEntry.count().where(AuditEntry.action == "station.photo_added") == 0

    # Through the page's form: a text file named .jpg, then 10 MiB + 1 byte.
    await page_login(client, world.staff.phone)
    path = f"/county/registry/stations/{world.station_a}"
    token = CSRF_FIELD.search((await client.get(path, headers=HTML)).text).group(1)
    named = await client.post(
        f"{path}/photos",
        data={"_csrf_token": token, "kind": "front"},
        files={"file": ("门头.jpg", b"hello, I am text", "image/jpeg")},
        headers=HTML,
    )
    assert named.status_code == 200
    assert "JPEG、PNG 或 WebP" in field_error(named.text, "file")
    big = await client.post(
        f"{path}/photos",
        data={"_csrf_token": token, "kind": "sign"},
        files={"file": ("big.jpg", b"\xff" * (MAX_BYTES + 1), "image/jpeg")},
        headers=HTML,
    )
    assert big.status_code == 200
    assert "10 MiB" in field_error(big.text, "file")
    assert await StationPhoto.count() == 0
    # A real photo through the form, then deleted through it.
    added = await client.post(
        f"{path}/photos",
        data={"_csrf_token": token, "kind": "sign"},
        files={"file": ("sign.jpg", camera_jpeg(), "image/jpeg")},
        headers=HTML,
    )
    assert added.status_code == 303
    row = await StationPhoto.select(StationPhoto.id, StationPhoto.kind).first()
    assert row["kind"] == "sign"
    page = await client.get(path, headers=HTML)
    assert f"/photos/{row['id']}.jpg" in page.text and "1200 × 1600 像素" in page.text
    removed = await client.post(
        f"{path}/photos/{row['id']}/delete", data={"_csrf_token": token}, headers=HTML
    )
    assert removed.status_code == 303
    assert await StationPhoto.count() == 0


async def test_photos_are_the_countys_staffs_only(client, world):
    added = await client.post(
        f"{photos_url(world.station_a)}?kind=front",
        content=camera_jpeg(),
        headers=jpeg_headers(world.staff),
    )
    url = added.json()["url"]
    for actor in (world.foreign_staff, world.keeper_a, world.foreign_keeper):
        assert (await client.get(url, headers=actor.headers)).status_code == 403
        upload = await client.post(
            f"{photos_url(world.station_a)}?kind=front",
            content=camera_jpeg(),
            headers=jpeg_headers(actor),
        )
        assert upload.status_code == 403
        gone = await client.delete(
            f"{photos_url(world.station_a)}/{added.json()['id']}", headers=actor.headers
        )
        assert gone.status_code == 403
    # The photo's id under another station of the county is not found.
    elsewhere = url.replace(str(world.station_a), str(world.station_b))
    assert (await client.get(elsewhere, headers=world.staff.headers)).status_code == 404
    assert (
        await client.get(url.replace(".jpg", ".png"), headers=world.staff.headers)
    ).status_code == 404
    assert (await client.get(url)).status_code == 401
    assert await StationPhoto.count() == 1


async def test_the_roster_workbook(client, world):
    await client.put(file_url(world.station_a), json=FULL, headers=world.staff.headers)
    await client.post(
        f"{photos_url(world.station_a)}?kind=front",
        content=camera_jpeg(),
        headers=jpeg_headers(world.staff),
    )
    await client.put(
        file_url(world.station_b),
        json={"company": '=HYPERLINK("http://x")', "has_cctv": True},
        headers=world.staff.headers,
    )
    closed = await client.post(
        f"/api/v1/stations/{world.station_b}/close",
        json={"reason": "搬迁"},
        headers=world.staff.headers,
    )
    assert closed.status_code == 200
    today = clock.utcnow().astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).date()

    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/stations.xlsx", headers=world.staff.headers
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == [
        "乡镇", "村", "编号", "名称", "级别", "开设日期", "关闭日期", "地址", "运营主体",
        "纬度（WGS-84）", "经度（WGS-84）", "站长", "站长电话", "脱贫户", "残疾人", "党员",
        "性别", "电脑", "打印机", "监控", "货架", "扫码枪", "宽带", "统一标识", "检查日期",
        "门头照片（张）", "标识照片（张）",
    ]  # fmt: skip
    midnight = datetime.datetime.combine(today, datetime.time())
    assert rows[1] == [
        "测试县镇", "东村", "A001", "A001服务站", "村级服务点", midnight, None,
        "东村村委会旁 12 号", "测试县邮政分公司", 30.572815, 104.066801, "用户0001",
        "137****0001", "是", "否", "是", "女", "是", "是", "否", "是", "是", "否", "是",
        datetime.datetime(2026, 11, 20), 1, 0,
    ]  # fmt: skip
    assert rows[2] == [
        "测试县镇", "西村", "B001", "B001服务站", "村级服务点", midnight, midnight, None,
        '=HYPERLINK("http://x")', None, None, "用户0002", "137****0002", "否", "否", "否",
        None, "否", "否", "是", "否", "否", "否", "否", None, 0, 0,
    ]  # fmt: skip
    assert len(rows) == 3  # the other county's station is not there
    company = sheet.cell(row=3, column=9)
    assert company.data_type == "s" and company.quotePrefix  # text, never a formula
    assert sheet.cell(row=2, column=6).number_format == "yyyy-mm-dd"
    text = " ".join(str(value) for row in rows for value in row if value is not None)
    assert_no_full_phone(text)

    assert sheet.freeze_panes == "E2"  # the header row and the station's place and name stay
    assert sheet.column_dimensions["A"].width == 10  # 测试县镇: 4 CJK characters and 2

    # Headers in the caller's language.
    uyghur = await client.get(
        f"/api/v1/counties/{world.county_id}/stations.xlsx",
        headers={**world.staff.headers, "accept-language": "ug"},
    )
    first = load_workbook(io.BytesIO(uyghur.content)).active
    assert (
        first.cell(row=1, column=2).value == "كەنت" and first.cell(row=2, column=14).value == "ھەئە"
    )
    # Linked from the registry's stations page.
    await page_login(client, world.staff.phone)
    page = await client.get("/county/registry/stations", headers=HTML)
    assert f'href="/api/v1/counties/{world.county_id}/stations.xlsx"' in page.text
