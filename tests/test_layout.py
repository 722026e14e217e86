"""The package's layout: a core at the root and three wings (`_streaming`, `_app`,
`_knowledge`) that depend on the core, never on the client or on each other the wrong
way, with no import circle anywhere (type-only and function-level imports included)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pulseai_async"


def _imports() -> dict[str, set[str]]:
    """`{module: modules of the package it imports}`, every import statement counted."""
    modules: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:  # relative: from the package, one level up per extra dot
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, target] if target else base)
                submodules = {f"{target}.{a.name}" for a in node.names} & modules.keys()
                found |= submodules if len(submodules) == len(node.names) else {target}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[name] = {target for target in found & modules.keys() if target != name}
    return graph


def test_no_import_circle() -> None:
    graphlib.TopologicalSorter(_imports()).prepare()  # raises CycleError with the circle


def test_the_wings_never_import_the_client_back() -> None:
    graph = _imports()
    wings = ("pulseai_async._streaming", "pulseai_async._app", "pulseai_async._knowledge")
    allowed = {
        "pulseai_async._streaming": {"pulseai_async._streaming"},
        "pulseai_async._app": {"pulseai_async._app", "pulseai_async._streaming"},
        "pulseai_async._knowledge": {"pulseai_async._knowledge"},
    }
    for module, targets in graph.items():
        wing = next((w for w in wings if module.startswith(w)), None)
        if wing is None:
            continue
        assert "pulseai_async._client" not in targets, module
        crossing = {t for t in targets if t.startswith(wings)}
        assert all(t.startswith(tuple(allowed[wing])) for t in crossing), (module, crossing)


def test_the_emulator_routes_never_import_the_emulator_back() -> None:
    graph = _imports()
    routes = [m for m in graph if m.startswith("pulseai_async.testing._") and "route" in m]
    assert len(routes) >= 8
    assert all("pulseai_async.testing._emulator" not in graph[m] for m in routes)
