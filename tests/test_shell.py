"""Serving the keeper's PWA under /app/: versioned long-cached assets, a revalidated shell page and
service worker, correct types, gzip, a precache list whose files all exist, the manifest, the
first-load budget, complete catalogs, and code that Chrome 80 can run."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from backend.ledger.carriers import RULES
from backend.shell import assets

PWA = Path(__file__).resolve().parent.parent / "pwa"
FIRST_LOAD_BUDGET = 100 * 1024
GZIP = {"accept-encoding": "gzip"}


async def shell_version(client) -> str:
    page = (await client.get("/app/")).text
    return re.search(r'href="v/([0-9a-f]+)/icons/icon-192\.png"', page).group(1)


def precache_list(sw_source: str) -> list[str]:
    """The worker's precache: its SHELL (versioned) and STABLE (fixed URLs) arrays."""
    version = re.search(r'const VERSION = "([^"]+)"', sw_source).group(1)
    shell = re.findall(
        r'"([^"]+)"', re.search(r"const SHELL = \[(.*?)\];", sw_source, re.S).group(1)
    )
    stable = re.findall(
        r'"([^"]+)"', re.search(r"const STABLE = \[(.*?)\];", sw_source, re.S).group(1)
    )
    return [f"/app/v/{version}/{path}" for path in shell] + [
        "/app/" if path == "./" else f"/app/{path}" for path in stable
    ]


def wire_bytes(response) -> int:
    """What crossed the network: the (compressed) body and the header lines."""
    headers = sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
    return int(response.headers.get("content-length", len(response.content))) + headers + 20


async def test_the_shell_page_is_revalidated_and_names_this_versions_assets(client):
    response = await client.get("/app/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"]
    assert "content-security-policy" in response.headers
    assert assets.VERSION_PLACEHOLDER not in response.text
    version = await shell_version(client)
    referenced = re.findall(r'(?:href|src)="(v/[^"]+)"', response.text)
    assert len(referenced) >= 2  # the icons: the login screen's code and strings are inside
    assert "accept-language, cookie" in response.headers["vary"]  # one page per language
    for path in referenced:
        assert path.startswith(f"v/{version}/")
        asset = await client.get(f"/app/{path}")
        assert asset.status_code == 200, path
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_the_shell_page_paints_without_scripts_and_obeys_the_csp(client):
    response = await client.get("/app/")
    page = response.text
    assert 'id="app"' in page and "村站通" in page  # something useful before any script runs
    # The page's own inline <script> and <style> run only because its CSP names their hashes.
    policy = response.headers["content-security-policy"]
    inline = re.findall(r'<(script|style)(?: type="module")?>(.*?)</\1>', page, re.S)
    assert {tag for tag, _ in inline} == {"script", "style"}
    for tag, code in inline:
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        directive = next(d for d in policy.split(";") if d.split()[0] == f"{tag}-src")
        assert f"'sha256-{digest}'" in directive.split()
        assert "'unsafe-inline'" not in directive
    # The login screen's code, and its strings as data (never run: no hash needed); nothing else.
    assert re.findall(r"<script[^>]*>", page) == [
        '<script type="application/json" id="cz-catalog" data-lang="zh-CN">',
        '<script type="module">',
    ]
    assert " style=" not in page  # no inline style attributes (a hash does not cover them)
    for source in (PWA / "js").rglob("*.js"):
        assert ".innerHTML" not in source.read_text(), source  # nothing typed becomes markup


async def test_app_without_a_slash_redirects_so_relative_urls_resolve(client):
    response = await client.get("/app", follow_redirects=False)
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/app/"
    root = await client.get("/", follow_redirects=False)
    assert root.headers["location"] == "/app/"


