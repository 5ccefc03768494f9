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
    import torch
    from ml.engine import Engine

    if settings.SIGWEB_TORCH_THREADS > 0:
        # one signature at a time: a single intra-op thread is fastest on a loaded CPU
        # (measured: 6 ms vs 40 ms median embedding with 2 threads beside a training job)
        torch.set_num_threads(settings.SIGWEB_TORCH_THREADS)

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


def engine_warm_up() -> None:
    """Load the configured engine and run one embedding, so the first request is fast.

    Called in a background thread by the ASGI server at start-up; failures are logged only
    (a missing checkpoint surfaces as a clear API error later).
    """
    import logging

    log = logging.getLogger(__name__)
    try:
        import numpy as np

        engine = engine_get(settings.SIGWEB_MODEL_PATH)
        canvas = getattr(engine, "canvas", (150, 220))
        if hasattr(engine, "embed_images"):
            engine.embed_images(np.zeros((1, *canvas), np.float32))
        log.info("engine %s ready", engine.model_version)
    except Exception as exc:  # noqa: BLE001
        log.warning("engine warm-up skipped: %s", exc)


def reference_consistency(engine, reference_embeddings) -> dict:
    """Whether reference embeddings plausibly come from one writer: the engine decides.

    ``engine.reference_consistency(E)`` answers ``{"consistent", "score", "threshold",
    "outliers"}``; this facade checks that shape and returns plain Python values. An
    engine without the method (a checkpoint class older than the check) is reported as
    ``{"consistent": True, "checked": False, ...}`` and logged, so the caller can tell.
    """
    import logging

    import numpy as np

    check = getattr(engine, "reference_consistency", None)
    if check is None:
        logging.getLogger(__name__).warning("engine %s has no reference_consistency; set not checked", getattr(engine, "model_version", "?"))
        return {"consistent": True, "score": None, "threshold": None, "outliers": [], "checked": False}
    raw = check(np.asarray(reference_embeddings, dtype=np.float32))
    return {
        "consistent": bool(raw["consistent"]),
        "score": float(raw["score"]),
        "threshold": float(raw["threshold"]),
        "outliers": [int(i) for i in raw.get("outliers", [])],
        "checked": True,
    }
