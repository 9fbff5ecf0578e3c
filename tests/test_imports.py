"""The engine's imports point one way: no module of ``abcore`` imports, directly or through
others, a module that imports it back.

A cycle is what forces an import inside a function (or a ``TYPE_CHECKING`` dodge for a real
call), hides the order the engine is built in, and breaks as soon as the inner import moves
to the top. So every ``import`` statement counts, at module level or inside a function; only
the blocks under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "abcore"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: the whole tree but ``if TYPE_CHECKING:`` bodies."""
    out: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``abcore`` modules it imports. ``from pkg import name`` points at
    ``pkg.name`` when that is a module (``from abcore import config``), else at ``pkg``."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve(name, path.name == "__init__.py", node)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that comes back to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_finder_sees_a_cycle_through_an_import_inside_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    inner = ast.parse("def f():\n    from abcore import x\nif TYPE_CHECKING:\n    import y\n")
    assert [type(n).__name__ for n in _imports(inner)] == ["ImportFrom"]


def test_graph_reads_every_module() -> None:
    graph = import_graph()
    assert "abcore.model" in graph
    assert "abcore.ingest.compute" in graph
    assert "abcore.model" in graph["abcore.ingest.compute"]


def test_abcore_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle in abcore: " + " -> ".join(cycle or [])


def _defined_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_domain_types_have_one_import_path() -> None:
    """``Mapping``, ``Check``, ``Aggregates``... are defined in ``abcore.model`` and imported
    from there everywhere in the project, never through a module that happens to import them
    (``abcore.sql``, ``abcore.validity``, ``abcore.ingest`` once re-exported them)."""
    model = _defined_names(ROOT / PACKAGE / "model.py")
    folders = [PACKAGE, "ui", "app_pages", "tests", "bench", "sample_data"]
    files = [p for f in folders for p in sorted((ROOT / f).rglob("*.py"))] + [ROOT / "app.py"]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if node.module.startswith(PACKAGE) and node.module != f"{PACKAGE}.model":
                names = [a.name for a in node.names if a.name in model]
                if names:
                    rel = path.relative_to(ROOT)
                    found.append(f"{rel}:{node.lineno} {', '.join(names)} from {node.module}")
    assert not found, "import these from abcore.model: " + "; ".join(found)
