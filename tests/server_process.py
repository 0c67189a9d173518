"""Running `cunzhan` as real processes for tests that kill, restart or load the server."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
CUNZHAN = [sys.executable, "-m", "backend.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUNZHAN_")}
    env.update(
        CUNZHAN_DATA_DIR=str(data_dir),
        CUNZHAN_DATABASE_URL=database_url,
        CUNZHAN_SCHEDULER="0",
        CUNZHAN_DEMO_HISTORY_DAYS="0",
    )
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CUNZHAN, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
        check=True,
    )  # fmt: skip


class Server:
    """One `cunzhan serve` process; start, SIGKILL and start again on the same port."""

    def __init__(
        self, env: dict[str, str], port: int | None = None, extra_args=(), log: Path | None = None
    ):
        self.env = env
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.log = log  # where its output goes (else nowhere)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> float:
        """Start and wait until /healthz answers; returns the seconds that took. The wait ends
        as soon as it answers or the process exits: a generous limit only helps a busy machine."""
        began = time.monotonic()
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [*CUNZHAN, "serve", "--port", str(self.port), *self.extra_args],
            cwd=REPO,
            env=self.env,
            stdout=output,
            stderr=output,
            start_new_session=True,  # its own process group: `kill` takes any workers with it
        )
        if self.log:
            output.close()  # the process has its own copy
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not become healthy")

    def kill(self) -> None:
        """SIGKILL the server and, with --workers, its workers: killed alone, they lived on as
        orphans holding database connections until PostgreSQL refused new clients."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
