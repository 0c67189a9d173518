"""Issue #11: no foothold from another site, no 500 from any input, one bad event never blocks the
rest. The probe's reproductions, kept here so they stay fixed (both engines)."""

from __future__ import annotations

import json

import pytest

from tests.support import PASSWORD, event, new_id, push, received, statuses

PROBLEM = "application/problem+json"


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code, body
    return body


# Login CSRF and content types ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_login_with_a_json_body_sent_as_another_type_is_415(client, world, content_type):
    # The probe's form: enctype="text/plain", the name/value pair forming valid JSON.
    body = json.dumps({"phone": world.keeper_a.phone, "password": PASSWORD}).encode()
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/api/v1/auth/login", content=body, headers=headers)
    _problem(response, 415, "unsupported_media_type")
    assert "cz_session" not in response.cookies


async def test_every_json_endpoint_refuses_a_non_json_body(client, world):
    body = json.dumps({"device_id": new_id(), "events": []}).encode()
    for path, method in [
        ("/api/v1/sync", "POST"),
        ("/api/v1/auth/language", "POST"),
        (f"/api/v1/users/{world.keeper_b.id}", "PATCH"),
        ("/api/v1/push/subscriptions", "POST"),
    ]:
        response = await client.request(
            method,
            path,
            content=body,
            headers={"content-type": "text/plain", **world.staff.headers},
        )
        _problem(response, 415, "unsupported_media_type")
    ok = await client.post(
        "/api/v1/auth/login",
        content=json.dumps({"phone": world.keeper_a.phone, "password": PASSWORD}),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "same-site", "origin": "https://evil.testserver.local"},
    ],
)
async def test_login_from_another_site_is_refused(client, world, headers):
    response = await client.post(
        "/api/v1/auth/login",
        json={"phone": world.keeper_a.phone, "password": PASSWORD},
        headers=headers,
    )
    _problem(response, 403, "cross_site_login")
    assert "cz_session" not in response.cookies


async def test_login_from_the_own_site_works(client, world):
    for headers in (
        {"origin": "http://testserver.local"},
        {"sec-fetch-site": "same-origin", "origin": "https://proxy.example"},
        {},
    ):
        response = await client.post(
            "/api/v1/auth/login",
            json={"phone": world.keeper_a.phone, "password": PASSWORD},
            headers=headers,
        )
        assert response.status_code == 200, (headers, response.text)


# Depth, months, cursors ----------------------------------------------------------------------


@pytest.mark.parametrize("levels", [33, 1000, 100_000])
async def test_json_nested_too_deep_is_400_on_any_json_endpoint(client, world, levels):
    deep = "[" * levels + "]" * levels
    login = await client.post(
        "/api/v1/auth/login",
        content=f'{{"phone": "13700000001", "password": {deep}}}',
        headers={"content-type": "application/json"},
    )
    _problem(login, 400, "json_too_deep")
    sync = await client.post(
        "/api/v1/sync",
        content=f'{{"device_id": "{new_id()}", "events": [{{"data": {deep}}}]}}',
        headers={"content-type": "application/json", **world.keeper_a.headers},
    )
    _problem(sync, 400, "json_too_deep")


async def test_json_at_the_depth_limit_is_judged_as_usual(client, world):
    # 32 levels in all: brackets inside strings do not count.
    inner = "[" * 29 + "]" * 29
    body = {"device_id": new_id(), "events": [event("checkin.recorded", {"note": "[[[{{{"})]}
    text = json.dumps(body).replace('"data": {', f'"x": {inner}, "data": {{', 1)
    response = await client.post(
        "/api/v1/sync",
        content=text,
        headers={"content-type": "application/json", **world.keeper_a.headers},
    )
    assert response.status_code == 200, response.text
    assert statuses(response.json()["results"]) == ["rejected"]  # unknown field x, not a 400


@pytest.mark.parametrize(
    "month", ["9999-12", "0001-01", "0001-03", "2014-12", "2099-01", "２０２６-01", "2026-١١"]
)
async def test_a_month_out_of_range_is_400_on_kpis_subsidies_and_exports(client, world, month):
    county = f"/api/v1/counties/{world.county_id}"
    for path in ("kpis", "subsidies", "export.xlsx", "export.csv"):
        response = await client.get(
            f"{county}/{path}", params={"month": month}, headers=world.staff.headers
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] in ("county_month_out_of_range", "county_invalid_month")


