"""Sessions that end, cross-site requests that are refused, and personal data that stays masked."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from backend.accounts.middleware import CSRF_COOKIE
from backend.accounts.tables import Session
from tests.support import PASSWORD, event, login, push, received

# A mobile number standing alone or beside text (王秀英13912345678), not eleven digits inside a
# hash, a UUID or a tracking number: the hex of an event's hash held "…a13972375479b…" in one run.
FULL_MOBILE = re.compile(r"(?<![0-9A-Za-z*])1[3-9][0-9]{9}(?![0-9A-Za-z])")


async def test_an_idle_staff_session_ends_and_a_keeper_session_lasts_weeks(client, world):
    long_ago = datetime.now(UTC) - timedelta(days=20)
    await Session.update({Session.last_seen_at: long_ago}).where(
        Session.user.is_in([world.staff.id, world.keeper_a.id])
    )
    # Staff sessions expire after 12 idle hours: make that the case.
    await Session.update({Session.expires_at: datetime.now(UTC) - timedelta(minutes=1)}).where(
        Session.user == world.staff.id
    )
    assert (await client.get("/api/v1/auth/me", headers=world.staff.headers)).status_code == 401
    keeper = await client.get("/api/v1/auth/me", headers=world.keeper_a.headers)
    assert keeper.status_code == 200
    session = (
        await Session.select(Session.expires_at).where(Session.user == world.keeper_a.id).first()
    )
    assert session["expires_at"] > datetime.now(UTC) + timedelta(days=50), "use extends it"


async def test_cookie_session_changes_at_login_and_dies_at_logout(client, world):
    first = await client.post(
        "/api/v1/auth/login", json={"phone": world.keeper_a.phone, "password": PASSWORD}
    )
    old_cookie = first.cookies.get("cz_session")
    again = await client.post(
        "/api/v1/auth/login", json={"phone": world.keeper_a.phone, "password": PASSWORD}
    )
    new_cookie = again.cookies.get("cz_session")
    assert old_cookie and new_cookie and old_cookie != new_cookie
    await client.get("/api/v1/auth/me")
    csrf = client.cookies.get(CSRF_COOKIE)
    out = await client.post("/api/v1/auth/logout", headers={"x-csrf-token": csrf})
    assert out.status_code == 200
    client.cookies.set("cz_session", new_cookie)
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_cross_site_form_post_with_the_cookie_is_refused(client, world):
    await client.post(
        "/api/v1/auth/login", json={"phone": world.keeper_a.phone, "password": PASSWORD}
    )
    forged = await client.post(
        "/api/v1/sync",
        content=b"device_id=x&events=[]",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "origin": "https://evil.example",
        },
    )
    assert forged.status_code == 403
    foreign_token = await client.post(
        "/api/v1/auth/language",
        json={"language": "en"},
        headers={"x-csrf-token": "a" * 64},
    )
    assert foreign_token.status_code == 403


async def test_staff_facing_responses_never_show_a_full_phone_number(client, world):
    phones = ["13912345678", "13512349876"]
    await push(
        client,
        world.keeper_a,
        [
            received(phone=phones[0], recipient_name="王秀英"),
            event(
                "purchase.ordered",
                {
                    "platform": "jd",
                    "item": "电视",
                    "amount_fen": 199900,
                    "commission_fen": 2000,
                    "customer_phone": phones[1],
                },
            ),
            event(
                "service.recorded",
                {
                    "service": "electricity",
                    "amount_fen": 5000,
                    "fee_fen": 0,
                    "account": "0531234567890",
                },
            ),
        ],
    )
    base = f"/api/v1/stations/{world.station_a}"
    county = f"/api/v1/counties/{world.county_id}"
    bodies = []
    for path in (
        f"{base}/parcels?state=all",
        f"{base}/purchases",
        f"{base}/events",
        f"{base}/summary",
        f"{county}/households",
        f"{county}/users",
    ):
        response = await client.get(path, headers=world.staff.headers)
        assert response.status_code == 200, path
        bodies.append(response.text)
    pulled = await client.get("/api/v1/sync", headers=world.keeper_a.headers)
    bodies.append(pulled.text)
    text = "\n".join(bodies)
    assert not FULL_MOBILE.findall(text), FULL_MOBILE.findall(text)[:3]
    assert "0531234567890" not in text
    # The keeper's own parcel lookup is the one place the full number shows.
    own = await client.get(f"{base}/parcels", headers=world.keeper_a.headers)
    assert phones[0] in json.dumps(own.json())


async def test_logout_revokes_only_that_session(client, world):
    other = await login(client, world.keeper_a.phone)
    await client.post("/api/v1/auth/logout", headers={"authorization": f"Bearer {other['token']}"})
    assert (await client.get("/api/v1/auth/me", headers=world.keeper_a.headers)).status_code == 200
