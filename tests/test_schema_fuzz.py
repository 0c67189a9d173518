"""Bad input from the API's own schema (schemathesis), against a real server process, with a
keeper's and a staff member's credentials: no 5xx ever, and every 4xx a problem document.
The number of examples is bounded so CI stays quick; raise FUZZ_EXAMPLES to dig deeper."""

from __future__ import annotations

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
    env = environment(workdir / "data", url, CUNZHAN_API_RATE_LIMIT_PER_MINUTE="1000000")
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
