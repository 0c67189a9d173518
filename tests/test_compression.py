"""A push's answer gzipped whole, as a phone reads it back (streamed files: test_shell)."""

from __future__ import annotations

import gzip
import json
import uuid

from tests.support import received


async def _push_raw(client, actor, events):
    body = json.dumps({"device_id": str(uuid.uuid4()), "events": events})
    request = client.build_request(
        "POST",
        "/api/v1/sync",
        content=body.encode(),
        headers={**actor.headers, "content-type": "application/json", "accept-encoding": "gzip"},
    )
    return await client.send(request, stream=True)


async def test_a_push_answer_is_gzipped_whole_and_reads_back(client, world):
    events = [received() for _ in range(20)]
    response = await _push_raw(client, world.keeper_a, events)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) == len(raw)
    assert "accept-encoding" in response.headers["vary"].lower()
    results = json.loads(gzip.decompress(raw))["results"]
    assert [r["id"] for r in results] == [e["id"] for e in events]
    assert {r["status"] for r in results} == {"accepted"}


async def test_a_short_answer_goes_as_it_is(client, world):
    response = await _push_raw(client, world.keeper_a, [])
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert json.loads(raw)["results"] == []
