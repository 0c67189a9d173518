"""The county's modules import each other in one direction: pages → review builders → figures →
rollups → store, and nothing imports back (reporting, service and subsidies once formed a cycle).
Imports inside functions count too: a cycle hidden in a function is still a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent / "backend"
PACKAGES = ("county", "web")


def _module_name(path: Path) -> str:
    parts = path.relative_to(BACKEND.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {
        _module_name(path): path
        for package in PACKAGES
        for path in (BACKEND / package).rglob("*.py")
        if "piccolo_migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {other for other in found if other in modules and other != name}
    return graph


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    path: list[str] = []
    seen: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in seen:
            return None
        seen.add(node)
        path.append(node)
        for other in sorted(graph[node]):
            if (cycle := visit(other)) is not None:
                return cycle
        path.pop()
        return None

    return visit(start)


def test_no_import_cycles_in_the_county_and_the_web_kit():
    graph = _graph()
    assert "backend.county.figures" in graph and "backend.web.format" in graph
    for module in sorted(graph):
        cycle = _cycle_from(module, graph)
        assert cycle is None, " → ".join(cycle)