async def test_the_first_month_and_a_year_ahead_are_fine(client, world):
    import datetime

    today = datetime.datetime.now(datetime.UTC).date()
    for month in ("2015-01", f"{today.year + 1}-{today.month:02d}"):
        response = await client.get(
            f"/api/v1/counties/{world.county_id}/kpis",
            params={"month": month},
            headers=world.staff.headers,
        )
        assert response.status_code == 200, (month, response.text)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2014-12-31"])
async def test_a_day_out_of_range_is_400_on_the_cashbook_and_carrier_counts(client, world, day):
    """The fuzzer found GET …/carriers?date=0001-01-01 a 500 (the day overflowed in the county's
    time zone); every `date` parameter is held to 2015 … a year ahead."""
    station = f"/api/v1/stations/{world.station_a}"
    for path in ("cashbook", "carriers"):
        response = await client.get(
            f"{station}/{path}", params={"date": day}, headers=world.keeper_a.headers
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] == "day_out_of_range"
        assert "2015-01-01" in response.json()["detail"]
    fine = await client.get(
        f"{station}/carriers", params={"date": "2015-01-01"}, headers=world.keeper_a.headers
    )
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize("since", ["²", "١٢", "１２", "12²", "-1", "1e3"])
async def test_a_cursor_that_is_not_ascii_digits_is_400(client, world, since):
    for path, who in (
        ("/api/v1/sync", world.keeper_a),
        (f"/api/v1/stations/{world.station_a}/events", world.staff),
    ):
        response = await client.get(path, params={"since": since}, headers=who.headers)
        _problem(response, 400, "invalid_cursor")


# One bad event never blocks the rest ---------------------------------------------------------


def _sale(product: str) -> dict:
    return event(
        "sale.recorded",
        {
            "product": product,
            "quantity": 1,
            "unit": "箱",
            "amount_fen": 1000,
            "commission_fen": 100,
            "channel": "微信",
        },
    )


BAD_TEXTS = {
    "nul": "苹果\x00",
    "bell": "苹果\x07",
    "escape": "\x1b[31m苹果",
    "c1": "苹\x85果",
    "tab": "苹\t果",
    "newline": "苹\n果",
    "rlo": "苹果\u202e",
    "lri": "\u2066苹果",
    "lone_high": "苹果\ud800",
    "lone_low": "\udc00苹果",
}


async def test_a_bad_character_rejects_that_event_and_the_rest_is_judged(client, world):
    from backend.ledger.tables import Event

    events = [_sale("好苹果")]
    for text in BAD_TEXTS.values():
        events.append(_sale(text))
    events.append(event("checkin.recorded", {"note": "第一行\n第二行\t备注\r\n"}))
    events.append(event("checkin.recorded", {"note": "备注\x00"}))
    events.append(received(recipient_name="王\u202e秀英"))
    events.append(_sale("苹果🍎"))  # a real pair is fine
    # Encoded as a browser's JSON.stringify does: lone surrogates as \ud800 escapes.
    response = await client.post(
        "/api/v1/sync",
        content=json.dumps({"device_id": new_id(), "events": events}),
        headers={"content-type": "application/json", **world.keeper_a.headers},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert statuses(results) == (
        ["accepted"]
        + ["rejected"] * len(BAD_TEXTS)
        + ["accepted", "rejected", "rejected"]
        + ["accepted"]
    )
    for result in results:
        if result["status"] == "rejected":
            assert result["error"]["code"] == "invalid_text", result
            assert result["error"]["field"] in ("product", "note", "recipient_name")
    stored = await Event.count().where(Event.station == world.station_a)
    assert stored == 3
    # The next batch syncs as usual: nothing is stuck behind the bad events.
    assert statuses(await push(client, world.keeper_a, [_sale("梨")])) == ["accepted"]


async def test_lone_surrogate_escapes_in_the_raw_body_reject_only_their_event(client, world):
    good, bad, pair = _sale("好苹果"), _sale("PLACEHOLDER"), _sale("🍎")
    body = json.dumps({"device_id": new_id(), "events": [good, bad, pair]})
    body = body.replace("PLACEHOLDER", "\\\\ud800 \\ud800x\\udc00")
    response = await client.post(
        "/api/v1/sync",
        content=body,
        headers={"content-type": "application/json", **world.keeper_a.headers},
    )
    assert response.status_code == 200, response.text
    assert statuses(response.json()["results"]) == ["accepted", "rejected", "accepted"]


def test_lone_surrogate_escapes_are_found_and_pairs_kept():
    from backend.ledger.text_rules import replace_lone_surrogate_escapes as fix

    assert fix(rb'"\ud83c\udf4e"') == rb'"\ud83c\udf4e"'
    assert fix(rb'"\ud800x"') == rb'"\uffffx"'
    assert fix(rb'"\udc00\ud800"') == rb'"\uffff\uffff"'
    assert fix(rb'"\\ud800"') == rb'"\\ud800"'
    assert fix(rb'"\ud800\ud83c\udf4e"') == rb'"\uffff\ud83c\udf4e"'


# Formula injection in exports ----------------------------------------------------------------

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
]


