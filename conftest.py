"""Repository-wide pytest hooks. Fixtures live in tests/conftest.py and beside the tests."""

from __future__ import annotations

# Slow, process-spawning suites run last, so that the quick unit tests report first and a
# browser fixture's event loop can never be running when the test database is created.
_LAST = ("tests/integration/", "tests/browser/")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = str(item.fspath).replace("\\", "/")
        for i, part in enumerate(_LAST, start=1):
            if f"/{part}" in path:
                return i
        return 0

    items.sort(key=rank)  # stable: keeps file order within each group
