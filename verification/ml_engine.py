"""The one place the web app reaches ``ml``: one cached Engine per checkpoint path and process.

Tests inject a fake with ``engine_override(factory)``; everything else calls ``engine_get``.
Workers load the engine lazily, in the child process, so CUDA is never touched before fork.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from django.conf import settings

_engines: dict[str, Any] = {}
_lock = threading.Lock()
_factory: Callable[[str | None], Any] | None = None


def _load(path: str | None):
    if _factory is not None:
        return _factory(path)
    from ml.engine import Engine

    return Engine.load(path=path or None, device=settings.SIGWEB_DEVICE)


def engine_get(path: str | None = None):
    """The engine for a checkpoint path ('' or None: the shipped default). Raises CheckpointError."""
    key = path or ""
    engine = _engines.get(key)
    if engine is None:
        with _lock:
            engine = _engines.get(key)
            if engine is None:
                engine = _load(key or None)
                _engines[key] = engine
    return engine


def engine_override(factory: Callable[[str | None], Any] | None) -> None:
    """Replace how engines are built (tests); None restores the real ``ml.engine.Engine``."""
    global _factory
    with _lock:
        _factory = factory
        _engines.clear()


def engine_cache_clear() -> None:
    with _lock:
        _engines.clear()
