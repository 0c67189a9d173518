"""The first screen's modules as one script the page carries, written when the snapshot is built.

Over village 3G every round trip costs ~300 ms, and the login screen's graph is a dozen modules.
The page therefore carries their code itself, in one inline `<script type="module">`: the entry
modules and everything they import statically, in the order the browser would run them, with
their `import` lines dropped (every binding they import is in the script's scope). Nothing is
fetched after the page before the login screen draws.

A module must exist once, or the app would have two stores and two routers. The script hands its
exports to the modules loaded later through `self.czStart`, and each bundled module's own URL
serves `export const { … } = self.czStart;` (its own exports): a screen loaded later that imports
`../store.js` gets the page's bindings, not a second copy. An inline script has no URL of its
own, so `import.meta.url` becomes the URL of the version's `js/` folder and every relative
`import()` is resolved against it (a bundled module's answers at once, from the page).

The sources stay plain modules (nothing to build by hand); this works on the shape they are
written in and refuses, at start-up, what it cannot join safely: two modules declaring the same
top-level name, a default or namespace import, an exported `let` (a module loaded later would
keep its first value), an `import()` relative to a folder other than `js/` or not relative at
all, text that would end the page's `<script>` early.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

# The folder the page's script stands for: its `import.meta.url` and relative `import()`s.
FOLDER = "js"
EXPORTS_GLOBAL = "czStart"

IMPORT_STATEMENT = re.compile(
    r"""^import\s*(?:(?P<clause>[^"';]*?)\s*from\s*)?"""
    r"""["'](?P<target>\.{1,2}/[^"']+)["'];?[ \t]*\n""",
    re.M,
)
EXPORT_LIST = re.compile(r"^export\s*\{(?P<names>[^}]*)\}\s*;?[ \t]*\n", re.M)
EXPORT_FROM = re.compile(r"^export\b[^;]*?\bfrom\s*[\"']", re.M)
EXPORTED_DECLARATION = re.compile(
    r"^export\s+(?=(?:async\s+)?(?:function\b|class\b|const\b|let\b|var\b))", re.M
)
DECLARATION = re.compile(
    r"^(?:export\s+)?(?:async\s+)?(?P<kind>function\*?|class|const|let|var)\s+(?P<name>[A-Za-z_$][\w$]*)",
    re.M,
)
MID_LINE_BLOCK = re.compile(r"\S.*/\*")
DYNAMIC_IMPORT = re.compile(r"""\bimport\(\s*(?=[`"']\.)""")
ANY_DYNAMIC_IMPORT = re.compile(r"\bimport\s*\(")
# What would end or confuse the page's <script> element (HTML's script data states).
ENDS_SCRIPT = re.compile(r"</script|<!--", re.I)
# What the page's script starts with: where its modules' URLs are, and their import().
PROLOGUE = """\
// Generated when the server starts (backend/shell/bundle.py) from {modules}.
// Each of those URLs serves its exports from self.czStart: one instance of each.
const czFolder = new URL("{folder}", document.baseURI).href;
const czRoot = new URL("../", czFolder).href;
const czBundled = [{bundled}];
function czImport(path) {{
  const url = new URL(path, czFolder).href;
  if (czBundled.indexOf(url.slice(czRoot.length)) >= 0) return Promise.resolve(czStart);
  return import(url);
}}
"""
PROLOGUE_NAMES = ("czFolder", "czRoot", "czBundled", "czImport", EXPORTS_GLOBAL)


class BundleError(ValueError):
    """A module the bundle cannot join without changing what it means."""


@dataclass(frozen=True)
class Bundle:
    modules: list[str]  # in the order they run
    code: str  # their code joined (imports and export keywords dropped)
    exports: dict[str, dict[str, str]]  # module → its exported name → that binding's name here

    def page_script(self, version: str) -> str:
        """The page's inline module: the modules' code, then their exports for later modules."""
        union = {
            exported: local for names in self.exports.values() for exported, local in names.items()
        }
        listed = ", ".join(
            local if local == exported else f"{exported}: {local}"
            for exported, local in union.items()
        )
        prologue = PROLOGUE.format(
            modules=", ".join(self.modules),
            folder=f"v/{version}/{FOLDER}/",
            bundled=", ".join(f'"{name}"' for name in self.modules),
        )
        return prologue + self.code + f"const czStart = {{ {listed} }};\nself.czStart = czStart;\n"

    def shim(self, name: str) -> str:
        """What a bundled module's own URL serves: the page's bindings, one instance."""
        names = ", ".join(self.exports[name])
        if not names:
            return "export {};\n"
        return f"export const {{ {names} }} = self.{EXPORTS_GLOBAL};\n"


def _resolve(module: str, target: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(module), target))


def _pairs(names: str) -> list[tuple[str, str]]:
    """`a, b as c` → [(a, a), (b, c)]: (name in the exporting module, name here)."""
    pairs = []
    for item in names.split(","):
        words = item.split()
        if not words:
            continue
        if len(words) == 3 and words[1] == "as":
            pairs.append((words[0], words[2]))
        elif len(words) == 1:
            pairs.append((words[0], words[0]))
        else:
            raise BundleError(f"cannot read the names {item.strip()!r}")
    return pairs


def run_order(texts: dict[str, str], entries: list[str]) -> list[str]:
    """The entries and their static imports, dependencies first (as a browser evaluates them)."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name not in texts:
            raise FileNotFoundError(f"pwa/{name} is imported but does not exist")
        if name in visiting:
            raise BundleError(f"{name} imports itself through a cycle")
        visiting.add(name)
        for match in IMPORT_STATEMENT.finditer(texts[name]):
            visit(_resolve(name, match["target"]))
        visiting.discard(name)
        order.append(name)

    for entry in entries:
        visit(entry)
    return order


def _declarations(name: str, text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in DECLARATION.finditer(text):
        if match["name"] in found:
            raise BundleError(f"{name} declares {match['name']} twice")
        found[match["name"]] = match["kind"]
    return found


def _exports(name: str, text: str, kinds: dict[str, str]) -> dict[str, str]:
    """Exported name → its name in the module (`export function f`, `export { a as b }`)."""
    if EXPORT_FROM.search(text):
        raise BundleError(f"{name}: re-exports from another module are not bundled")
    found = {m["name"]: m["name"] for m in DECLARATION.finditer(text) if m[0].startswith("export")}
    for match in EXPORT_LIST.finditer(text):
        found.update({exported: local for local, exported in _pairs(match["names"])})
    for local in found.values():
        if kinds.get(local) in ("let", "var"):
            # Modules loaded later read the page's exports once (self.czStart): a variable's
            # later values would never reach them. A getter function does.
            raise BundleError(f"{name} exports the variable {local}: export a getter instead")
    return found


def build_bundle(texts: dict[str, str], entries: list[str]) -> Bundle:
    order = run_order(texts, entries)
    owner: dict[str, str] = {name: "the page's script" for name in PROLOGUE_NAMES}
    kinds: dict[str, str] = {}
    for name in order:
        for local, kind in _declarations(name, texts[name]).items():
            if local in owner:
                raise BundleError(f"{name} and {owner[local]} both declare {local}")
            owner[local] = name
            kinds[local] = kind
    exports = {name: _exports(name, texts[name], kinds) for name in order}
    parts = [_joined(name, texts[name], owner, exports) for name in order]
    union: dict[str, str] = {}  # one binding per exported name (main.js passes some on)
    for name in order:
        for exported, local in exports[name].items():
            if union.setdefault(exported, local) != local:
                raise BundleError(f"two modules export {exported}")
    code = "".join(parts)
    if ENDS_SCRIPT.search(code):
        raise BundleError("the code holds </script or <!--, which would end the page's script")
    if "import.meta" in code or ANY_DYNAMIC_IMPORT.search(code):
        raise BundleError("an import() that is not relative (or import.meta) is not bundled")
    return Bundle(order, code, exports)


def _joined(name: str, text: str, owner: dict[str, str], exports: dict[str, dict[str, str]]) -> str:
    """One module's code as part of the page's script."""
    aliases = []
    for match in IMPORT_STATEMENT.finditer(text):
        clause = (match["clause"] or "").strip()
        source = _resolve(name, match["target"])
        if not clause:
            continue
        if not (clause.startswith("{") and clause.endswith("}")):
            raise BundleError(f"{name}: only named imports are bundled ({clause})")
        for imported, local in _pairs(clause[1:-1]):
            if imported not in exports[source]:
                raise BundleError(f"{name} imports {imported}, which {source} does not export")
            binding = exports[source][imported]
            if binding == local:
                continue
            if local in owner:
                raise BundleError(f"{name} names {local}, as {owner[local]} does")
            owner[local] = name
            aliases.append(f"const {local} = {binding};\n")
    body = EXPORT_LIST.sub("", IMPORT_STATEMENT.sub("", text))
    body = EXPORTED_DECLARATION.sub("", body)
    folder = posixpath.dirname(name)
    if folder != FOLDER:
        if DYNAMIC_IMPORT.search(body):
            raise BundleError(f"{name} imports relative to its own folder, not {FOLDER}/")
        here = posixpath.relpath(name, FOLDER)
        body = body.replace("import.meta.url", f'new URL("{here}", czFolder).href')
    body = DYNAMIC_IMPORT.sub("czImport(", body.replace("import.meta.url", "czFolder"))
    return f"\n// ---- {name}\n" + "".join(aliases) + without_comment_lines(body)


def without_comment_lines(code: str) -> str:
    """The code without its whole-line comments: a fifth of the bundle's bytes on a 3G link.

    Only lines that are nothing but comment go, and only when that cannot touch code: a module
    with a string or template running over a line end, or a `/*` after code on its line (a block
    comment that lines starting with `/*` might sit inside), keeps every comment."""
    lines = code.split("\n")
    if any(line.count("`") % 2 or line.endswith("\\") for line in lines):
        return code
    if any(MID_LINE_BLOCK.search(line) for line in lines if not line.lstrip().startswith("//")):
        return code
    kept: list[str] = []
    block: list[str] = []  # the lines of a block comment that started a line, while it lasts
    for line in lines:
        stripped = line.strip()
        if block or stripped.startswith("/*"):
            block.append(line)
            end = line.find("*/", line.find("/*") + 2 if len(block) == 1 else 0)
            if end >= 0:
                if line[end + 2 :].strip():
                    kept += block  # code after the comment on its last line: keep it all
                block = []
            continue
        if stripped.startswith("//") and "*/" not in stripped:
            continue
        kept.append(line)
    return "\n".join(kept + block)
