"""The first screen's modules carried by the page as one script (issue #18: round trips on 3G).

The server joins the login screen's module graph into the page's inline module when it reads
`pwa/`; each bundled module's own URL then serves the page's bindings (`self.czStart`), so a
screen loaded later shares their one instance. These tests hold the script to the import graph
as the sources declare it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from backend.shell import assets
from backend.shell.bundle import BundleError, build_bundle, without_comment_lines

PWA = Path(__file__).resolve().parent.parent / "pwa"
ENTRIES = ("js/main.js", "js/screens/login.js")
B = "export const b = 1;\n"


def static_graph(root: Path, entries: tuple[str, ...]) -> set[str]:
    """What the entries import statically, read from the sources here (not by the server's code)."""
    seen: set[str] = set()
    todo = [(root / entry).resolve() for entry in entries]
    while todo:
        module = todo.pop()
        name = module.relative_to(root.resolve()).as_posix()
        if name in seen:
            continue
        seen.add(name)
        source = module.read_text(encoding="utf-8")
        targets = re.findall(r'^(?:import|export)[^;]*?from\s*"(\.{1,2}/[^"]+)";', source, re.M)
        todo += [(module.parent / target).resolve() for target in targets]
    return seen


def page_script(page: str) -> str:
    return re.search(r'<script type="module">(.*?)</script>', page, re.S).group(1)


def exported_names(source: str) -> set[str]:
    names = set(re.findall(r"^export (?:async )?(?:function|class|const) (\w+)", source, re.M))
    for listed in re.findall(r"^export \{([^}]*)\}", source, re.M):
        names |= {item.split()[-1] for item in listed.split(",") if item.strip()}
    return names


async def test_the_page_carries_exactly_the_modules_the_first_screen_imports(client):
    page = (await client.get("/app/")).text
    version = re.search(r'href="v/([0-9a-f]+)/icons/', page).group(1)
    assert "<!-- bundle: js/main.js js/screens/login.js -->" in (PWA / "index.html").read_text()
    script = page_script(page)
    graph = static_graph(PWA, ENTRIES)
    assert {"js/main.js", "js/store.js", "js/i18n.js", "js/screens/login.js"} <= graph
    assert set(re.findall(r"^// ---- (\S+)$", script, re.M)) == graph
    # No import or export is left in it, and it ends handing every module's exports on.
    assert not re.search(r"^(import|export)\b", script, re.M)
    last = re.search(r"^const czStart = \{([^}]*)\};\nself\.czStart = czStart;\n\Z", script, re.M)
    handed_on = set(last.group(1).replace(",", " ").split())
    assert {"signedIn", "deviceId", "syncStatus", "render", "t"} <= handed_on
    for path in sorted((PWA / "js").rglob("*.js")):
        name = path.relative_to(PWA).as_posix()
        served = (await client.get(f"/app/v/{version}/{name}")).text
        source = path.read_text(encoding="utf-8")
        if name in graph:
            names = re.fullmatch(r"export const \{ (.*) \} = self\.czStart;\n", served).group(1)
            assert set(names.split(", ")) == exported_names(source), name
        else:  # loaded later or on demand: the module itself, importing the bundled ones by URL
            assert served == source, name
    # The page has no URL of its own modules could be relative to: they are found from js/.
    assert f'const czFolder = new URL("v/{version}/js/", document.baseURI).href;' in script
    assert 'new URL("screens/login.js", czFolder).href' in script
    assert "await czImport(`./screens/" in script


def test_a_module_added_to_the_first_screens_graph_is_bundled_without_an_edit(tmp_path):
    shutil.copytree(PWA, tmp_path / "pwa")
    main = tmp_path / "pwa" / "js" / "main.js"
    (tmp_path / "pwa" / "js" / "extra.js").write_text('export const extra = "./x.js";\n')
    (tmp_path / "pwa" / "js" / "later.js").write_text("export const later = 1;\n")
    main.write_text(
        'import { extra } from "./extra.js";\n'
        'const later = () => import("./later.js");\n' + main.read_text(encoding="utf-8")
    )
    snapshot = assets.build_snapshot(tmp_path / "pwa")
    script = page_script(snapshot.page("ug").body.decode())
    assert "// ---- js/extra.js\nconst extra = " in script
    assert snapshot.assets["js/extra.js"].body == b"export const { extra } = self.czStart;\n"
    assert "js/later.js" not in script  # a dynamic import loads on demand, as itself
    assert 'const later = () => czImport("./later.js");' in script
    assert snapshot.assets["js/later.js"].body == b"export const later = 1;\n"
    (tmp_path / "pwa" / "js" / "extra.js").unlink()
    with pytest.raises(FileNotFoundError):
        assets.build_snapshot(tmp_path / "pwa")


@pytest.mark.parametrize(
    ("sources", "refusal"),
    [
        # Two modules with the same top-level name would share one binding in the bundle.
        (
            {
                "js/a.js": 'import { b } from "./b.js";\nfunction clear() {}\n',
                "js/b.js": "function clear() {}\nexport const b = 1;\n",
            },
            "both declare clear",
        ),
        ({"js/a.js": 'import b from "./b.js";\n', "js/b.js": B}, "named imports"),
        # Modules loaded later read the page's exports once: a variable's new values would be lost.
        (
            {
                "js/a.js": 'import { b } from "./b.js";\nexport const a = () => b;\n',
                "js/b.js": "export let b = 1;\n",
            },
            "exports the variable b",
        ),
        ({"js/a.js": 'const s = "</script>";\n'}, "would end the page's script"),
        ({"js/a.js": "import(location.href);\n"}, "not relative"),
        ({"js/a.js": 'import("https://example.com/x.js");\n'}, "not relative"),
        (
            {
                "js/a.js": 'import { b } from "./s/b.js";\n',
                "js/s/b.js": 'export const b = () => import("./c.js");\n',
            },
            "relative to its own folder",
        ),
        ({"js/a.js": 'import { c } from "./b.js";\n', "js/b.js": B}, "does not export"),
        ({"js/a.js": 'export { b } from "./b.js";\n', "js/b.js": B}, "re-exports"),
    ],
)
def test_the_bundle_refuses_at_start_up_what_it_cannot_join_safely(sources, refusal):
    with pytest.raises(BundleError, match=refusal):
        build_bundle(sources, ["js/a.js"])


def test_a_renamed_import_of_a_constant_is_kept_under_its_new_name():
    bundle = build_bundle(
        {
            "js/a.js": 'import { b as c } from "./b.js";\nexport function a() {\n  return c;\n}\n',
            "js/b.js": "export const b = 1;\nconst hidden = 2;\n",
        },
        ["js/a.js"],
    )
    assert bundle.modules == ["js/b.js", "js/a.js"]
    assert "const c = b;\nfunction a() {" in bundle.code
    assert bundle.page_script("v1").endswith("const czStart = { b, a };\nself.czStart = czStart;\n")
    assert bundle.shim("js/b.js") == "export const { b } = self.czStart;\n"


@pytest.mark.parametrize(
    ("code", "joined"),
    [
        # Whole-line comments go; a comment after code, or code after a comment, stays.
        ("a();\n// why\n  /** what\n   * more */\nb(); // note\n", "a();\nb(); // note\n"),
        ("a();\n/* x\n y */ b();\n", "a();\n/* x\n y */ b();\n"),
        # A `/*` after code might hold lines that look like comments: nothing is touched.
        ("a(); /* open\n// inside\n*/\n", "a(); /* open\n// inside\n*/\n"),
        # A template over two lines: its second line is text, not a comment.
        ("const s = `one\n// two`;\n", "const s = `one\n// two`;\n"),
    ],
)
def test_only_lines_that_are_nothing_but_comment_leave_the_bundle(code, joined):
    assert without_comment_lines(code) == joined


def test_the_carried_code_is_the_sources_code_without_their_comment_lines():
    script = page_script(assets.build_snapshot(PWA).page("zh-CN").body.decode())
    sources = {
        name: (PWA / name).read_text(encoding="utf-8") for name in static_graph(PWA, ENTRIES)
    }
    # Every line of code of the login screen's modules is in it (their imports aside; what was
    # relative to the module's URL found from js/).
    for name, source in sources.items():
        code = re.sub(r"^import\b[^;]*;\n", "", source, flags=re.M)
        if name == "js/screens/login.js":
            code = code.replace("import.meta.url", 'new URL("screens/login.js", czFolder).href')
        code = code.replace("import.meta.url", "czFolder")
        code = re.sub(r"\bimport\((?=[`\"']\.)", "czImport(", code)
        for line in code.splitlines():
            if line.strip() and not re.match(r"\s*(//|/\*|\*)|export \{", line):
                assert line.removeprefix("export ") in script, (name, line)
    assert len(script) < 0.9 * sum(len(source) for source in sources.values())
