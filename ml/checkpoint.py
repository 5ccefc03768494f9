"""Checkpoints as plain dicts, loadable with ``torch.load(..., weights_only=True)``.

Keys: ``kind`` ("sigweb-embedding"), ``format`` (1), ``arch``, ``arch_kwargs``,
``state_dict``, ``preprocess`` ({version, canvas}), ``config`` (resolved training config),
``metrics``, ``epoch`` and, once calibrated, ``decision`` ({threshold, calibrator,
negatives (float16 tensor), svm_c, operating_point}; a v2 decision, ``kind`` ==
``ml.decision.KIND``, adds skilled_negatives, wi and per-bucket ``thresholds``). Training checkpoints (``last.pt``)
also hold ``optimizer``, ``scheduler``, ``loss_state`` and ``rng`` for resuming.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from ml.errors import CheckpointError
from ml.models import build
from ml.preprocess import PREPROCESS_VERSION

KIND = "sigweb-embedding"
FORMAT = 1
DEFAULT_PATH = Path(__file__).resolve().parent / "weights" / "sigweb.pt"


def save(obj: dict, path: str | os.PathLike) -> None:
    """Write atomically: a crash mid-write never leaves a half checkpoint behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path: str | os.PathLike | None = None, *, require_decision: bool = False) -> dict:
    path = Path(path) if path else DEFAULT_PATH
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, truncation: all mean "not ours"
        raise CheckpointError(f"{path} is not a SigWeb checkpoint ({type(exc).__name__})") from None
    if not isinstance(ck, dict) or ck.get("kind") != KIND:
        raise CheckpointError(
            f"{path} is not a SigWeb embedding checkpoint (kind={ck.get('kind') if isinstance(ck, dict) else type(ck).__name__})"
        )
    if ck.get("format") != FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {ck.get('format')}, this code reads {FORMAT}")
    pp = ck.get("preprocess", {}).get("version")
    if pp != PREPROCESS_VERSION:
        raise CheckpointError(f"{path} expects preprocessing {pp}, this code implements {PREPROCESS_VERSION}")
    if require_decision and "decision" not in ck:
        raise CheckpointError(f"{path} has no calibrated decision; run `python -m ml calibrate --model {path}`")
    ck["_path"] = str(path)
    return ck


def build_model(ck: dict) -> torch.nn.Module:
    model = build(ck["arch"], **ck.get("arch_kwargs", {}))
    model.load_state_dict(ck["state_dict"])
    return model.eval()


def file_hash(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
