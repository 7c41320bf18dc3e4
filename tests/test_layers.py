"""The house's floors, read from the code's own imports (DESIGN.md, "The house").

core, api, outbox and feed are floor 0, deployments floor 1, incidents floor 2: an import only points
down or sideways. Inside incidents the models are below every room. And no module imports
another that imports it back, not even from inside a function: a cycle is mended by moving the
shared piece down, never by deferring an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "api", "outbox", "feed", "deployments", "incidents", "hindsight")
FLOORS = {"core": 0, "api": 0, "outbox": 0, "feed": 0, "deployments": 1, "incidents": 2}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module(path)] = path
    return found


MODULES = _modules()


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for every import of `module`."""
    tree = ast.parse(MODULES[module].read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        if _type_checking_only(node, parents):
            continue
        inside = any(
            isinstance(p, ast.FunctionDef | ast.AsyncFunctionDef) for p in _ancestors(node, parents)
        )
        for name in names:
            if name.split(".")[0] in PACKAGES:
                out.append((name, node.lineno, inside))
    return out


def _ancestors(node: ast.AST, parents: dict[ast.AST, ast.AST]):
    while node in parents:
        node = parents[node]
        yield node


GRAPH = {module: _imports(module) for module in MODULES}


def _floor(module: str) -> int | None:
    return FLOORS.get(module.split(".")[0])


def _upward(graph: dict[str, list[tuple[str, int, bool]]]) -> list[str]:
    return [
        f"{module}:{line} imports {target}"
        for module, imports in graph.items()
        for target, line, _inside in imports
        if (floor := _floor(module)) is not None
        and (target_floor := _floor(target)) is not None
        and target_floor > floor
    ]


def test_imports_point_only_down_the_floors():
    assert _upward(GRAPH) == []


def test_no_app_imports_the_project_package():
    # hindsight/ holds settings, urls and the Celery app; apps reach Celery through current_app.
    found = [
        f"{module}:{line} imports {target}"
        for module, imports in GRAPH.items()
        for target, line, _inside in imports
        if not module.startswith("hindsight") and target.startswith("hindsight")
    ]
    assert found == []


def test_the_models_are_below_every_room_of_incidents():
    found = [
        f"{module}:{line} imports {target}"
        for module, imports in GRAPH.items()
        if module.startswith("incidents.models")
        for target, line, _inside in imports
        if target.startswith("incidents.") and not target.startswith("incidents.models")
    ]
    assert found == []


def _cycles(graph: dict[str, list[tuple[str, int, bool]]]) -> list[list[str]]:
    edges = {m: sorted({t for t, _l, _i in imports if t in graph}) for m, imports in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_one_that_imports_it_back():
    # A package's __init__ that gathers its modules is the one shape Python itself resolves: it
    # imports them, and they import their siblings, never the package.
    assert _cycles(GRAPH) == []


def test_the_checks_can_fail():
    """They read the real edges (incidents plugs into deployments), and they do flag an upward
    import and a cycle when a graph has one."""
    assert "deployments.gate" in {t for t, _line, _inside in GRAPH["incidents.system.gate"]}
    assert _upward({"deployments.tasks": [("incidents.models", 3, False)]}) == [
        "deployments.tasks:3 imports incidents.models"
    ]
    looped = {"a.x": [("a.y", 1, True)], "a.y": [("a.x", 1, False)], "a.z": []}
    assert _cycles(looped) == [["a.x", "a.y"]]


@pytest.mark.parametrize("module", ["incidents.apps", "deployments.apps"])
def test_only_app_configs_import_inside_functions(module):
    """Imports inside a function are for AppConfig.ready(), which runs once the apps are loaded;
    anywhere else they hide a cycle or a cost, and the module says so at its top instead."""
    deferred = [
        f"{name}:{line} imports {target}"
        for name, imports in GRAPH.items()
        for target, line, inside in imports
        if inside and not name.endswith(".apps")
    ]
    assert deferred == []
    assert any(inside for _t, _l, inside in GRAPH[module])
