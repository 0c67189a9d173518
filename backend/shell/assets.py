"""The PWA's files as one versioned snapshot: contents, types, ETags and the shell version.

The version is a hash of every served file, so a changed file gives every asset a new URL
(`/app/v/<version>/…`, cached for a year) and the service worker a new byte content (it updates).
No build step: the snapshot is read from `pwa/` and re-read when a file there changes.

The shell page is finished here (see `finish_page`) so that a first visit over a slow network needs
as few round trips as possible: the stylesheet marked `data-inline` is written into the page, and
the `<!-- modulepreload: … -->` marker becomes one `modulepreload` link per module those entry
modules import (followed through the import graph, so a module added later is preloaded without
an edit here). The page's inline `<script>`/`<style>` get their hashes into its CSP.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import posixpath
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.security import CONTENT_SECURITY_POLICY
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
    # The shell page's own policy (hashes of its inline script and style); None: the app's default.
    csp: str | None = None


INLINE_STYLESHEET = re.compile(r'<link rel="stylesheet" href="v/[^/"]+/([^"]+)" data-inline>')
PRELOAD_MARKER = re.compile(r"<!-- modulepreload: ([^>]*?) -->")
# Static imports and re-exports (`import {a} from "./x.js"`, `export {b} from "../y.js"`,
# `import "./z.js"`); a dynamic import() is loaded on demand and is not followed.
STATIC_IMPORT = re.compile(
    r"""^\s*(?:import\s*|(?:import|export)\b[^"'`;]*?\bfrom\s*)["'](\.{1,2}/[^"']+)["']""", re.M
)
INLINE_CODE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)


def static_imports(texts: dict[str, str], entries: list[str]) -> list[str]:
    """Every module the entries load before they run: the entries and their static imports."""
    order: list[str] = []
    pending = list(entries)
    while pending:
        name = pending.pop(0)
        if name in order:
            continue
        if name not in texts:
            raise FileNotFoundError(f"pwa/{name} is imported but does not exist")
        order.append(name)
        folder = posixpath.dirname(name)
        for target in STATIC_IMPORT.findall(texts[name]):
            pending.append(posixpath.normpath(posixpath.join(folder, target)))
    return order


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
    texts = {name: body.decode("utf-8") for name, body in files.items() if name.endswith(".js")}

    def inline_stylesheet(match: re.Match[str]) -> str:
        css = files[match.group(1)].decode("utf-8")
        return "<style>" + css.strip() + "</style>"

    def preload_links(match: re.Match[str]) -> str:
        modules = static_imports(texts, match.group(1).split())
        return "\n".join(
            f'<link rel="modulepreload" href="v/{version}/{name}">' for name in modules
        )

    page = INLINE_STYLESHEET.sub(inline_stylesheet, page)
    page = PRELOAD_MARKER.sub(preload_links, page)
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
    for name, body in raw.items():
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
