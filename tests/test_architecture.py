"""The layer contract of ``../shared/docs/architecture.md``, read from the code.

Every ``import`` of every module is found with :mod:`ast`, the function-local ones
included (srkit imports heavy modules inside functions) and only imports under
``if TYPE_CHECKING:`` left out (they never run). A package may import packages of its
own rank or below, never above; no two packages, and no two modules, import each other
round a cycle; ``model/`` knows no pydicom, files or database.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

RANKS = {
    "errors": 0,
    "diagnostics": 0,
    "atomic": 0,
    "model": 1,
    "codec": 2,
    "templates": 3,
    "validate": 3,
    "render": 3,
    "tables": 3,
    "load": 4,
    "samples": 4,
    "extract": 5,
    "db": 6,
    "dose": 6.5,
    "net": 7,
    "web": 8,
    "cli": 9,
}
"""Bottom to top, as architecture.md draws them (``samples`` builds sample data with the
template builders; the faces use it; ``dose`` is dose management over the archive: DRLs and
alerts read ``db/``, and C-STORE raises its alerts)."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "srkit").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if "migrations" in parts:  # alembic scripts, run by alembic itself
            continue
        out[".".join(parts)] = path
    return out


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(module: str, path: Path) -> Iterator[str]:
    """The srkit modules ``module`` imports at run time (names resolved to modules)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    todo: list[ast.AST] = [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if _type_checking(node):
            todo.extend(getattr(node, "orelse", []))
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("srkit"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.startswith("srkit"):
                yield name
                for alias in node.names:  # ``from srkit.db import hierarchy``
                    yield f"{name}.{alias.name}"
        todo.extend(ast.iter_child_nodes(node))


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: {t for t in _imports(m, p) if t in modules and t != m} for m, p in modules.items()}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_package_has_a_rank():
    packages = {_package(m) for m in _modules()} - {""}
    assert packages <= set(RANKS), sorted(packages - set(RANKS))


def test_no_upward_import():
    upward = [
        f"{m} imports {t}"
        for m, targets in _graph().items()
        for t in targets
        if _package(m) and _package(t) and RANKS[_package(t)] > RANKS[_package(m)]
    ]
    assert upward == []


def test_no_cycle_between_packages():
    packages: dict[str, set[str]] = {}
    for m, targets in _graph().items():
        if not _package(m):
            continue  # srkit/__init__.py re-exports the public API from above
        packages.setdefault(_package(m), set()).update(
            _package(t) for t in targets if _package(t) and _package(t) != _package(m)
        )
    assert _cycles(packages) == []


def test_no_cycle_between_modules():
    graph = _graph()
    # a package's __init__ re-exporting its modules is not a cycle of the code
    trimmed = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    assert _cycles(trimmed) == []


BORROWED_DATA = {"pydicom.sr._snomed_dict"}
"""The one thing ``model/`` takes from pydicom: its SNOMED RT -> SNOMED CT table (data,
no I/O), which decides :class:`srkit.model.Code` equality (architecture.md: "SRT maps
to SCT")."""


@pytest.mark.parametrize(
    "forbidden", ["pydicom", "sqlalchemy", "numpy", "os", "io", "pathlib", "sqlite3"]
)
def test_model_is_pure(forbidden):
    for module, path in _modules().items():
        if _package(module) != "model":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            bad = [n for n in names if n.split(".")[0] == forbidden and n not in BORROWED_DATA]
            assert not bad, (module, forbidden)


def test_the_contract_sees_imports():
    """The reader finds a function-local import (it is not a test that cannot fail)."""
    graph = _graph()
    assert "srkit.db.importer" in graph["srkit.db.database"]  # inside import_paths()
    assert "srkit.model.document" in graph["srkit.codec.writer"] or any(
        t.startswith("srkit.model") for t in graph["srkit.codec.writer"]
    )
