"""Compact binary form of an enrollment's writer-dependent parameters (``Engine.fit_writer``).

``fit_writer`` returns a JSON-able dict of about 67 KB: the references (R x 512 floats as
text), the SVM hyperplane, its bias, the references' mutual similarity and the model
version. The references go in the vector store (``ml.index``); everything else packs into
a little over 2 KB at dimension 512:

    blob = pack(wd)                        # bytes, for a BinaryField
    wd = unpack(blob, reference_embeddings)  # the dict ``Engine.score`` / ``verify`` take

Layout (little-endian), version 1::

    magic "SWWD" | version u8 | flags u8 (bit 0: self_sim present) | n_refs u16 | dim u16 |
    svm_b f64 | self_sim f64 (NaN when absent) | len(model_version) u8 | model_version utf-8 |
    svm_w float32 x dim

The hyperplane stays float32: ``fit_writer`` already rounds it to float32, so the round
trip is exact (float16 would move the SVM feature by more than 1e-4). ``unpack`` unit-scales
the references it is given, as ``fit_writer`` stored them.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from ml.writer import unit_rows

MAGIC = b"SWWD"
VERSION = 1
MAX_BYTES = 8192
_HEAD = struct.Struct("<4sBBHHddB")
KEYS = {"n_refs", "references", "svm_w", "svm_b", "self_sim", "model_version"}


def pack(wd: dict) -> bytes:
    """Writer-dependent parameters (without the references) as bytes; at most ``MAX_BYTES``."""
    unknown = set(wd) - KEYS
    if unknown:
        raise ValueError(f"cannot pack writer parameters with keys {sorted(unknown)}")
    w = np.asarray(wd["svm_w"], np.float32).reshape(-1)
    self_sim = wd.get("self_sim")
    version = str(wd.get("model_version") or "").encode()
    if len(version) > 255:
        raise ValueError("model_version is longer than 255 bytes")
    n_refs = int(wd["n_refs"])
    if not 1 <= n_refs <= 65535 or not 1 <= len(w) <= 65535:
        raise ValueError(f"bad writer parameters: n_refs {n_refs}, dimension {len(w)}")
    head = _HEAD.pack(
        MAGIC,
        VERSION,
        1 if self_sim is not None else 0,
        n_refs,
        len(w),
        float(wd["svm_b"]),
        float(self_sim) if self_sim is not None else math.nan,
        len(version),
    )
    blob = head + version + w.astype("<f4").tobytes()
    if len(blob) > MAX_BYTES:
        raise ValueError(f"packed writer parameters take {len(blob)} bytes, more than {MAX_BYTES}")
    return blob


def unpack(blob: bytes, reference_embeddings: np.ndarray) -> dict:
    """The dict ``fit_writer`` returned, from ``pack``'s bytes and the enrollment's references."""
    blob = bytes(blob)
    if len(blob) < _HEAD.size or blob[:4] != MAGIC:
        raise ValueError("not packed SigWeb writer parameters")
    magic, version, flags, n_refs, dim, svm_b, self_sim, n_version = _HEAD.unpack_from(blob)
    if version != VERSION:
        raise ValueError(f"packed writer parameters version {version}; this SigWeb reads {VERSION}")
    start = _HEAD.size + n_version
    if len(blob) != start + 4 * dim:
        raise ValueError("packed writer parameters are truncated or too long")
    refs = unit_rows(reference_embeddings)
    if refs.shape != (n_refs, dim):
        raise ValueError(f"expected {n_refs} references of dimension {dim}, got {refs.shape}")
    return {
        "n_refs": n_refs,
        "references": refs,
        "svm_w": np.frombuffer(blob, "<f4", dim, start).astype(np.float32),
        "svm_b": svm_b,
        "self_sim": self_sim if flags & 1 else None,
        "model_version": blob[_HEAD.size : start].decode(),
    }
