"""The PWA's files as one versioned snapshot: contents, types, ETags and the shell version.

The version is a hash of every served file, so a changed file gives every asset a new URL
(`/app/v/<version>/…`, cached for a year) and the service worker a new byte content (it updates).
No build step: the snapshot is read from `pwa/` and re-read when a file there changes.

The shell page is finished here (see `finish_page`) so that a first visit over a slow network needs
as few round trips as possible: the stylesheet marked `data-inline` is written into the page, and
the modules named by the `<!-- bundle: … -->` marker and everything they import statically are
joined into one generated module (`backend/shell/bundle.py`; a module added to that graph is
bundled without an edit here), which the marker's `modulepreload` links fetch at once. The page's
inline `<script>`/`<style>` get their hashes into its CSP.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.security import CONTENT_SECURITY_POLICY
from backend.settings import REPO_ROOT
from backend.shell.bundle import BUNDLE, build_bundle

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
    # The shell page's own policy (hashes of its inline script and style); None: the app's default.
    csp: str | None = None


INLINE_STYLESHEET = re.compile(r'<link rel="stylesheet" href="v/[^/"]+/([^"]+)" data-inline>')
FIRST_SCREEN_MARKER = re.compile(r"<!-- bundle: ([^>]*?) -->")
INLINE_CODE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)


def first_screen_entries(page: str) -> list[str]:
    """The modules named by the page's `<!-- bundle: … -->` marker (none: nothing bundled)."""
    found = FIRST_SCREEN_MARKER.search(page)
    return found.group(1).split() if found else []


def _with_sources(policy: str, directive: str, sources: list[str]) -> str:
    if not sources:
        return policy
    extra = " ".join(f"'{source}'" for source in sources)
    parts = [part.strip() for part in policy.split(";")]
    for index, part in enumerate(parts):
        if part.split(" ")[0] == directive:
            parts[index] = f"{part} {extra}"
            break
    else:
        parts.append(f"{directive} 'self' {extra}")
    return "; ".join(parts)


def finish_page(page: str, files: dict[str, bytes], version: str) -> tuple[str, str]:
    """The shell page as served, and its content security policy."""

    def inline_stylesheet(match: re.Match[str]) -> str:
        css = files[match.group(1)].decode("utf-8")
        return "<style>" + css.strip() + "</style>"

    def preload_links(match: re.Match[str]) -> str:
        # The bundle, and the entries' own URLs (the page's script, the router's import() of the
        # login screen): all of them in the first wave of requests, none after another.
        modules = [BUNDLE, *match.group(1).split()]
        return "\n".join(
            f'<link rel="modulepreload" href="v/{version}/{name}">' for name in modules
        )

    page = INLINE_STYLESHEET.sub(inline_stylesheet, page)
    page = FIRST_SCREEN_MARKER.sub(preload_links, page)
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, code in INLINE_CODE.findall(page):
        digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
        hashes[tag].append(f"sha256-{digest}")
    policy = _with_sources(CONTENT_SECURITY_POLICY, "script-src", hashes["script"])
    policy = _with_sources(policy, "style-src", hashes["style"])
    return page, policy


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
    served = dict(raw)
    entries = first_screen_entries(raw["index.html"].decode("utf-8")) if "index.html" in raw else []
    if entries:
        texts = {name: body.decode("utf-8") for name, body in raw.items() if name.endswith(".js")}
        bundle = build_bundle(texts, entries)
        served[BUNDLE] = bundle.source.encode("utf-8")
        served.update({name: bundle.shim(name).encode("utf-8") for name in bundle.modules})
    for name, body in served.items():
        csp = None
        if name in TEMPLATED:
            body = body.replace(VERSION_PLACEHOLDER.encode(), version.encode())
        if name == "index.html":
            page, csp = finish_page(body.decode("utf-8"), raw, version)
            body = page.encode("utf-8")
        media_type = MEDIA_TYPES[Path(name).suffix]
        assets[name] = Asset(name, body, media_type, _etag(body), csp)
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
