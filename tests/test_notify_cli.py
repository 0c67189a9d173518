"""`cunzhan vapid-keys`: the public key the browsers subscribe with, made once and kept in the
database (the same after a restart and in every process), or derived from the configured key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.push_fakes import b64url_decode

REPO = Path(__file__).resolve().parent.parent
CUNZHAN = [sys.executable, "-m", "backend.cli"]


def environment(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CUNZHAN_")}
    env.update(
        CUNZHAN_DATA_DIR=str(tmp_path / "data"),
        CUNZHAN_SCHEDULER="0",
        CUNZHAN_DATABASE_URL=database_url,
        **extra,
    )
    return env


def cunzhan(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*CUNZHAN, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_generated_key_is_kept_in_the_database(tmp_path, fresh_database_url):
    env = environment(tmp_path, fresh_database_url)
    cunzhan(env, "migrate", "--quiet")
    first = cunzhan(env, "vapid-keys")
    assert len(b64url_decode(first)) == 65 and b64url_decode(first)[0] == 4
    assert cunzhan(env, "vapid-keys") == first  # a second process reads the same pair


def test_a_generated_pair_configures_the_server(tmp_path, fresh_database_url):
    env = environment(tmp_path, fresh_database_url)
    lines = cunzhan(env, "vapid-keys", "--generate").splitlines()
    private = lines[0].removeprefix("CUNZHAN_VAPID_PRIVATE_KEY=")
    public = lines[1].removeprefix("public key: ")
    assert len(b64url_decode(private)) == 32
    configured = environment(tmp_path, fresh_database_url, CUNZHAN_VAPID_PRIVATE_KEY=private)
    assert cunzhan(configured, "vapid-keys") == public  # no migration needed: nothing is stored
