"""A county served by two processes on one database, the phones' and the staff's, with the proxy
sending the county's pages and API to the second (docs/deploy.md): the staff's pages then never
hold the phones' process's interpreter. Each process must answer as if it were the only one: what
a keeper pushes to the phones' process is on the staff's figures at once, and an account the
staff disable on theirs is refused by the phones' process within the session cache's few
seconds (backend/accounts/session_cache.py), with nothing of the refused push stored."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from backend.accounts.session_cache import TTL_SECONDS
from tests.server_process import Server, environment, run
from tests.support import received, tracking

KEEPER = {"phone": "13800000001", "password": "demo1234"}
STAFF = {"phone": "13900000001", "password": "demo1234"}
PARCELS = 5


def login(server: Server, account: dict) -> dict:
    answer = httpx.post(f"{server.url}/api/v1/auth/login", json=account, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def push(server: Server, token: str, events: list[dict]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/sync",
        json={"device_id": str(uuid.uuid4()), "events": events},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )


def as_staff(server: Server, token: str, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"}
    answer = httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer


def received_this_month(server: Server, token: str, county: str, station: str) -> int:
    """The station's parcels received this month, as the staff's rollup API counts them."""
    path = f"/api/v1/counties/{county}/rollup"
    answer = as_staff(server, token, "GET", path, params={"station_id": station})
    return sum(row["count"] for row in answer.json()["rows"] if row["kind"] == "parcel_received")


@pytest.mark.slow
async def test_the_staff_process_counts_the_phones_pushes_and_its_changes_hold_there(
    tmp_path, fresh_database_url
):
    env = environment(tmp_path, fresh_database_url)
    run(env, "migrate", "--quiet")
    run(env, "demo", "--if-empty")
    phones, staff = Server(env), Server(env)
    phones.start()
    staff.start()
    try:
        keeper = login(phones, KEEPER)
        officer = login(staff, STAFF)
        county, station = officer["user"]["county_id"], keeper["user"]["station_id"]
        before = received_this_month(staff, officer["token"], county, station)

        answer = push(phones, keeper["token"], [received(tracking()) for _ in range(PARCELS)])
        assert answer.status_code == 200, answer.text
        assert {r["status"] for r in answer.json()["results"]} == {"accepted"}
        assert received_this_month(staff, officer["token"], county, station) == before + PARCELS

        path = f"/api/v1/users/{keeper['user']['id']}"
        as_staff(staff, officer["token"], "PATCH", path, json={"active": False})
        # Refused once the phones' process's cached session is TTL_SECONDS old; the deadline only
        # bounds a hang on a loaded machine, where a push may take seconds.
        began, refused, taken = time.monotonic(), None, 0
        while refused is None and time.monotonic() - began < TTL_SECONDS + 10:
            answer = push(phones, keeper["token"], [received(tracking())])
            if answer.status_code == 401:
                refused = time.monotonic() - began
            else:
                assert answer.status_code == 200, answer.text
                taken += 1
                time.sleep(0.5)
        assert refused is not None, "the phones' process still took the disabled keeper's pushes"
        print(f"the disabled keeper refused by the other process after {refused:.1f} s")
        # What it took before the refusal is counted, once each; the refused pushes are not.
        counted = before + PARCELS + taken
        assert received_this_month(staff, officer["token"], county, station) == counted
        assert push(phones, keeper["token"], [received(tracking())]).status_code == 401
        assert received_this_month(staff, officer["token"], county, station) == counted
    finally:
        phones.stop()
        staff.stop()
