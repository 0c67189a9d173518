"""A push's answer gzipped whole, as a phone reads it back (streamed files: test_shell)."""

from __future__ import annotations

import gzip
import io
import json
import threading
import uuid
import zipfile

from backend import compression
from tests.support import received
from tests.test_county_export import _month_of_activity


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


async def test_a_workbook_goes_as_it_is_it_is_a_zip_already(client, world):
    """A month's workbook asked for with gzip accepted: sent as the zip it is, and it opens."""
    month = await _month_of_activity(client, world)
    request = client.build_request(
        "GET",
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={month}",
        headers={**world.staff.headers, "accept-encoding": "gzip"},
    )
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert raw[:2] == b"PK"
    with zipfile.ZipFile(io.BytesIO(raw)) as workbook:
        assert "xl/workbook.xml" in workbook.namelist()


async def test_a_long_answer_is_gzipped_off_the_event_loop_and_reads_back(
    client, world, monkeypatch
):
    """A county page at least OFF_LOOP_BYTES long is deflated on a worker thread (the loop serves
    pushes meanwhile); a push's short answer on the loop's own thread."""
    threads: list[int] = []
    real = compression.gzip.compress

    def recorded(data, *args, **kwargs):
        threads.append(threading.get_ident())
        return real(data, *args, **kwargs)

    monkeypatch.setattr(compression.gzip, "compress", recorded)
    monkeypatch.setattr(compression, "OFF_LOOP_BYTES", 4096)
    loop_thread = threading.get_ident()
    request = client.build_request(
        "GET",
        "/county/?lang=zh-CN",
        headers={**world.staff.headers, "accept": "text/html", "accept-encoding": "gzip"},
    )
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    page = gzip.decompress(raw).decode()
    assert len(page) >= 4096 and page.rstrip().endswith("</html>")
    assert threads == [threads[0]] and threads[0] != loop_thread
    pushed = await _push_raw(client, world.keeper_a, [received() for _ in range(20)])
    assert [chunk async for chunk in pushed.aiter_raw()]
    assert pushed.headers["content-encoding"] == "gzip" and threads[1] == loop_thread
