"""The statistic: how well a reference set holds together (its weakest split), and the constants."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

THRESHOLDS_PATH = Path(__file__).resolve().parents[1] / "consistency_thresholds.json"
EXACT_MAX_REFS = 12  # 2^11 - 1 = 2047 splits: exact and fast
PAIR_SPLITS_MAX_REFS = 64  # above: singletons and Fiedler cuts only, so 200 references stay fast
MAX_FITTED_REFS = 10
DEFAULT_THRESHOLD = 0.0  # no negatives bank: refuse only sets whose groups are unrelated or opposite
STATISTIC = "weakest_split_mean_cosine"
# mixed sets of R references: (R-1) + 1 intruder, (R-2) + 2 from one other person, R different people
# (at R = 5: 4 + 1, 3 + 2 and 5 writers)
MIX_KINDS = ("one_intruder", "two_intruders", "all_different")


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


_SPLITS: dict[int, np.ndarray] = {}


def _exact_splits(r: int) -> np.ndarray:
    """(S, R) boolean: every split into two non-empty groups once (reference 0 never in A)."""
    if r not in _SPLITS:
        rows = [m for k in range(1, r) for m in itertools.combinations(range(1, r), k)]
        masks = np.zeros((len(rows), r), bool)
        for i, m in enumerate(rows):
            masks[i, list(m)] = True
        _SPLITS[r] = masks
    return _SPLITS[r]


def _candidate_splits(sim: np.ndarray) -> np.ndarray:
    """Splits worth trying for a large set: singletons, pairs, Fiedler-vector cuts."""
    r = len(sim)
    rows = []
    for i in range(r):
        m = np.zeros(r, bool)
        m[i] = True
        rows.append(m)
    for i, j in itertools.combinations(range(r), 2) if r <= PAIR_SPLITS_MAX_REFS else ():
        m = np.zeros(r, bool)
        m[[i, j]] = True
        rows.append(m)
    w = np.clip(sim, 0, None)
    np.fill_diagonal(w, 0)
    lap = np.diag(w.sum(1)) - w
    order = np.argsort(np.linalg.eigh(lap)[1][:, 1])
    for k in range(1, r):
        m = np.zeros(r, bool)
        m[order[:k]] = True
        rows.append(m)
    return np.array(rows)


def weakest_split(embeddings: np.ndarray) -> tuple[float, np.ndarray | None]:
    """(score, mask of one side of the weakest split) for (R >= 2, D) embeddings.

    The score is the lowest mean cross-group cosine similarity over two-group splits."""
    e = unit_rows(embeddings)
    r = len(e)
    if r < 2:
        return 1.0, None
    sim = e @ e.T
    masks = _exact_splits(r) if r <= EXACT_MAX_REFS else _candidate_splits(sim)
    a = masks.astype(np.float64)
    cross = ((a @ sim) * (1.0 - a)).sum(1)
    sizes = a.sum(1) * (r - a.sum(1))
    means = cross / sizes
    i = int(np.argmin(means))
    return float(means[i]), masks[i]
