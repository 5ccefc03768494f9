"""Within-identity covariance normalisation (WCCN) of embeddings before the weakest-split statistic.

Cosine similarity weighs every direction of the embedding alike. Some directions vary a lot
within one person (paper against a tablet, one day against another) and some hardly at all; a
split along two people shows best in the second kind. WCCN rescales them: with S_w the mean
covariance of training identities' own signatures (CEDAR, Bengali and Dutch writers, and each
cross-media writer's name on paper, iPad and phone), an embedding x becomes
``(S_w + s * mean eigenvalue * I)^(-1/2) (x - mean)`` (``fit_wccn``; s, the shrinkage, keeps
directions the training identities never vary in from being blown up). Fitted on training
writers only, stored per model version beside the thresholds
(``ml/weights/consistency-<model version>.npz``, float32) and named in the thresholds entry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TRANSFORMS_DIR = Path(__file__).resolve().parents[1] / "weights"


def fit_wccn(by_identity: dict[str, np.ndarray], shrinkage: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), matrix (D, D)) from ``{identity: (G >= 2, D) embeddings}``."""
    groups = [np.asarray(v, np.float64) for v in by_identity.values() if len(v) >= 2]
    if not groups:
        raise ValueError("WCCN needs identities with at least two signatures")
    allv = np.concatenate(groups)
    within = sum(np.cov(g.T, bias=True) * len(g) for g in groups) / len(allv)
    lam, u = np.linalg.eigh(within)
    w = u @ np.diag(1.0 / np.sqrt(lam.clip(0) + shrinkage * lam.mean())) @ u.T
    return allv.mean(0), w


def apply(transform: tuple[np.ndarray, np.ndarray] | None, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if transform is None:
        return x
    mean, w = transform
    return (x - mean) @ w


def transform_path(model_version: str, folder: str | Path = TRANSFORMS_DIR) -> Path:
    return Path(folder) / f"consistency-{model_version}.npz"


def save_transform(model_version: str, transform: tuple[np.ndarray, np.ndarray], folder: str | Path = TRANSFORMS_DIR) -> Path:
    path = transform_path(model_version, folder)
    np.savez_compressed(path, mean=transform[0].astype(np.float32), matrix=transform[1].astype(np.float32))
    return path


def load_transform(model_version: str, folder: str | Path = TRANSFORMS_DIR) -> tuple[np.ndarray, np.ndarray] | None:
    path = transform_path(model_version, folder)
    if not path.is_file():
        return None
    with np.load(path) as z:
        return z["mean"].astype(np.float64), z["matrix"].astype(np.float64)
