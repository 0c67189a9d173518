"""The PWA's files as one versioned snapshot: contents, types, ETags and the shell version.

The version is a hash of every served file, so a changed file gives every asset a new URL
(`/app/v/<version>/…`, cached for a year) and the service worker a new byte content (it updates).
No build step: the snapshot is read from `pwa/` and re-read when a file there changes.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.settings import REPO_ROOT

# CUNZHAN_PWA_DIR serves another copy of the shell (tests of the update flow use it).
PWA_DIR = Path(os.environ.get("CUNZHAN_PWA_DIR") or REPO_ROOT / "pwa")
VERSION_PLACEHOLDER = "__SHELL_VERSION__"

# What the PWA folder may serve; anything else there (notes, sources) is not served.
MEDIA_TYPES = {
    ".html": "text/html",  # Litestar adds "; charset=utf-8" to text types
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
}
# Served with the version written into them, never from a versioned URL.
TEMPLATED = ("index.html", "sw.js")
RECHECK_SECONDS = 2.0

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/manifest+json", ".webmanifest")


@dataclass(frozen=True)
class Asset:
    path: str
    body: bytes
    media_type: str
    etag: str


@dataclass
class Snapshot:
    version: str
    assets: dict[str, Asset]
    mtimes: dict[str, float] = field(default_factory=dict)


def _scan(directory: Path) -> dict[str, float]:
    found = {}
    for path in directory.rglob("*"):
        relative = path.relative_to(directory).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in relative.split("/")):
            continue
        if path.suffix not in MEDIA_TYPES:
            continue
        found[relative] = path.stat().st_mtime
    return found


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def build_snapshot(directory: Path = PWA_DIR) -> Snapshot:
    mtimes = _scan(directory)
    raw = {name: (directory / name).read_bytes() for name in sorted(mtimes)}
    digest = hashlib.sha256()
    for name, body in raw.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    version = digest.hexdigest()[:12]
    assets = {}
    for name, body in raw.items():
        if name in TEMPLATED:
            body = body.replace(VERSION_PLACEHOLDER.encode(), version.encode())
        media_type = MEDIA_TYPES[Path(name).suffix]
        assets[name] = Asset(name, body, media_type, _etag(body))
    return Snapshot(version=version, assets=assets, mtimes=mtimes)


class ShellFiles:
    """The current snapshot; re-read (at most every two seconds) when a file in pwa/ changed."""

    def __init__(self, directory: Path = PWA_DIR) -> None:
        self.directory = directory
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> Snapshot:
        now = time.monotonic()
        with self._lock:
            if self._snapshot is None:
                self._snapshot = build_snapshot(self.directory)
                self._checked = now
            elif now - self._checked > RECHECK_SECONDS:
                self._checked = now
                if _scan(self.directory) != self._snapshot.mtimes:
                    self._snapshot = build_snapshot(self.directory)
            return self._snapshot


SHELL = ShellFiles()
