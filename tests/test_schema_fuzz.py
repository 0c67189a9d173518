"""Bad input from the API's own schema (schemathesis), against a real server process, with a
keeper's and a staff member's credentials: no 5xx ever, and every 4xx a problem document.
The number of examples is bounded so CI stays quick; raise FUZZ_EXAMPLES to dig deeper."""

from __future__ import annotations

import json
import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from tests.server_process import Server, environment, run

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
# Logging out would end the very session the fuzzer is using; it has its own tests.
SKIPPED_OPERATIONS = ["logout"]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    import asyncio
    import uuid

    from tests.conftest import _ENGINE, _PG_BASE, _admin_sql  # the run's own engine

    workdir = tmp_path_factory.mktemp("fuzz")
    if _ENGINE == "postgres":
        name = f"cunzhan_fuzz_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
        url = f"{_PG_BASE.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{workdir}/fuzz.db"
    # One address hammering every operation, the login with made-up phones and passwords
    # included: the rate limit and the login throttle (their own tests prove them) would start
    # refusing the fuzzer's own logins after ~30 failures, at a random point of the run.
    limits = {
        "CUNZHAN_API_RATE_LIMIT_PER_MINUTE": "1000000",
        "CUNZHAN_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
        "CUNZHAN_LOGIN_MAX_FAILURES_PER_PHONE": "1000000",
        "CUNZHAN_LOGIN_MAX_FAILURES_PER_PHONE_GLOBAL": "1000000",
    }
    env = environment(workdir / "data", url, **limits)
    run(env, "migrate", "--quiet")
    run(env, "demo")
    server = Server(env)
    server.start()
    yield server
    server.stop()
    if _ENGINE == "postgres":
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def log_in(server: Server, phone: str) -> tuple[dict[str, str], dict[str, str]]:
    """Bearer headers, and path parameters that reach past the guards into the handlers."""
    answer = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"phone": phone, "password": "demo1234"}
    )
    answer.raise_for_status()
    user = answer.json()["user"]
    station = (
        user["station_id"]
        or httpx.get(
            f"{server.url}/api/v1/counties/{user['county_id']}/stations",
            headers={"authorization": f"Bearer {answer.json()['token']}"},
        ).json()[0]["id"]
    )
    return (
        {"authorization": f"Bearer {answer.json()['token']}"},
        {"county_id": user["county_id"], "station_id": station},
    )


@pytest.mark.slow
@pytest.mark.parametrize("phone", ["13800000001", "13900000001"], ids=["keeper", "staff"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_every_4xx_is_a_problem_document(fuzz_server, phone, mode):
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/schema/openapi.json")
    schema = schema.exclude(operation_id=SKIPPED_OPERATIONS)
    headers, path_parameters = log_in(fuzz_server, phone)
    seen: dict[int, int] = {}

    @given(case=schema.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(base_url=fuzz_server.url, headers=headers)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
        if response.status_code >= 400:
            content_type = (response.headers.get("content-type") or [""])[0]
            assert content_type.startswith("application/problem+json"), (
                f"{case.method} {case.formatted_path} {response.status_code}: not a problem"
            )
            body = response.json()
            assert body["code"] and body["detail"] and body["status"] == response.status_code

    check()
    print(f"fuzz {phone} {mode}: status counts {dict(sorted(seen.items()))}")
    assert sum(seen.values()) >= EXAMPLES


# The probe's edge values (issue #11), on every operation that takes them -----------------------

EDGE_QUERY = {
    "month": ["9999-12", "0001-01", "0001-03", "2014-12", "２０２６-01", "2026-١١", "2026-13"],
    "since": ["²", "١٢", "１２", "-1", "9" * 13],
    "date": ["9999-12-31", "0001-01-01", "２０２６-01-01"],
    "from": ["9999-12-31", "0001-01-01"],
    "to": ["9999-12-31", "0001-01-01"],
    "year": ["0", "9999", "²"],
}


def _deep(levels: int):
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.slow
@pytest.mark.parametrize("phone", ["13800000001", "13900000001"], ids=["keeper", "staff"])
def test_the_probes_edge_values_are_4xx_problems_never_5xx(fuzz_server, phone):
    import uuid

    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/schema/openapi.json")
    schema = schema.exclude(operation_id=SKIPPED_OPERATIONS)
    headers, known = log_in(fuzz_server, phone)
    calls = 0

    def check(case, expected: set[int] | None = None) -> None:
        nonlocal calls
        response = case.call(base_url=fuzz_server.url, headers=headers)
        calls += 1
        where = f"{case.method} {case.formatted_path} {case.query or ''}"
        assert response.status_code < 500, f"{where}: {response.text}"
        if expected is not None:
            assert response.status_code in expected, f"{where}: {response.status_code}"
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/problem+json")
            assert response.json()["code"], where

    for result in schema.get_all_operations():
        operation = result.ok()
        path_parameters = {
            parameter.name: known.get(parameter.name, str(uuid.uuid4()))
            for parameter in operation.iter_parameters()
            if parameter.location == "path"
        }
        for parameter in operation.iter_parameters():
            if parameter.location != "query" or parameter.name not in EDGE_QUERY:
                continue
            for value in EDGE_QUERY[parameter.name]:
                query = {parameter.name: value}
                check(operation.Case(path_parameters=path_parameters, query=query))
        if operation.method.upper() in ("POST", "PUT", "PATCH") and operation.body:
            # JSON nested deeper than 32 levels: 400 before anything else looks at it.
            deep = operation.Case(
                path_parameters=path_parameters,
                body={"x": _deep(40)},
                media_type="application/json",
            )
            check(deep, {400, 401, 403, 404})
    # NUL, a direction override and a lone surrogate in one sync batch: only those rejected.
    if phone == "13800000001":
        events = [
            {
                "id": str(uuid.uuid4()),
                "type": "checkin.recorded",
                "occurred_at": "2026-11-30T09:00:00+08:00",
                "data": {"note": note},
            }
            for note in ("好", "坏\x00", "坏\u202e", "坏\ud800", "好\n第二行")
        ]
        response = httpx.post(
            f"{fuzz_server.url}/api/v1/sync",
            content=json.dumps({"device_id": str(uuid.uuid4()), "events": events}),
            headers={"content-type": "application/json", **headers},
        )
        calls += 1
        assert response.status_code == 200, response.text
        assert [r["status"] for r in response.json()["results"]] == [
            "accepted",
            "rejected",
            "rejected",
            "rejected",
            "accepted",
        ]
    print(f"edge values {phone}: {calls} calls")
    assert calls > 40
