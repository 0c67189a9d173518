"""The `cunzhan` command as an operator runs it: migrate, demo, serve, then log in over HTTP."""

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
CUNZHAN = [sys.executable, "-m", "backend.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_environment(tmp_path: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUNZHAN_")}
    env["CUNZHAN_DATA_DIR"] = str(tmp_path / "data")
    env["CUNZHAN_SCHEDULER"] = "0"
    if database_url:
        env["CUNZHAN_DATABASE_URL"] = database_url
    return env


def test_with_nothing_configured_data_goes_under_the_data_dir(tmp_path):
    env = fresh_environment(tmp_path, None)
    subprocess.run([*CUNZHAN, "migrate", "--quiet"], cwd=REPO, env=env, check=True, timeout=120)
    assert (tmp_path / "data" / "cunzhan.db").exists()
    assert (tmp_path / "data" / "secret_key").exists()
    mode = (tmp_path / "data" / "secret_key").stat().st_mode & 0o777
    assert mode == 0o600


@pytest.mark.slow
def test_migrate_demo_serve_login_on_a_fresh_database(tmp_path, fresh_database_url):
    env = fresh_environment(tmp_path, fresh_database_url)
    for command in (["migrate", "--quiet"], ["demo", "--if-empty"]):
        subprocess.run([*CUNZHAN, *command], cwd=REPO, env=env, check=True, timeout=120)
    assert (tmp_path / "data" / "secret_key").exists()
    port = free_port()
    server = subprocess.Popen(
        [*CUNZHAN, "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not become healthy")
        answer = httpx.post(
            f"{base}/api/v1/auth/login", json={"phone": "13900000001", "password": "demo1234"}
        )
        assert answer.status_code == 200
        assert answer.json()["user"]["role"] == "county_staff"
    finally:
        server.terminate()
        server.wait(timeout=15)
    # The tests in this process may hash at argon2's smallest cost (scripts/test); what the
    # command stores is hashed at the real one (OWASP's argon2id: 19 MiB, two passes).
    stored = stored_password_hash(env["CUNZHAN_DATABASE_URL"], "13900000001")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def stored_password_hash(database_url: str, phone: str) -> str:
    query = "SELECT password_hash FROM accounts_user WHERE phone = "
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return connection.execute(query + "?", (phone,)).fetchone()[0]

    async def from_postgres() -> str:
        connection = await asyncpg.connect(database_url)
        try:
            return await connection.fetchval(query + "$1", phone)
        finally:
            await connection.close()

    return asyncio.run(from_postgres())


def test_serve_refuses_to_start_on_an_unmigrated_database(tmp_path, fresh_database_url):
    env = fresh_environment(tmp_path, fresh_database_url)
    result = subprocess.run(
        [*CUNZHAN, "serve", "--port", str(free_port())],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cunzhan migrate" in result.stderr
