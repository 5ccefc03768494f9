"""Helpers for the always-run ML tests: encoded images, handmade embeddings, tiny checkpoints.

A module of its own (not ``conftest``) so that tests import it by a unique name.
Nothing here needs ``../shared/data``, a database or Django.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import torch

from ml.calibration import calibrate_decision
from ml.config import resolve_config
from ml.models import build
from ml.train import make_checkpoint

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable  # the venv's python when pytest runs from .venv
TINY_KWARGS = {"widths": [8, 16, 32, 64], "embedding_dim": 64}


def png_bytes(im, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def clustered_embeddings(n_writers: int, per_writer: int, dim: int, noise: float, seed: int = 0, forged: int = 0) -> dict:
    """Handmade embeddings: one random unit centre per writer, genuine = centre + noise.

    Forgeries of a writer sit halfway between its centre and another random direction.
    Returns ``{writer: {"genuine": (G, D), "forged": (F, D)}}``, rows L2-normalised.
    """
    rng = np.random.default_rng(seed)

    def unit(x):
        return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)

    out = {}
    for w in range(n_writers):
        c = unit(rng.normal(size=dim))
        g = unit(c + noise * rng.normal(size=(per_writer, dim)) / np.sqrt(dim))
        other = unit(rng.normal(size=dim))
        f = unit(c + other + noise * rng.normal(size=(forged, dim)) / np.sqrt(dim))
        out[f"syn/writer_{w:03d}"] = {"genuine": g, "forged": f}
    return out


def tiny_checkpoint(seed: int = 0, with_decision: bool = True) -> dict:
    """A randomly initialised small ``sigfast`` checkpoint dict, optionally calibrated.

    The decision is calibrated (``ml.train.calibrate_decision``) on handmade embeddings
    of 64 dimensions, which is all the calibrator sees: it does not depend on the network.
    """
    torch.manual_seed(seed)
    cfg = resolve_config(None, ["model.kwargs={widths: [8, 16, 32, 64], embedding_dim: 64}"])
    model = build("sigfast", **TINY_KWARGS).eval()
    extra = {}
    if with_decision:
        val = clustered_embeddings(6, 6, 64, noise=0.6, seed=seed + 1, forged=3)
        neg = clustered_embeddings(20, 3, 64, noise=0.6, seed=seed + 2)
        negatives = np.concatenate([d["genuine"] for d in neg.values()])
        cal = {**cfg["calibration"], "refs": [1, 3], "seeds": [0], "threshold_refs": 3}
        decision, _ = calibrate_decision(val, negatives, cal)
        extra["decision"] = decision
    return make_checkpoint(model, cfg, 0, {}, extra)