async def test_exported_names_that_look_like_formulas_are_text(client, world):
    import csv
    import datetime
    import io

    import openpyxl

    from backend.registry import service as registry
    from backend.registry.schemas import StationCreate, StationUpdate, TownshipUpdate

    await registry.update_station(None, world.station_a, StationUpdate(name=HOSTILE_NAMES[0]))
    await registry.update_township(None, world.township_id, TownshipUpdate(name=HOSTILE_NAMES[1]))
    for index, name in enumerate(HOSTILE_NAMES[2:]):
        await registry.create_station(
            None,
            world.county_id,
            StationCreate(village_id=world.village_id, name=name, code=f"X{index:03d}"),
        )
    await push(client, world.keeper_a, [_sale("=1+1"), received()])
    month = datetime.datetime.now(datetime.UTC).strftime("%Y-%m")
    county = f"/api/v1/counties/{world.county_id}"
    response = await client.get(
        f"{county}/export.xlsx", params={"month": month}, headers=world.staff.headers
    )
    assert response.status_code == 200, response.text
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    texts = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    # Every name as typed: the CR too (openpyxl wrote it raw, and XML reads a raw CR as LF).
    assert set(HOSTILE_NAMES) <= texts, set(HOSTILE_NAMES) - texts
    for table in ("summary", "sale_recorded", "parcel_received", "checkins", "subsidies"):
        answer = await client.get(
            f"{county}/export.csv",
            params={"month": month, "table": table},
            headers=world.staff.headers,
        )
        assert answer.status_code == 200, answer.text
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        for row in rows:
            for value in row:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (table, value)
        flat = {value for row in rows for value in row}
        if table == "sale_recorded":
            assert "'" + HOSTILE_NAMES[0] in flat and "'+1+1" in flat


# The role ladder -----------------------------------------------------------------------------


async def _second_staff(client, world):
    from backend.accounts.schemas import UserCreate
    from backend.accounts.service import create_user
    from tests.support import login

    await create_user(
        None,
        world.county_id,
        UserCreate(phone="13700000011", name="李四", password=PASSWORD, role="county_staff"),
    )
    return await login(client, "13700000011")


async def test_staff_cannot_take_over_a_peer_or_an_admin(client, world):
    from backend.accounts.tables import AuditEntry, User

    peer = await _second_staff(client, world)
    county_admin_id = (
        await User.insert(
            User(
                phone="13700000099",
                name="县管理员",
                password_hash="x",
                role="admin",
                county=world.county_id,
            )
        ).returning(User.id)
    )[0]["id"]
    for target in (peer["user"]["id"], county_admin_id, str(world.staff.id)):
        for change in ({"password": "Takeover-2026"}, {"active": False}, {"name": "x"}):
            response = await client.patch(
                f"/api/v1/users/{target}", json=change, headers=world.staff.headers
            )
            _problem(response, 403, "role_ladder")
    # The peer still logs in with the old password; nothing was written or revoked.
    again = await client.post(
        "/api/v1/auth/login", json={"phone": "13700000011", "password": PASSWORD}
    )
    assert again.status_code == 200
    assert await AuditEntry.count().where(AuditEntry.action == "user.updated") == 0
    # The same through the county pages' reset form goes through the same rule.
    from backend.accounts.schemas import UserUpdate
    from backend.accounts.service import update_user
    from backend.errors import DomainError

    staff_user = await _current(world.staff)
    with pytest.raises(DomainError) as refused:
        await update_user(staff_user, peer["user"]["id"], UserUpdate(password="Takeover-2026"))
    assert refused.value.code == "role_ladder"


