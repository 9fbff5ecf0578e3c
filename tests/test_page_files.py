"""The page files stay scripts of a few lines over ``render_*`` functions (issue 17)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).resolve().parents[1] / "app_pages").glob("*.py"))
MAX_LINES = 300


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_is_short(page: Path) -> None:
    lines = len(page.read_text().splitlines())
    assert lines <= MAX_LINES, f"{page.name} has {lines} lines: move sections to ui/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_bare_string_after_the_docstring(page: Path) -> None:
    """Streamlit's magic draws a bare string of the page script as Markdown: an attribute
    docstring under a constant shows up on the page."""
    tree = ast.parse(page.read_text())
    bare = [
        node.lineno
        for node in tree.body[1:]
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    ]
    assert not bare, f"{page.name}: bare strings at lines {bare} would be drawn on the page"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_functions_read_no_script_global(page: Path) -> None:
    """A page's functions take what they need as arguments: the only module names they read
    are imports, functions, classes and constants (UPPER_CASE), never a value the script
    computes as it runs (such as the old ``roles`` of the Results page)."""
    tree = ast.parse(page.read_text())
    allowed: set[str] = set()
    script: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            allowed |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            allowed.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        (allowed if name.id.isupper() else script).add(name.id)
        else:
            for name in ast.walk(node):
                if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                    script.add(name.id)
    script -= allowed
    for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        local = {a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)}
        local |= {
            n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        read = {
            n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        leaks = sorted((read & script) - local)
        assert not leaks, f"{page.name}: {func.name}() reads script globals {leaks}"
