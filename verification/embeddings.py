"""Embeddings are stored as float32 little-endian bytes."""

from __future__ import annotations

import numpy as np


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").reshape(-1).tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype="<f4").copy()


def stack(items: list[bytes | memoryview]) -> np.ndarray:
    return np.stack([from_bytes(b) for b in items]).astype(np.float32)