async def _current(actor):
    from backend.accounts.service import authenticate
    from backend.settings import get_settings

    return await authenticate(get_settings(), actor.token)


async def test_staff_change_keepers_and_an_admin_changes_staff_audited_and_told(client, world):
    from backend.accounts.tables import AuditEntry

    peer = await _second_staff(client, world)
    reset = await client.patch(
        f"/api/v1/users/{world.keeper_a.id}",
        json={"password": "Reset-pass-77"},
        headers=world.staff.headers,
    )
    assert reset.status_code == 200, reset.text
    by_admin = await client.patch(
        f"/api/v1/users/{peer['user']['id']}", json={"name": "李四四"}, headers=world.admin.headers
    )
    assert by_admin.status_code == 200, by_admin.text
    entries = await AuditEntry.select(AuditEntry.target_id, AuditEntry.details).where(
        AuditEntry.action == "user.updated"
    )
    assert {entry["target_id"] for entry in entries} == {str(world.keeper_a.id), peer["user"]["id"]}
    # The keeper is told at the next login, once.
    first = await client.post(
        "/api/v1/auth/login",
        json={"phone": world.keeper_a.phone, "password": "Reset-pass-77"},
        headers={"accept-language": "zh-CN"},
    )
    assert first.status_code == 200, first.text
    changes = first.json()["account_changes"]
    assert len(changes) == 1 and changes[0]["fields"] == ["password_changed_at"]
    assert changes[0]["by_role"] == "county_staff" and "密码" in changes[0]["message"]
    second = await client.post(
        "/api/v1/auth/login", json={"phone": world.keeper_a.phone, "password": "Reset-pass-77"}
    )
    assert second.json()["account_changes"] == []
    told = await client.post(
        "/api/v1/auth/login", json={"phone": "13700000011", "password": PASSWORD}
    )
    assert [c["fields"] for c in told.json()["account_changes"]] == [["name"]]


# Push endpoints: no server-side requests into the server's own network -----------------------


@pytest.fixture
def fake_dns(monkeypatch):
    """Host names the test decides the addresses of (no network needed)."""
    import socket

    table: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host in table:
            family = socket.AF_INET6 if ":" in table[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (table[host], port or 443))]
        if isinstance(host, str) and host.endswith(".example"):
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def _subscription(endpoint: str) -> dict:
    from tests.push_fakes import FakeBrowser

    body = FakeBrowser("https://x").subscription()
    body["endpoint"] = endpoint
    return body


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1/push/1",
        "https://127.1.2.3:8443/push/1",
        "https://[::1]/push/1",
        "https://[::ffff:127.0.0.1]/push/1",
        "https://localhost/push/1",
        "https://LOCALHOST./push/1",
        "https://0.0.0.0/push/1",
        "https://10.0.0.1/push/1",
        "https://172.16.5.4/push/1",
        "https://192.168.1.1:9200/push/1",
        "https://100.64.0.1/push/1",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/push/1",
        "https://[fd00::1]/push/1",
        "https://240.0.0.1/push/1",
        "https://224.0.0.1/push/1",
        "https://198.18.0.1/push/1",
        "https://loopback.example/push/1",
        "https://private.example/push/1",
        "https://nowhere.example/push/1",
        "http://8.8.8.8/push/1",
    ],
)
async def test_push_endpoints_that_are_not_public_https_are_refused(
    client, world, fake_dns, monkeypatch, endpoint
):
    from backend.notify.tables import PushSubscription

    monkeypatch.delenv("CUNZHAN_PUSH_ALLOW_HTTP", raising=False)
    fake_dns.update({"loopback.example": "127.0.0.1", "private.example": "10.1.2.3"})
    response = await client.post(
        "/api/v1/push/subscriptions", json=_subscription(endpoint), headers=world.keeper_a.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] in ("push_endpoint_not_public", "push_subscription_invalid")
    assert await PushSubscription.count() == 0


