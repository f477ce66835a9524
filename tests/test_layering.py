"""The import graph of ``src/gennaker`` is acyclic and layered as the architecture promises.

Imports are read from the source (``TYPE_CHECKING`` blocks included, since a type-only circle is
still a circle of knowledge), so a new module that imports upwards fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Packages that sit below the composition root and may not import what sits above them.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "gennaker.engine": (
        "gennaker.services",
        "gennaker.providers",
        "gennaker.web",
        "gennaker.canary",
        "gennaker.authz",
        "gennaker.api",
        "gennaker.cli",
        "gennaker.stages",
        "gennaker.triggers",
    ),
    "gennaker.stages": ("gennaker.services", "gennaker.api", "gennaker.cli", "gennaker.web"),
    "gennaker.model": ("gennaker.engine", "gennaker.store", "gennaker.services", "gennaker.api"),
    "gennaker.store": ("gennaker.engine", "gennaker.services", "gennaker.api"),
    "gennaker.queue": ("gennaker.engine", "gennaker.services", "gennaker.api"),
    "gennaker.expressions": ("gennaker.engine", "gennaker.services", "gennaker.api", "gennaker.store"),
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in (SRC / "gennaker").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules.keys()
            targets.update(submodules)
            if len(submodules) < len(node.names):
                targets.add(base)
    return {t for t in targets if t in modules and t != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    graph = _graph()
    leaks = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        for above in FORBIDDEN[layer]
        if target == above or target.startswith(above + ".")
    )
    assert not leaks, "\n".join(leaks)


def test_the_checker_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
