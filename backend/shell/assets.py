"""The PWA's files as one versioned snapshot: contents, types, ETags and the shell version.

The version is a hash of every served file, so a changed file gives every asset a new URL
(`/app/v/<version>/…`, cached for a year) and the service worker a new byte content (it updates).
No build step: the snapshot is read from `pwa/` and re-read when a file there changes.

The shell page is finished here (see `finish_page`) so that a first visit over a slow network
needs nothing after the page to draw the login screen: the stylesheet marked `data-inline` is
written into the page, the modules named by the `<!-- bundle: … -->` marker and everything they
import statically become the page's one inline script (`backend/shell/bundle.py`; a module added
to that graph is carried without an edit here), and the catalog of the page's language rides
along as JSON. One page per language (`Snapshot.page`); the CSP names the hashes of its inline
`<script>` and `<style>`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.i18n import DEFAULT_LANGUAGE, LANGUAGES, text_direction
from backend.security import CONTENT_SECURITY_POLICY
from backend.settings import REPO_ROOT
from backend.shell.bundle import Bundle, build_bundle

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
ROOT_ELEMENT = re.compile(r'<html lang="[^"]*">')
# Inline code the CSP must name (a JSON data block is never run: it needs no hash).
INLINE_CODE = re.compile(r'<(script|style)(?: type="module")?>(.*?)</\1>', re.S)


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


def catalog_block(files: dict[str, bytes], language: str) -> str:
    """The language's catalog as a JSON data block (js/i18n.js reads it instead of fetching)."""
    strings = json.loads(files[f"locales/{language}.json"])
    text = json.dumps(strings, ensure_ascii=False, separators=(",", ":"))
    # "<" escaped: no string in it can end the element.
    text = text.replace("<", "\\u003c")
    return f'<script type="application/json" id="cz-catalog" data-lang="{language}">{text}</script>'


def finish_page(
    page: str, files: dict[str, bytes], script: str | None, language: str
) -> tuple[str, str]:
    """The shell page as served in one language, and its content security policy."""

    def inline_stylesheet(match: re.Match[str]) -> str:
        css = files[match.group(1)].decode("utf-8")
        return "<style>" + css.strip() + "</style>"

    def first_screen(match: re.Match[str]) -> str:
        return catalog_block(files, language) + f'\n<script type="module">{script}</script>'

    page = INLINE_STYLESHEET.sub(inline_stylesheet, page)
    page = ROOT_ELEMENT.sub(
        f'<html lang="{language}" dir="{text_direction(language)}">', page, count=1
    )
    if script is not None:
        page = FIRST_SCREEN_MARKER.sub(first_screen, page)
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
    # The shell page in each language (its catalog inside); assets["index.html"] is zh-CN's.
    pages: dict[str, Asset] = field(default_factory=dict)

    def page(self, language: str) -> Asset:
        return self.pages.get(language) or self.assets["index.html"]


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
    served = {name: body for name, body in raw.items() if name != "index.html"}
    bundle = _first_screen(raw)
    if bundle:
        served.update({name: bundle.shim(name).encode("utf-8") for name in bundle.modules})
    assets = {}
    for name, body in served.items():
        if name in TEMPLATED:
            body = body.replace(VERSION_PLACEHOLDER.encode(), version.encode())
        assets[name] = Asset(name, body, MEDIA_TYPES[Path(name).suffix], _etag(body))
    pages = _pages(raw, version, bundle) if "index.html" in raw else {}
    if pages:
        assets["index.html"] = pages[DEFAULT_LANGUAGE]
    return Snapshot(version=version, assets=assets, mtimes=mtimes, pages=pages)


def _first_screen(raw: dict[str, bytes]) -> Bundle | None:
    entries = first_screen_entries(raw["index.html"].decode("utf-8")) if "index.html" in raw else []
    if not entries:
        return None
    texts = {name: body.decode("utf-8") for name, body in raw.items() if name.endswith(".js")}
    return build_bundle(texts, entries)


def _pages(raw: dict[str, bytes], version: str, bundle: Bundle | None) -> dict[str, Asset]:
    template = raw["index.html"].decode("utf-8").replace(VERSION_PLACEHOLDER, version)
    script = bundle.page_script(version) if bundle else None
    pages = {}
    for language in LANGUAGES:
        page, csp = finish_page(template, raw, script, language)
        body = page.encode("utf-8")
        pages[language] = Asset("index.html", body, MEDIA_TYPES[".html"], _etag(body), csp)
    return pages


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