async def test_a_public_https_endpoint_is_saved(client, world, fake_dns, monkeypatch):
    monkeypatch.delenv("CUNZHAN_PUSH_ALLOW_HTTP", raising=False)
    fake_dns["fcm.example"] = "142.250.4.95"
    for endpoint in ("https://fcm.example/send/abc", "https://8.8.8.8/push/1"):
        response = await client.post(
            "/api/v1/push/subscriptions",
            json=_subscription(endpoint),
            headers=world.keeper_a.headers,
        )
        assert response.status_code == 201, response.text


async def test_a_name_that_resolves_elsewhere_at_send_time_is_not_called(
    app, client, world, fake_dns, monkeypatch
):
    from backend.notify.keys import vapid_pair
    from backend.notify.webpush import push_http_session, send_push

    monkeypatch.delenv("CUNZHAN_PUSH_ALLOW_HTTP", raising=False)
    fake_dns["rebind.example"] = "93.184.216.34"
    body = _subscription("https://rebind.example/push/1")
    saved = await client.post(
        "/api/v1/push/subscriptions", json=body, headers=world.keeper_a.headers
    )
    assert saved.status_code == 201, saved.text
    fake_dns["rebind.example"] = "127.0.0.1"  # DNS rebinding: now it points inside
    subscription = {"endpoint": body["endpoint"], **body["keys"]}
    async with push_http_session(4) as session:
        attempt = await send_push(
            session,
            subscription,
            {"title": "t"},
            vapid=await vapid_pair(app.state.settings),
            subject="mailto:ops@cunzhan.invalid",
            ttl_seconds=60,
            urgency="normal",
        )
    assert attempt.status == "failed" and "public" in attempt.error, attempt


async def test_a_push_service_redirect_is_never_followed(app, client, world, monkeypatch):
    from tests.push_fakes import FakeBrowser, LoopbackServer, Plan
    from tests.test_push_roundtrip import remind

    monkeypatch.setenv("CUNZHAN_PUSH_ALLOW_HTTP", "1")
    with LoopbackServer() as push_service:
        browser = FakeBrowser(push_service.url)
        push_service.plan(
            browser.path, Plan(status=307, headers={"location": f"{push_service.url}/inside"})
        )
        saved = await client.post(
            "/api/v1/push/subscriptions",
            json=browser.subscription(),
            headers=world.keeper_a.headers,
        )
        assert saved.status_code == 201, saved.text
        await remind(app.state.settings, world.keeper_a.id)
        assert len(push_service.to(browser.path)) == 1
        assert push_service.to("/inside") == []


async def test_a_push_endpoint_belongs_to_the_keeper_who_registered_it(client, world, monkeypatch):
    from backend.notify.tables import PushSubscription
    from tests.push_fakes import FakeBrowser

    monkeypatch.setenv("CUNZHAN_PUSH_ALLOW_HTTP", "1")
    body = FakeBrowser("http://127.0.0.1:9").subscription()
    first = await client.post(
        "/api/v1/push/subscriptions", json=body, headers=world.keeper_a.headers
    )
    assert first.status_code == 201
    stolen = await client.post(
        "/api/v1/push/subscriptions", json=body, headers=world.keeper_b.headers
    )
    _problem(stolen, 409, "push_endpoint_taken")
    rows = await PushSubscription.select(PushSubscription.keeper)
    assert [row["keeper"] for row in rows] == [world.keeper_a.id]
    again = await client.post(
        "/api/v1/push/subscriptions", json=body, headers=world.keeper_a.headers
    )
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    gone = await client.request(
        "DELETE",
        "/api/v1/push/subscriptions",
        json={"endpoint": body["endpoint"]},
        headers=world.keeper_a.headers,
    )
    assert gone.status_code == 204
    moved = await client.post(
        "/api/v1/push/subscriptions", json=body, headers=world.keeper_b.headers
    )
    assert moved.status_code == 201


