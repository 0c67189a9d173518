"""`cunzhan backup` while the server runs, then `cunzhan restore` into an empty database: every
entry is back, every chain verifies, and a station's photo (kept in the database) is back too."""

from __future__ import annotations

import sqlite3
import subprocess

import httpx
import pytest

from tests.server_process import CUNZHAN, REPO, Server, environment, run
from tests.support import received
from tests.test_station_photos import camera_jpeg
from tests.test_sync_crash import stored_ids


async def stored_photos(database_url: str, engine_name: str) -> dict[str, bytes]:
    query = "SELECT id, content FROM registry_station_photo"
    if engine_name == "sqlite":
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return {str(row[0]): bytes(row[1]) for row in connection.execute(query)}
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        return {str(row[0]): bytes(row[1]) for row in await connection.fetch(query)}
    finally:
        await connection.close()


@pytest.mark.slow
async def test_backup_while_serving_then_restore_and_verify(
    tmp_path, fresh_database_url, engine_name
):
    env = environment(tmp_path / "data", fresh_database_url, CUNZHAN_DEMO_HISTORY_DAYS="3")
    run(env, "migrate", "--quiet")
    run(env, "demo")
    server = Server(env)
    server.start()
    try:
        async with httpx.AsyncClient() as http:
            token = (
                await http.post(
                    f"{server.url}/api/v1/auth/login",
                    json={"phone": "13800000001", "password": "demo1234"},
                )
            ).json()["token"]
            await http.post(
                f"{server.url}/api/v1/sync",
                json={
                    "device_id": "0b0b0b0b-0000-4000-8000-000000000000",
                    "events": [received() for _ in range(50)],
                },
                headers={"authorization": f"Bearer {token}"},
            )
            station_id = (
                await http.get(
                    f"{server.url}/api/v1/auth/me", headers={"authorization": f"Bearer {token}"}
                )
            ).json()["station_id"]
            staff = (
                await http.post(
                    f"{server.url}/api/v1/auth/login",
                    json={"phone": "13900000001", "password": "demo1234"},
                )
            ).json()["token"]
            photo = await http.post(
                f"{server.url}/api/v1/stations/{station_id}/photos?kind=front",
                content=camera_jpeg(),
                headers={"authorization": f"Bearer {staff}", "content-type": "image/jpeg"},
            )
            assert photo.status_code == 201, photo.text
            kept = (
                await http.get(
                    f"{server.url}{photo.json()['url']}",
                    headers={"authorization": f"Bearer {staff}"},
                )
            ).content
        target = tmp_path / "backup.bin"
        answer = run(env, "backup", str(target))  # the server keeps serving meanwhile
        assert "backup written" in answer.stdout
    finally:
        server.stop()
    before = await stored_ids(fresh_database_url, engine_name)
    assert len(before) > 50

    refused = subprocess.run(
        [*CUNZHAN, "restore", str(target)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "refused" in refused.stderr

    if engine_name == "sqlite":
        target_url = f"sqlite:///{tmp_path}/restored.db"
    else:
        target_url = (
            fresh_database_url.rsplit("/", 1)[0] + f"/{fresh_database_url.rsplit('/', 1)[1]}_r"
        )
        import asyncpg

        admin = await asyncpg.connect(fresh_database_url)
        await admin.execute(f'CREATE DATABASE "{target_url.rsplit("/", 1)[1]}"')
        await admin.close()
    restored_env = environment(tmp_path / "data2", target_url)
    try:
        run(restored_env, "restore", str(target))
        assert await stored_ids(target_url, engine_name) == before
        assert await stored_photos(target_url, engine_name) == {photo.json()["id"]: kept}
        assert "every hash chain verifies" in run(restored_env, "verify").stdout
    finally:
        if engine_name != "sqlite":
            admin = await asyncpg.connect(fresh_database_url)
            await admin.execute(
                f'DROP DATABASE IF EXISTS "{target_url.rsplit("/", 1)[1]}" WITH (FORCE)'
            )
            await admin.close()
