"""The facade's documents part: page reading (``ml.documents``) and the signature detector
(``ml.detection``), one per process, replaceable in tests (``detector_override``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
from django.conf import settings

from ml.errors import CheckpointError
from verification.errors import DomainError
from verification.ml_engine.core import image_pixel_limit

__all__ = ["SignatureDetector", "detector_get", "detector_override", "document_pages", "signatures_detect"]

_lock = threading.Lock()


@runtime_checkable
class SignatureDetector(Protocol):
    """What the web app asks of a signature detector (``ml.detection``)."""

    version: str

    def detect(self, image: np.ndarray, *, min_score: float = 0.05, max_boxes: int = 100) -> list[dict]:
        """HxWx3 uint8 page -> ``[{"box": [x0, y0, x1, y1], "score": s}]``, best first, page pixels."""

    def crop(self, image: np.ndarray, box: list[float]) -> np.ndarray:
        """The signature inside ``box`` (with the detector's padding), as an image array."""


class _Detector:  # ml.detection's Detector and crop behind SignatureDetector
    def __init__(self, path: str | None):
        from ml.detection import Detector, crop

        self._detector, self._crop = Detector.load(path or None), crop
        self.version = str(self._detector.version)

    def detect(self, image, *, min_score=0.05, max_boxes=100):
        return self._detector.detect(image, min_score=min_score, max_boxes=max_boxes)

    def crop(self, image, box):
        return self._crop(image, box)


_detectors: dict[str, SignatureDetector] = {}
_detector_factory: Callable[[str | None], SignatureDetector] | None = None


def detector_override(factory: Callable[[str | None], SignatureDetector] | None) -> None:
    """Replace how detectors are built (tests); None restores ``ml.detection``."""
    global _detector_factory
    with _lock:
        _detector_factory = factory
        _detectors.clear()


def detector_get() -> SignatureDetector:
    """The configured detector (``SIGWEB_DETECTOR_PATH``, else the shipped weights), one per
    process; a detector that cannot be loaded is a 503 ``detector_unavailable``."""
    key = settings.SIGWEB_DETECTOR_PATH or ""
    with _lock:
        detector = _detectors.get(key)
        if detector is None:
            try:
                detector = _detector_factory(key or None) if _detector_factory else _Detector(key or None)
            except (CheckpointError, OSError, ImportError) as exc:
                raise DomainError(f"no signature detector: {exc}", code="detector_unavailable", status=503) from None
            _detectors[key] = detector
    return detector


def document_pages(data: bytes, *, name: str = "") -> list:
    """The pages of one uploaded file (an image or a PDF) as ``ml.documents.Page`` objects
    (``.index``, ``.image`` HxWx3 uint8, ``.dpi``), within ``SIGWEB_DOCUMENT_MAX_PAGES`` and
    the image pixel limit; raises ``SignatureInputError`` (``ml.errors.DocumentInputError``)."""
    from ml.documents import read_pages

    return read_pages(data, name=name, max_pages=settings.SIGWEB_DOCUMENT_MAX_PAGES, max_pixels=image_pixel_limit())


def signatures_detect(detector: SignatureDetector, image: np.ndarray, *, min_score: float) -> list[dict]:
    """The detector's boxes on one page at or above ``min_score``, best first, as plain floats."""
    found = detector.detect(image, min_score=float(min_score), max_boxes=100)
    out = [{"box": [float(v) for v in d["box"]], "score": float(d["score"])} for d in found]
    return sorted((d for d in out if d["score"] >= min_score), key=lambda d: -d["score"])