# Phones in one normal form -------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "13700000001\n",
        " 13700000001 ",
        "+86 137 0000 0001",
        "+8613700000001",
        "１３７０００００００１",
    ],
)
async def test_a_phone_written_otherwise_is_the_same_account(client, world, written):
    login = await client.post("/api/v1/auth/login", json={"phone": written, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["id"] == str(world.keeper_a.id)
    again = await client.post(
        f"/api/v1/counties/{world.county_id}/users",
        json={
            "phone": written,
            "name": "冒名",
            "password": "Another-pass-9",
            "role": "keeper",
            "station_id": str(world.station_b),
        },
        headers=world.staff.headers,
    )
    _problem(again, 409, "phone_taken")


async def test_household_and_account_phones_are_stored_in_normal_form(client, world):
    from backend.accounts.tables import User
    from backend.registry.tables import Household

    created = await client.post(
        f"/api/v1/counties/{world.county_id}/users",
        json={
            "phone": "+86 139-0000-0077",
            "name": "新站长",
            "password": "Another-pass-9",
            "role": "keeper",
            "station_id": str(world.station_b),
        },
        headers=world.staff.headers,
    )
    assert created.status_code == 201, created.text
    assert await User.exists().where(User.phone == "13900000077")
    household = await client.post(
        f"/api/v1/counties/{world.county_id}/households",
        json={
            "village_id": str(world.village_id),
            "code": "T-0099",
            "phone": "１３９１２３４５６７８",
        },
        headers=world.staff.headers,
    )
    assert household.status_code == 201, household.text
    assert await Household.exists().where(Household.phone == "13912345678")
    bad = await client.post(
        f"/api/v1/counties/{world.county_id}/households",
        json={"village_id": str(world.village_id), "code": "T-0098", "phone": "12345"},
        headers=world.staff.headers,
    )
    assert bad.status_code == 400


async def test_the_migration_brings_old_phones_to_normal_form(client, world):
    import importlib

    from backend.accounts.tables import User

    migration = importlib.import_module(
        "backend.accounts.piccolo_migrations.accounts_2026_12_02t05_00_00_000000"
    )
    await User.insert(
        User(phone="１３７００００００５５", name="旧", password_hash="x", role="keeper"),
        User(phone="１３７０００００００１", name="重复", password_hash="x", role="keeper"),
    )
    await migration.normalize_column("accounts_user")
    phones = {row["phone"] for row in await User.select(User.phone)}
    assert "13700000055" in phones and "１３７００００００５５" not in phones
    assert "１３７０００００００１" in phones  # 13700000001 is keeper A's: left for staff


# Password change and lock-out ----------------------------------------------------------------


async def test_wrong_current_passwords_are_throttled_like_logins(client, world):
    statuses_seen = []
    for attempt in range(12):
        response = await client.post(
            "/api/v1/auth/password",
            json={"old_password": f"guess-{attempt}", "new_password": "Fresh-pass-2026"},
            headers=world.keeper_a.headers,
        )
        statuses_seen.append(response.status_code)
    assert statuses_seen[:5] == [403] * 5
    assert set(statuses_seen[5:]) == {429}, statuses_seen
    assert response.headers["retry-after"]
    # The right password is refused too while the limit holds (no oracle).
    right = await client.post(
        "/api/v1/auth/password",
        json={"old_password": PASSWORD, "new_password": "Fresh-pass-2026"},
        headers=world.keeper_a.headers,
    )
    assert right.status_code == 429


@pytest.mark.parametrize(
    ("new_password", "code"),
    [
        ("1234567", "password_too_short"),
        ("12345678", "password_one_class"),
        ("abcdefghij", "password_one_class"),
        ("ABCDEFGHIJ", "password_one_class"),
        ("!@#$%^&*()", "password_one_class"),
        ("password1", "password_too_common"),
        ("Password1", "password_too_common"),
        ("woaini1314", "password_too_common"),
        ("qwerty123", "password_too_common"),
        ("1q2w3e4r", "password_too_common"),
        ("aaaa1111", "password_too_common"),
        ("ab1ab1ab1", "password_too_common"),
    ],
)
async def test_a_weak_new_password_is_refused_with_a_localized_reason(
    client, world, new_password, code
):
    details = set()
    for language in ("zh-CN", "ug", "en"):
        response = await client.post(
            "/api/v1/auth/password",
            json={"old_password": PASSWORD, "new_password": new_password},
            headers={"accept-language": language, **world.keeper_a.headers},
        )
        body = _problem(response, 422, code)
        assert body["field"] == "password"
        details.add(body["detail"])
    assert len(details) == 3
    good = await client.post(
        "/api/v1/auth/password",
        json={"old_password": PASSWORD, "new_password": "Zhan-zhang-77"},
        headers=world.keeper_a.headers,
    )
    assert good.status_code == 200, good.text


def test_the_common_password_list_is_shipped_and_large():
    from backend.accounts.passwords import common_passwords

    assert len(common_passwords()) >= 10_000
    assert {"123456", "password", "qwerty", "5201314"} <= common_passwords()


async def _fail(app, phone: str, address: str, times: int) -> None:
    from backend.accounts import service
    from backend.errors import DomainError
    from backend.settings import get_settings

    throttle = app.state.login_throttle
    for _ in range(times):
        with pytest.raises(DomainError):
            await service.login(get_settings(), throttle, phone, "wrong-guess", address)
    await throttle.flush()


async def _login(app, phone: str, address: str, device_id: str = ""):
    from backend.accounts import service
    from backend.settings import get_settings

    return await service.login(
        get_settings(), app.state.login_throttle, phone, PASSWORD, address, device_id=device_id
    )


async def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(app, client, world):
    from backend.errors import DomainError

    phone = world.keeper_a.phone
    await _fail(app, phone, "203.0.113.7", 5)
    with pytest.raises(DomainError) as locked:
        await _login(app, phone, "203.0.113.7")
    assert locked.value.status == 429
    _token, user = await _login(app, phone, "198.51.100.20")  # the keeper, from the village
    assert user.id == world.keeper_a.id


async def test_a_slower_global_limit_then_the_keepers_own_device_still_gets_in(app, client, world):
    from backend.errors import DomainError

    phone = world.keeper_a.phone
    device = new_id()
    await _login(app, phone, "198.51.100.20", device_id=device)  # the keeper's phone
    for attacker in range(4):  # 4 addresses × 5 = the global limit of 20
        await _fail(app, phone, f"203.0.113.{attacker + 1}", 5)
    with pytest.raises(DomainError) as locked:
        await _login(app, phone, "192.0.2.50")  # a new address, no known device
    assert locked.value.status == 429
    with pytest.raises(DomainError):
        await _login(app, phone, "192.0.2.51", device_id=new_id())  # a device id never seen
    _token, user = await _login(app, phone, "192.0.2.52", device_id=device)
    assert user.id == world.keeper_a.id
    # Over HTTP the PWA sends its device id with the login.
    response = await client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "password": PASSWORD, "device_id": device},
    )
    assert response.status_code == 200, response.text


