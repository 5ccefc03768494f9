"""Repository-wide pytest hooks. Fixtures live in tests/conftest.py and beside the tests."""

from __future__ import annotations

import pytest

# Suites that start a throwaway PostgreSQL (pgserver), Celery workers or servers. Under
# pytest-xdist (pytest.ini: two processes) they all run in one process, one after another and
# first, while the other process takes the unit tests. In one process only the integration and
# browser suites move, to the end, so that the quick unit tests report first. Either way the
# browser suite comes last: once its fixtures run an event loop, Django refuses synchronous
# database calls in that process.
_SERIAL = (
    "tests/verification/test_vector_pgvector.py",
    "tests/ml/test_identify_scale.py",
    "tests/integration/",
    "tests/browser/",
)
_LAST_IN_ONE_PROCESS = ("tests/integration/", "tests/browser/")


def _rank(item, parts) -> int:
    path = str(item.fspath).replace("\\", "/")
    return next((i for i, part in enumerate(parts, start=1) if f"/{part}" in path), 0)


def pytest_collection_modifyitems(config, items):
    parallel = bool(getattr(config.option, "numprocesses", None)) and config.getoption("dist", "no") != "no"
    seen, twice = set(), set()
    for item in items:
        (twice if item.nodeid in seen else seen).add(item.nodeid)
    if twice:  # pytest-xdist schedules by node id: all but one of each would silently not run
        raise pytest.UsageError(f"tests share a node id (give them distinct ids): {sorted(twice)[:5]}")
    if not parallel:
        items.sort(key=lambda it: _rank(it, _LAST_IN_ONE_PROCESS))  # stable: file order within each group
        return
    for item in items:
        if _rank(item, _SERIAL):
            item.add_marker(pytest.mark.xdist_group("serial"))
    # the serial group first, so that one process starts on it at once and the other shares out the rest
    items.sort(key=lambda it: (0, _rank(it, _SERIAL)) if _rank(it, _SERIAL) else (1, 0))