async def test_the_service_worker_is_revalidated_scoped_to_app_and_versioned(client):
    response = await client.get("/app/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert "service-worker-allowed" not in response.headers  # its own folder is its scope
    version = re.search(r'const VERSION = "([^"]+)"', response.text).group(1)
    assert version == await shell_version(client)
    assert not re.search(r"^\s*(import|export)\s", response.text, re.M)  # a classic script
    # It stays away from the API and the county pages, and never serves them from a cache.
    assert 'url.pathname.indexOf("/app/") !== 0) return;' in response.text


async def test_every_precached_file_exists_with_its_type(client):
    sw = (await client.get("/app/sw.js")).text
    for url in precache_list(sw):
        response = await client.get(url)
        assert response.status_code == 200, url
        suffix = Path(url).suffix or ".html"
        expected = assets.MEDIA_TYPES[suffix].split(";")[0]
        assert response.headers["content-type"].split(";")[0] == expected, url


def test_every_module_and_catalog_of_the_app_is_precached():
    """Offline, a module missing from the precache would break a screen: none may be."""
    sw = (PWA / "sw.js").read_text()
    shell = set(re.findall(r'"([^"]+)"', re.search(r"const SHELL = \[(.*?)\];", sw, re.S).group(1)))
    # LATER: cached as soon as the worker is active, after the first paint (the counter's screens).
    later = re.search(r"const LATER = \[(.*?)\];", sw, re.S)
    shell |= set(re.findall(r'"([^"]+)"', later.group(1))) if later else set()
    files = {p.relative_to(PWA).as_posix() for p in (PWA / "js").rglob("*.js")}
    files |= {p.relative_to(PWA).as_posix() for p in (PWA / "locales").glob("*.json")}
    assert files <= shell, sorted(files - shell)
    # The stylesheet travels inside the page (precached as "./"), not as a file of its own.
    assert "app.css" not in shell
    assert 'href="v/__SHELL_VERSION__/app.css" data-inline>' in (PWA / "index.html").read_text()
    assert all((PWA / path).is_file() for path in shell)
    # Every screen the router can load exists.
    main = (PWA / "js" / "main.js").read_text()
    screens = json.loads(re.search(r"const SCREENS = (\[.*?\]);", main).group(1))
    for screen in screens:
        name = "record" if screen == "edit" else screen
        assert f"js/screens/{name}.js" in shell, screen


async def test_assets_of_another_version_are_served_but_not_cached_for_long(client):
    old = await client.get("/app/v/0123456789ab/js/main.js")
    assert old.status_code == 200
    assert old.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/app/v/x/sw.js",
        "/app/v/x/index.html",
        "/app/nothing.js",
        "/app/../pyproject.toml",
        "/app/v/x/../../backend/settings.py",
        "/app/icons/../../README.md",
        "/app/%2e%2e/pyproject.toml",
    ],
)
async def test_nothing_outside_the_shell_is_served(client, path):
    response = await client.get(path)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path,media_type",
    [
        ("js/main.js", "text/javascript"),
        ("app.css", "text/css"),
        ("locales/ug.json", "application/json"),
        ("icons/icon-192.png", "image/png"),
    ],
)
async def test_types_are_right(client, path, media_type):
    version = await shell_version(client)
    response = await client.get(f"/app/v/{version}/{path}")
    assert response.headers["content-type"].split(";")[0] == media_type
    manifest = await client.get("/app/manifest.webmanifest")
    assert manifest.headers["content-type"].split(";")[0] == "application/manifest+json"


@pytest.mark.parametrize(
    "path", ["js/screens/home.js", "js/forms.js", "app.css", "locales/zh-CN.json"]
)
async def test_text_assets_are_gzipped(client, path):
    version = await shell_version(client)
    response = await client.get(f"/app/v/{version}/{path}", headers=GZIP)
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(response.content)
    page = await client.get("/app/", headers=GZIP)
    assert page.headers["content-encoding"] == "gzip"


