"""The facade's identification part: the in-process vector index, packed writer parameters
and 1:N re-scoring (``ml.index``, ``ml.writer_pack``, ``ml.identify``)."""

from __future__ import annotations

import numpy as np

from ml.identify import decide, margin_for
from ml.index import VectorIndex
from ml.writer_pack import pack, unpack
from verification.ml_engine.core import SignatureEngine

__all__ = [
    "identification_decide",
    "identification_margin",
    "vector_index_new",
    "writer_identify",
    "writer_params_pack",
    "writer_params_unpack",
]


def vector_index_new(dim: int) -> VectorIndex:
    """An in-process nearest-neighbour index (``ml.index.VectorIndex``): ``add(ids, vectors)``,
    ``remove(ids)``, ``search(queries, k) -> (ids, cosine similarities)``."""
    return VectorIndex(int(dim))


def writer_params_pack(wd: dict) -> bytes | None:
    """Writer parameters without their references in about 2 KB (``ml.writer_pack.pack``, at
    most 8 KB); None for parameters it does not know (another engine's): store them as JSON."""
    try:
        return pack(wd)
    except (ValueError, KeyError, TypeError):
        return None


def writer_params_unpack(blob: bytes, reference_embeddings) -> dict:
    """``writer_params_pack``'s bytes and the references, in the order they were fitted, back
    into the dict ``engine.score`` / ``verify`` take (``ml.writer_pack.unpack``)."""
    return unpack(bytes(blob), np.asarray(reference_embeddings, np.float32))


def writer_identify(engine: SignatureEngine, query_embedding, candidates: dict) -> dict:
    """Every candidate re-scored by its own writer-dependent decision (``engine.identify``):
    ``{"margin": the model's identification margin, "ranked": [(key, calibrated score)]}``, best first."""
    raw = engine.identify(np.asarray(query_embedding, np.float32), candidates, top_k=max(1, len(candidates)))
    return {"margin": float(raw["margin"]), "ranked": [(c["key"], float(c["score"])) for c in raw["candidates"]]}


def identification_decide(scores, thresholds, margin: float) -> str:
    """``match``, ``ambiguous`` or ``none`` for scored candidates, each with the threshold that
    applies to it: ``ml.identify.decide``, the rule chosen on validation writers."""
    return decide(np.asarray(scores, np.float64), np.asarray(thresholds, np.float64), float(margin))[0]


def identification_margin(engine: SignatureEngine, decision_path: str = "image") -> float:
    """The model's identification margin for a top candidate decided by ``decision_path``
    (``image``, ``online`` or ``fused``), fixed on validation writers or pad users
    (``ml.identify.margin_for``)."""
    return margin_for(engine.model_version, decision=decision_path)