# CSRF bound to the session; a malformed Authorization header is no bearer ---------------------


async def _cookie_login(client, phone: str) -> str:
    response = await client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client.cookies.get("cz_csrf")


async def test_a_csrf_token_of_another_session_is_refused(client, world):
    from backend.accounts.middleware import CSRF_COOKIE

    # The attacker's own valid pair: a token issued to his session (or to nobody).
    await _cookie_login(client, world.keeper_b.phone)
    foreign = client.cookies.get(CSRF_COOKIE)
    client.cookies.clear()
    anonymous = (await client.get("/api/v1/auth/me")).cookies.get(CSRF_COOKIE)
    assert anonymous
    own = await _cookie_login(client, world.keeper_a.phone)
    assert own and own not in (foreign, anonymous)
    for planted in (foreign, anonymous):
        client.cookies.set(CSRF_COOKIE, planted)
        response = await client.post(
            "/api/v1/auth/language", json={"language": "en"}, headers={"x-csrf-token": planted}
        )
        _problem(response, 403, "csrf_failed")
    # The session's own token works, and a read hands out a fresh one after a planted one.
    client.cookies.set(CSRF_COOKIE, anonymous)
    fresh = (await client.get("/api/v1/auth/me")).cookies.get(CSRF_COOKIE)
    assert fresh and fresh != anonymous
    client.cookies.set(CSRF_COOKIE, fresh)
    ok = await client.post(
        "/api/v1/auth/language", json={"language": "en"}, headers={"x-csrf-token": fresh}
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "authorization",
    [b"Bearer \xa0", b"Bearer ", b"Bearer", b"bearer \t", b"Basic Zm9vOmJhcg==", b"Bearer a b"],
)
async def test_an_authorization_header_that_is_no_bearer_still_needs_csrf(
    client, world, authorization
):
    await _cookie_login(client, world.keeper_a.phone)
    response = await client.post(
        "/api/v1/auth/language",
        json={"language": "en"},
        headers=[(b"authorization", authorization)],
    )
    _problem(response, 403, "csrf_failed")


