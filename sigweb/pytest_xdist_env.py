"""pytest plugin (``-p sigweb.pytest_xdist_env`` in pytest.ini): one Redis database per test process.

Under pytest-xdist each worker process runs its own share of the tests, with its own test
database (pytest-django names it per worker). Redis needs the same: the unit tests clear the
cache and the integration tests flush their database, so two workers sharing ``REDIS_URL``
would wipe each other's broker queues and channel groups. Loaded with ``-p``, this module runs
before Django's settings are read (and before any worker or server process is started, which
inherit the environment): worker ``gwN`` moves ``REDIS_URL`` from database ``d`` to ``d + 1 + N``.
Without xdist, or without ``REDIS_URL``, nothing changes.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse


def worker_redis_url(url: str, worker: str) -> str:
    """``redis://host:port/d`` -> database ``d + 1 + N`` for xdist worker ``gwN``."""
    parsed = urlparse(url)
    base = int(parsed.path.lstrip("/") or 0)
    return parsed._replace(path=f"/{base + 1 + int(worker.removeprefix('gw'))}").geturl()


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    os.environ["SIGWEB_REDIS_URL_CONFIGURED"] = os.environ["REDIS_URL"]  # what the run was given, for the tests
    os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], _worker)
