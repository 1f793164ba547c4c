"""The package's layers point one way: library <- server <- CLI, and no two modules import each other in a circle.

Imports are read from the source with ``ast`` (every import statement, including those inside functions and
``TYPE_CHECKING`` blocks), so a lazy import cannot hide a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import cnkg
import cnkg.server

PACKAGES = {"cnkg": Path(cnkg.__file__).parent, "cnkg.server": Path(cnkg.server.__file__).parent}
CLI = "cnkg.cli"


def modules() -> dict[str, Path]:
    found = {}
    for package, directory in PACKAGES.items():
        for path in sorted(directory.glob("*.py")):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The cnkg modules (or packages) ``name`` imports, relative imports resolved."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:  # `from . import ops` names a module; `from .errors import X` does not
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {t for t in targets if t in known}


@pytest.fixture(scope="module")
def import_graph() -> nx.DiGraph:
    found = modules()
    graph = nx.DiGraph()
    for name, path in found.items():
        graph.add_node(name)
        for target in imports_of(name, path, set(found)):
            if target != name:
                graph.add_edge(name, target)
    return graph


def layer(module: str) -> str:
    if module == CLI:
        return "cli"
    return "server" if module == "cnkg.server" or module.startswith("cnkg.server.") else "library"


def test_the_modules_are_found(import_graph):
    assert {"cnkg.api", "cnkg.explain", "cnkg.server", "cnkg.server.protocol", CLI} <= set(import_graph)


def test_the_library_imports_neither_the_server_nor_the_cli(import_graph):
    wrong = [(a, b) for a, b in import_graph.edges
             if layer(a) == "library" and layer(b) != "library" and a != "cnkg"]
    assert not wrong, f"library modules importing the server or the CLI: {wrong}"
    # the package's own __init__ re-exports the library only
    assert not [b for b in import_graph.successors("cnkg") if layer(b) != "library"]


def test_the_server_does_not_import_the_cli(import_graph):
    assert not [(a, b) for a, b in import_graph.edges if layer(a) == "server" and b == CLI]


def test_no_import_circles(import_graph):
    # a package importing its own submodules is how packages work; a submodule importing its package back is a circle
    graph = import_graph.copy()
    cycles = [c for c in nx.simple_cycles(graph) if len(c) > 1]
    assert not cycles, f"modules importing each other in a circle: {cycles}"


def test_the_checker_sees_a_circle(tmp_path):
    """The test above can fail: two modules importing each other are found."""
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import g\n")
    known = {"pkg.a", "pkg.b"}
    edges = {("pkg.a", t) for t in imports_of("pkg.a", tmp_path / "a.py", known)} | \
            {("pkg.b", t) for t in imports_of("pkg.b", tmp_path / "b.py", known)}
    assert edges == {("pkg.a", "pkg.b"), ("pkg.b", "pkg.a")}
