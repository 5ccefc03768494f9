"""The facade's core: the engine interface and lookup, input limits, pad strokes and training
(see the package's docstring, ``verification/ml_engine/__init__.py``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from django.conf import settings

from ml.buckets import BUCKET_REFS
from ml.config import resolve_config
from ml.errors import CheckpointError, SignatureInputError
from ml.preprocess import MAX_PIXELS
from ml.strokes import check_strokes, parse_strokes
from verification.errors import DomainError

__all__ = [
    "CheckpointError",
    "SignatureEngine",
    "SignatureInputError",
    "engine_cache_clear",
    "engine_get",
    "engine_load",
    "engine_override",
    "engine_warm_up",
    "image_pixel_limit",
    "operating_points",
    "reference_consistency",
    "strokes_check",
    "strokes_parse",
    "train_config_resolve",
    "train_run",
]

log = logging.getLogger(__name__)


@runtime_checkable
class SignatureEngine(Protocol):
    """What the web app asks of an engine (``ml.engine.Engine``)."""

    model_version: str
    preprocess_version: str
    embedding_dim: int
    threshold: float
    canvas: tuple[int, int]
    checkpoint: dict

    def prepare(self, source: Any) -> Any:
        """Image bytes or pad strokes -> a prepared signature (``.image``, ``.quality``);
        raises ``SignatureInputError``."""

    def preview_png(self, prepared: Any) -> bytes:
        """The prepared image as the model sees it, as PNG bytes."""

    def cleaned_png(self, prepared: Any) -> bytes | None:
        """A scan or photo after cleaning (``ml.cleaner``), ink dark on white, as PNG; None when not cleaned."""

    def embed_images(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, H, W) prepared images -> (N, D) embeddings."""

    def embed(self, items: Iterable, batch_size: int = 64) -> np.ndarray:
        """Image bytes, strokes or prepared signatures -> (N, D) embeddings."""

    def fit_writer(self, reference_embeddings: np.ndarray) -> dict:
        """The writer-dependent parameters of one enrollment (JSON-serialisable)."""

    def score(self, wd: dict, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores (Q,), similarities (Q, R)) of query embeddings against one writer."""

    def threshold_for(self, n_refs: int) -> float:
        """The model's operating point for an enrollment with ``n_refs`` references."""

    def verify(self, wd: dict, query_embedding: np.ndarray, threshold: float | None = None) -> dict:
        """``{"score", "threshold", "similarities"}`` for one query."""

    def reference_consistency(self, reference_embeddings: np.ndarray) -> dict:
        """``{"consistent", "score", "threshold", "outliers"}``: one writer or several?"""

    def identify(self, query_embedding: np.ndarray, candidates: dict, top_k: int = 5, margin: float | None = None) -> dict:
        """``{"outcome", "margin", "candidates": [{"key", "score", "threshold", "passes"}]}`` of the
        ``candidates`` ({key: writer parameters}), best first."""


_engines: dict[str, SignatureEngine] = {}
_lock = threading.Lock()
_factory: Callable[[str | None], SignatureEngine] | None = None


def _load(path: str | None) -> SignatureEngine:
    if _factory is not None:
        return _factory(path)
    import torch

    from ml.engine import Engine

    if settings.SIGWEB_TORCH_THREADS > 0:
        # one signature at a time: a single intra-op thread is fastest on a loaded CPU
        # (measured: 6 ms vs 40 ms median embedding with 2 threads beside a training job)
        torch.set_num_threads(settings.SIGWEB_TORCH_THREADS)

    return Engine.load(path=path or None, device=settings.SIGWEB_DEVICE)


def engine_get(path: str | None = None) -> SignatureEngine:
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


def engine_load(path: str | None = None) -> SignatureEngine:
    """``engine_get``, with a checkpoint that cannot be loaded as a 400 ``bad_checkpoint``."""
    try:
        return engine_get(path or None)
    except CheckpointError as exc:
        raise DomainError(str(exc), code="bad_checkpoint") from None


def engine_override(factory: Callable[[str | None], SignatureEngine] | None) -> None:
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
    try:
        engine = engine_get(settings.SIGWEB_MODEL_PATH)
        engine.embed_images(np.zeros((1, *engine.canvas), np.float32))
        log.info("engine %s ready", engine.model_version)
    except Exception as exc:
        log.warning("engine warm-up skipped: %s", exc)


def operating_points(engine: SignatureEngine) -> dict[str, float]:
    """The engine's threshold per reference-count bucket (``{"1": .., "2-4": .., "5-9": .., "10+": ..}``),
    each read through ``threshold_for`` at the count its operating point was fitted at."""
    return {name: float(engine.threshold_for(n)) for name, n in BUCKET_REFS.items()}


def reference_consistency(engine: SignatureEngine, reference_embeddings) -> dict:
    """Whether reference embeddings plausibly come from one writer: the engine decides.

    ``engine.reference_consistency(E)`` answers ``{"consistent", "score", "threshold",
    "outliers"}``; this facade checks that shape and returns plain Python values
    (``checked``: the set was checked).
    """
    raw = engine.reference_consistency(np.asarray(reference_embeddings, dtype=np.float32))
    return {
        "consistent": bool(raw["consistent"]),
        "score": float(raw["score"]),
        "threshold": float(raw["threshold"]),
        "outliers": [int(i) for i in raw.get("outliers", [])],
        "checked": True,
    }


# ---------------------------------------------------------------- input limits


def image_pixel_limit() -> int:
    """The largest image (pixels) SigWeb decodes: ``SIGWEB_MAX_IMAGE_PIXELS`` when set lower,
    else the engine's own cap (``ml.preprocess.MAX_PIXELS``, the one place the number lives)."""
    configured = int(settings.SIGWEB_MAX_IMAGE_PIXELS or 0)
    return min(configured, MAX_PIXELS) if configured > 0 else MAX_PIXELS


# ---------------------------------------------------------------- strokes


def strokes_check(strokes: Any) -> list:
    """Pad strokes checked against SigWeb's size limits (``SIGWEB_MAX_STROKES``,
    ``SIGWEB_MAX_STROKE_POINTS``, ``SIGWEB_MAX_STROKE_COORDINATE``); raises
    ``SignatureInputError`` (code ``invalid_strokes``)."""
    return check_strokes(
        strokes,
        max_strokes=settings.SIGWEB_MAX_STROKES,
        max_points=settings.SIGWEB_MAX_STROKE_POINTS,
        max_coordinate=settings.SIGWEB_MAX_STROKE_COORDINATE,
    )


def strokes_parse(strokes: Any) -> list[np.ndarray]:
    """One (n, 4) array per stroke: x, y, time, pressure (``ml.strokes.parse_strokes``)."""
    return parse_strokes(strokes)


# ---------------------------------------------------------------- training


def train_config_resolve(config: Mapping) -> dict:
    """ml's training defaults + ``config``; an unknown key or bad value is a 400 ``invalid_config``."""
    try:
        return resolve_config(config)
    except (KeyError, ValueError, TypeError) as exc:
        raise DomainError(f"invalid training config: {exc}", code="invalid_config") from None


def train_run(config: dict, *, progress: Callable[..., None]) -> Path:
    """Full writer-independent training (``ml.train.train``); the checkpoint's path."""
    from ml.train import train

    return Path(train(config, progress=progress))