async def test_an_unchanged_file_answers_304(client):
    first = await client.get("/app/manifest.webmanifest")
    again = await client.get(
        "/app/manifest.webmanifest", headers={"if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_a_get_of_the_shell_hands_out_the_csrf_cookie(client):
    client.cookies.clear()
    response = await client.get("/app/")
    assert "cz_csrf=" in response.headers.get("set-cookie", "")


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", body[16:24])


async def test_the_manifest_makes_the_app_installable(client):
    manifest = (await client.get("/app/manifest.webmanifest")).json()
    assert manifest["name"] == "村站通"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].upper() == "#07C160"
    assert manifest["start_url"].startswith("/app/") and manifest["scope"] == "/app/"
    found = set()
    for icon in manifest["icons"]:
        body = (await client.get(f"/app/{icon['src']}")).content
        width, height = png_size(body)
        assert f"{width}x{height}" == icon["sizes"]
        found.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= found


def module_graph(entry: Path) -> set[Path]:
    """The modules loaded statically from `entry` (what the first screen needs)."""
    seen, todo = set(), [entry]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for target in re.findall(
            r'^\s*(?:import|export)[^;]*?from\s+"(\.[^"]+)"', module.read_text(), re.M | re.S
        ):
            todo.append((module.parent / target).resolve())
    return seen


async def test_the_first_load_stays_under_100_kib(client):
    """Page (with the styles, the login screen's code and the keeper's strings), and the service
    worker with its whole precache (a first visit fetches all of it), gzipped as served, under
    100 KiB."""
    version = await shell_version(client)
    urls = {"/app/", "/app/sw.js", "/app/manifest.webmanifest"}
    page = (await client.get("/app/")).text
    urls |= {f"/app/{path}" for path in re.findall(r'(?:href|src)="(v/[^"]+)"', page)}
    for module in module_graph((PWA / "js" / "main.js").resolve()) | {PWA / "js/screens/login.js"}:
        urls.add(f"/app/v/{version}/{module.resolve().relative_to(PWA.resolve()).as_posix()}")
    urls |= set(precache_list((await client.get("/app/sw.js")).text))
    total = 0
    for url in sorted(urls):
        response = await client.get(url, headers=GZIP)
        assert response.status_code == 200, url
        total += wire_bytes(response)
        print(f"{url[-40:]:40} {len(response.content):7} B  sent {wire_bytes(response):6} B")
    print(f"first load: {len(urls)} requests, {total / 1024:.1f} KiB")
    assert total <= FIRST_LOAD_BUDGET


CATALOGS = {
    lang: json.loads((PWA / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
    for lang in ("zh-CN", "ug", "en")
}
ARABIC = re.compile(r"[\u0600-\u06FF]")


def test_the_three_catalogs_have_the_same_keys_and_uyghur_is_in_arabic_script():
    keys = set(CATALOGS["zh-CN"])
    for lang, catalog in CATALOGS.items():
        assert set(catalog) == keys, (lang, set(catalog) ^ keys)
        assert all(value.strip() for value in catalog.values()), lang
        placeholders = {k: set(re.findall(r"\{\w+\}", v)) for k, v in catalog.items()}
        assert placeholders == {
            k: set(re.findall(r"\{\w+\}", v)) for k, v in CATALOGS["zh-CN"].items()
        }, lang
    assert all(ARABIC.search(value) for value in CATALOGS["ug"].values())


def test_every_key_the_code_uses_is_in_the_catalogs():
    source = "\n".join(p.read_text() for p in (PWA / "js").rglob("*.js"))
    used = set(re.findall(r'\bt\(\s*"([a-z_.A-Z0-9]+)"', source))
    used |= set(re.findall(r'(?:label|hint|fallback): "([a-z_]+\.[a-z_.]+)"', source))
    families = {
        "carrier": [carrier["code"] for carrier in RULES["carriers"]],
        "platform": RULES["platforms"],
        "service": RULES["services"],
        "type": [
            "parcel.received", "parcel.picked_up", "parcel.returned", "parcel.dispatched",
            "purchase.ordered", "purchase.delivered", "sale.recorded", "service.recorded",
            "checkin.recorded", "entry.reversed",
        ],
        "kind": [
            "parcel_received", "parcel_picked_up", "parcel_returned", "parcel_dispatched",
            "purchase_ordered", "purchase_delivered", "sale_recorded", "checkin_recorded",
            "service_phone_topup", "service_electricity", "service_water", "service_broadband",
            "service_ticket", "service_cash_withdrawal", "service_other",
        ],
        "status": ["synced", "pending", "rejected", "conflict"],
        "weekday": [str(day) for day in range(7)],
        "error": [
            "money_format", "money_range", "money_zero", "weight_format", "weight_range",
            "weight_ambiguous", "quantity_format", "quantity_ambiguous", "quantity_range",
        ],
    }  # fmt: skip
    for family, members in families.items():
        used |= {f"{family}.{member}" for member in members}
    known = set(CATALOGS["zh-CN"]) | set(COUNTER_CATALOGS["zh-CN"])
    missing = sorted(key for key in used if key not in known)
    assert not missing, missing


# The counter screens' own strings, loaded when one of them opens (pwa/locales/counter/).
COUNTER_CATALOGS = {
    lang: json.loads((PWA / "locales" / "counter" / f"{lang}.json").read_text(encoding="utf-8"))
    for lang in ("zh-CN", "ug", "en")
}


def test_the_counter_catalogs_have_the_same_keys_and_placeholders():
    keys = set(COUNTER_CATALOGS["zh-CN"])
    for lang, catalog in COUNTER_CATALOGS.items():
        assert set(catalog) == keys, (lang, set(catalog) ^ keys)
        assert not keys & set(CATALOGS[lang]), lang  # one home per key
        placeholders = {k: set(re.findall(r"\{\w+\}", v)) for k, v in catalog.items()}
        assert placeholders == {
            k: set(re.findall(r"\{\w+\}", v)) for k, v in COUNTER_CATALOGS["zh-CN"].items()
        }, lang
    assert all(ARABIC.search(value) for value in COUNTER_CATALOGS["ug"].values())


# What Chrome 80 (cheap Android phones, WeChat's browser) cannot run.
TOO_NEW_JS = {
    r"\?\?=|\|\|=|&&=": "logical assignment (Chrome 85)",
    r"\.replaceAll\(": "String#replaceAll (Chrome 85)",
    r"randomUUID": "crypto.randomUUID (Chrome 92)",
    r"\.at\(-?\d": "Array#at (Chrome 92)",
    r"structuredClone|Object\.hasOwn|\.findLast\(|\.toSorted\(": "newer built-ins",
    r"(?:this|\w)\.#\w|^\s+#\w+\s*[=;(]": "private class members",
    r"^await\s": "top-level await (Chrome 89)",
    r"\bstatic\s*\{": "class static blocks",
    r"Promise\.any|AggregateError|WeakRef": "newer built-ins (Chrome 85+)",
}
TOO_NEW_CSS = {
    r"inset-inline|inset-block": "inset-inline (Chrome 87)",
    r"aspect-ratio": "aspect-ratio (Chrome 88)",
    r":is\(|:where\(|:has\(": "newer selectors",
    r"(?<![-\w])gap\s*:": "flex gap (Chrome 84); use grid-gap or margins",
}


def without_comments(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return re.sub(r"^\s*//.*$", "", source, flags=re.M)


@pytest.mark.parametrize("path", sorted([*(PWA / "js").rglob("*.js"), PWA / "sw.js"]), ids=str)
def test_scripts_use_nothing_newer_than_chrome_80(path):
    text = without_comments(path.read_text())
    for pattern, what in TOO_NEW_JS.items():
        assert not re.search(pattern, text, re.M), f"{path.name}: {what}"


def test_styles_use_nothing_newer_than_chrome_80():
    css = without_comments((PWA / "app.css").read_text())
    for pattern, what in TOO_NEW_CSS.items():
        assert not re.search(pattern, css), what
    assert not re.search(r"\b(margin|padding)-(left|right)\s*:", css)  # logical properties


def test_the_version_changes_when_a_file_of_the_shell_changes(tmp_path, monkeypatch):
    shutil.copytree(PWA, tmp_path / "pwa")
    monkeypatch.setattr(assets, "RECHECK_SECONDS", -1)
    files = assets.ShellFiles(tmp_path / "pwa")
    before = files.current()
    assert before.version in before.assets["sw.js"].body.decode()
    (tmp_path / "pwa" / "app.css").write_text("/* changed */", encoding="utf-8")
    os.utime(tmp_path / "pwa" / "app.css", (1, 1))
    after = files.current()
    assert after.version != before.version
    assert after.version.encode() in after.assets["index.html"].body
    assert after.version.encode() in after.assets["sw.js"].body


async def test_the_page_carries_the_stylesheet_the_login_code_and_the_keepers_strings(client):
    """A first visit over 3G: nothing to fetch after the page before the login screen draws."""
    page = (await client.get("/app/")).text
    css = (PWA / "app.css").read_text(encoding="utf-8").strip()
    assert f"<style>{css}</style>" in page
    assert 'rel="stylesheet"' not in page and "modulepreload" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert "// ---- js/screens/login.js" in page  # tests/test_shell_bundle.py: the whole graph


@pytest.mark.parametrize(
    ("headers", "language"),
    [
        ({}, "zh-CN"),
        ({"accept-language": "ug-CN,ug;q=0.9,zh;q=0.8"}, "ug"),
        ({"accept-language": "en-US,en;q=0.9"}, "en"),
        ({"accept-language": "fr-FR,en;q=0.5"}, "en"),
        ({"accept-language": "de"}, "zh-CN"),
        # The language chosen in the app (its cookie) wins over the browser's.
        ({"accept-language": "en-US", "cookie": "cz_lang=ug"}, "ug"),
        ({"accept-language": "ug", "cookie": "cz_lang=zh-CN"}, "zh-CN"),
    ],
)
async def test_the_page_speaks_the_language_asked_for(client, headers, language):
    client.cookies.clear()
    response = await client.get("/app/", headers=headers)
    page = response.text
    direction = "rtl" if language == "ug" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in page
    carried = re.search(
        r'<script type="application/json" id="cz-catalog" data-lang="([^"]+)">(.*?)</script>',
        page,
        re.S,
    )
    assert carried.group(1) == language
    strings = json.loads(carried.group(2))
    assert strings == json.loads((PWA / "locales" / f"{language}.json").read_text("utf-8"))
    # Each language's page is its own: an ETag answers 304 only for the same one.
    again = await client.get(
        "/app/", headers={**headers, "if-none-match": response.headers["etag"]}
    )
    assert again.status_code == 304
    if language != "zh-CN":
        other = await client.get(
            "/app/",
            headers={"accept-language": "zh-CN", "if-none-match": response.headers["etag"]},
        )
        assert other.status_code == 200 and 'data-lang="zh-CN"' in other.text


def test_the_page_and_the_service_worker_push_batches_of_the_servers_size():
    """The worker pushed 200-event batches where the page pushed 500: one size, the server's,
    and one cap in bytes under the server's body limit (the worker had none)."""
    from backend.app import MAX_BODY_BYTES
    from backend.ledger.schemas import MAX_BATCH_EVENTS

    sources = {name: (PWA / name).read_text() for name in ("js/sync.js", "sw.js")}
    sizes = {name: re.search(r"const MAX_EVENTS = (\d+);", s) for name, s in sources.items()}
    caps = {name: re.search(r"const MAX_BYTES = (\d+) \* 1024;", s) for name, s in sources.items()}
    assert all(sizes.values()) and all(caps.values()), (sizes, caps)
    assert {name: int(found.group(1)) for name, found in sizes.items()} == {
        "js/sync.js": MAX_BATCH_EVENTS,
        "sw.js": MAX_BATCH_EVENTS,
    }
    assert len({int(found.group(1)) for found in caps.values()}) == 1
    assert int(caps["sw.js"].group(1)) * 1024 < MAX_BODY_BYTES
    # Both measure an event the same way (the page's store.pendingBatch, the worker's copy).
    store = (PWA / "js" / "store.js").read_text()
    measure = "const size = JSON.stringify(event).length * 3 + 2;"
    assert measure in store and measure in sources["sw.js"]