async def test_a_real_bearer_with_a_cookie_needs_no_csrf_token(client, world):
    await _cookie_login(client, world.keeper_b.phone)
    response = await client.post(
        "/api/v1/auth/language", json={"language": "en"}, headers=world.keeper_a.headers
    )
    assert response.status_code == 200
    assert response.json()["id"] == str(world.keeper_a.id)  # the bearer wins, not the cookie


# County pages are never cached ---------------------------------------------------------------


async def test_every_county_page_says_no_store(client, world):
    await client.post("/api/v1/auth/login", json={"phone": world.staff.phone, "password": PASSWORD})
    for path in ("/county", "/county/", "/county/login", "/county/stations", "/county/nope"):
        response = await client.get(path)
        assert response.headers.get("cache-control") == "no-store", (path, response.status_code)


# Staff may call a keeper ---------------------------------------------------------------------


async def test_staff_reveal_a_keepers_phone_with_one_tap_and_it_is_audited(client, world):
    import re

    from backend.accounts.tables import AuditEntry

    await push(client, world.keeper_a, [received(phone="13912345678")])
    csrf = await _cookie_login(client, world.staff.phone)
    page = await client.get(f"/county/stations/{world.station_a}")
    assert page.status_code == 200
    assert world.keeper_a.phone not in page.text and "137****0001" in page.text
    assert "139****5678" in page.text and "13912345678" not in page.text  # the villager
    action = f"/county/registry/keepers/{world.keeper_a.id}/phone"
    assert f'action="{action}"' in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    shown = await client.post(action, data={"_csrf_token": token})
    assert shown.status_code == 200, shown.text
    assert f'href="tel:{world.keeper_a.phone}"' in shown.text
    assert "13912345678" not in shown.text
    entries = await AuditEntry.select(AuditEntry.actor, AuditEntry.target_id).where(
        AuditEntry.action == "user.phone_revealed"
    )
    assert entries == [{"actor": world.staff.id, "target_id": str(world.keeper_a.id)}]
    # Without the page's token nothing is shown; a staff member's number is not revealable.
    forged = await client.post(action, data={"_csrf_token": csrf + "x"})
    assert world.keeper_a.phone not in forged.text
    staff = await client.post(
        f"/county/registry/keepers/{world.staff.id}/phone", data={"_csrf_token": token}
    )
    assert staff.status_code == 403 and world.staff.phone not in staff.text
    assert await AuditEntry.count().where(AuditEntry.action == "user.phone_revealed") == 1


@pytest.mark.parametrize(
    ("body", "too_deep"),
    [
        (b"", False),
        (b'"[[[["', False),
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b"[" * 40 + b"}", True),
        (b'{"a": "\\\\"}', False),
        (b'["\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]', False),
        (b'["]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", ' + b"[" * 33 + b"]" * 34, True),
        (b"[]" * 100_000, False),
        (b"[" * 1_000_000, True),
    ],
)
def test_the_depth_check_reads_strings_and_escapes_as_json_does(body, too_deep):
    from backend.request_guard import json_depth_exceeds

    assert json_depth_exceeds(body) is too_deep
