"""The service itself: health, schema, the root redirect, problem documents for bad requests."""

import json

from backend.i18n import LANGUAGES, catalog


async def test_healthz_answers_ok_once_the_database_answers(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_openapi_schema_is_served_and_names_every_operation(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"].startswith("村站通")
    operations = [
        operation
        for path in schema["paths"].values()
        for method, operation in path.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert operations
    assert all(operation.get("operationId") for operation in operations)
    assert all(operation.get("summary") for operation in operations)


async def test_root_opens_the_pwa(client):
    response = await client.get("/", follow_redirects=False)
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/app/"


async def test_unknown_path_is_a_localized_problem(client):
    response = await client.get("/api/v1/nothing-here", headers={"accept-language": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["detail"] == "What you asked for does not exist."


async def test_body_that_is_not_json_is_a_400_problem(client):
    response = await client.post(
        "/api/v1/auth/login",
        content=b"\xff\xfenot json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] in {"bad_request", "invalid_input"}


async def test_oversized_body_is_a_413_problem_in_chinese_by_default(client):
    response = await client.post(
        "/api/v1/auth/login",
        content=json.dumps({"phone": "1" * (2 * 1024 * 1024)}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "payload_too_large"
    assert "500" in body["detail"] and "批" in body["detail"]


async def test_security_headers_on_api_and_pwa(client):
    for path in ("/healthz", "/app/", "/api/v1/auth/me"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert (
            "'unsafe-inline'"
            not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
        )
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
    api = await client.get("/api/v1/auth/me")
    assert api.headers["cache-control"] == "no-store"


def test_every_message_key_exists_in_every_language():
    keys = {language: set(catalog(language)) for language in LANGUAGES}
    for language, present in keys.items():
        missing = keys["zh-CN"] - present
        assert not missing, f"{language} lacks {sorted(missing)[:10]}"
        extra = present - keys["zh-CN"]
        assert not extra, f"{language} has keys zh-CN lacks: {sorted(extra)[:10]}"
    for language in LANGUAGES:
        assert all(value.strip() for value in catalog(language).values())
