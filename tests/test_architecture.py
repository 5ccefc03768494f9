"""The shape of the code: one direction of dependency, one door to ``ml``, small files.

The import graph is read from the source with ``ast`` (every import, also those inside
functions), so a lazy import cannot hide a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(*packages: str) -> dict[str, Path]:
    out = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            out[_module_name(path)] = path
    return out


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from a import b`` is ``a.b`` when that is a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def _graph(*packages: str) -> dict[str, set[str]]:
    sources = _sources(*packages)
    return {name: {m for m in _imports(path, name) if m in sources and m != name} for name, path in sources.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_verification():
    assert _cycles(_graph("verification")) == []


def test_ml_imports_nothing_from_the_web_app():
    offenders = {
        name: sorted(m for m in _imports(path, name) if m.split(".")[0] in {"verification", "sigweb", "django"})
        for name, path in _sources("ml").items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_ml_engine_imports_ml():
    """The facade is the package ``verification.ml_engine`` (its parts: identification, pen
    dynamics, documents); nothing else in the web app imports ``ml``."""
    offenders = {
        name: sorted(m for m in _imports(path, name) if m == "ml" or m.startswith("ml."))
        for name, path in _sources("verification", "sigweb").items()
        if name != "verification.ml_engine" and not name.startswith("verification.ml_engine.")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("package", ["verification", "ml"])
def test_no_file_over_the_line_limit(package):
    long_files = {
        str(path.relative_to(ROOT)): n
        for path in _sources(package).values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long_files == {}


def test_production_code_has_no_test_delays():
    """Slow jobs are a test hook (tests/support/job_delays.py on the job_started signal), not product code."""
    offenders = [
        name
        for name, path in _sources("verification", "sigweb").items()
        if "job_delay_for_tests" in path.read_text() or "TASK_DELAY" in path.read_text()
    ]
    assert offenders == []
