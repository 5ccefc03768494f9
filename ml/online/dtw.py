"""Dynamic time warping in NumPy, batched over pairs and vectorised along anti-diagonals.

``dtw_batch(queries, refs, window)``: the DTW distances of B pairs of sequences (each
(T, C)), with Euclidean frame distance, an optional Sakoe-Chiba band (``window`` as a
fraction of the longer sequence, slope-corrected for unequal lengths), divided by
``len(a) + len(b)`` so that long and short signatures compare.

``dtw_batch_paths(queries, refs, window)``: the same distances and, from each pair's best
warping path, how much it bends: the share of its steps that are not diagonal and its largest
time deviation max |i / (n - 1) - j / (m - 1)| (0 for two signatures written at the same pace).
"""

from __future__ import annotations

import numpy as np


def _costs(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    a2 = (A * A).sum(-1)[:, :, None]
    b2 = (B * B).sum(-1)[:, None, :]
    c = a2 + b2 - 2.0 * np.einsum("bnc,bmc->bnm", A, B)
    return np.sqrt(np.maximum(c, 0.0))


def dtw_batch(queries: list[np.ndarray], refs: list[np.ndarray], window: float | None = None, chunk: int = 256) -> np.ndarray:
    if len(queries) != len(refs):
        raise ValueError("queries and refs must pair up")
    out = np.empty(len(queries))
    for s in range(0, len(queries), chunk):
        out[s : s + chunk] = _dtw_chunk(queries[s : s + chunk], refs[s : s + chunk], window)[0]
    return out


def dtw_batch_paths(
    queries: list[np.ndarray], refs: list[np.ndarray], window: float | None = None, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distances, non-diagonal share, largest time deviation) of each pair's best path."""
    if len(queries) != len(refs):
        raise ValueError("queries and refs must pair up")
    out = np.empty((3, len(queries)))
    for s in range(0, len(queries), chunk):
        d, S, ln, lm = _dtw_chunk(queries[s : s + chunk], refs[s : s + chunk], window)
        out[0, s : s + chunk] = d
        out[1:, s : s + chunk] = _path_bends(S, ln, lm)
    return out[0], out[1], out[2]


def _path_bends(S: np.ndarray, ln: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Back along every pair's best path at once (ties: diagonal, then up, then left, the first
    minimum): (2, B) non-diagonal share of the steps and largest |i / (n - 1) - j / (m - 1)|."""
    B = len(ln)
    if B == 0:
        return np.zeros((2, 0))
    _, K, N1 = S.shape
    flat = S.reshape(-1)
    base = np.arange(B) * K * N1
    i, j = ln.astype(np.int64).copy(), lm.astype(np.int64).copy()
    active = np.ones(B, bool)
    seen_i, seen_j, seen_on, went_diag = [], [], [], []
    while True:
        seen_i.append(i)
        seen_j.append(j)
        seen_on.append(active)
        active = active & ((i != 1) | (j != 1))
        if not active.any():
            break
        row = base + (i + j - 1) * N1 + i  # S[b, k - 1, i] = D[i, j - 1]; one row back: D[i - 1, j - 1]
        step = flat[np.stack([row - N1 - 1, row - 1, row])].argmin(0)  # diagonal, up, left
        went_diag.append(active & (step == 0))
        i = i - (active & (step != 2))
        j = j - (active & (step != 1))
    on = np.array(seen_on)
    cells = on.sum(0)
    diag = np.array(went_diag).sum(0) if went_diag else np.zeros(B)
    dn, dm = np.maximum(ln - 1, 1), np.maximum(lm - 1, 1)
    dev = np.where(on, np.abs((np.array(seen_i) - 1) / dn - (np.array(seen_j) - 1) / dm), 0.0).max(0)
    return np.stack([1.0 - diag / np.maximum(cells - 1, 1), dev])


def _pad(seqs, n, c):
    out = np.zeros((len(seqs), n, c))
    for k, q in enumerate(seqs):
        out[k, : len(q)] = q
    return out


def _dtw_chunk(qs, rs, window):
    if not qs:
        return np.zeros(0), None, np.zeros(0, int), np.zeros(0, int)
    c = qs[0].shape[1]
    ln = np.array([len(q) for q in qs])
    lm = np.array([len(r) for r in rs])
    N, M = int(ln.max()), int(lm.max())
    C = _costs(_pad(qs, N, c).astype(np.float32), _pad(rs, M, c).astype(np.float32))
    if window is not None:
        i = np.arange(N)[None, :, None] / np.maximum(ln - 1, 1)[:, None, None]
        j = np.arange(M)[None, None, :] / np.maximum(lm - 1, 1)[:, None, None]
        C = np.where(np.abs(i - j) > max(float(window), 0.0), np.float32(np.inf), C)
    Bn = len(qs)
    # skewed layout: S[:, k, i] = D[:, i, k - i] (1-based i, j; k = i + j), so that every
    # anti-diagonal is a contiguous slice and its three predecessors are slices too
    K = N + M + 1
    Cs = np.full((Bn, K, N + 1), np.inf, np.float32)
    ii, jj = np.meshgrid(np.arange(1, N + 1), np.arange(1, M + 1), indexing="ij")
    Cs[:, ii + jj, ii] = C[:, ii - 1, jj - 1]
    S = np.full((Bn, K, N + 1), np.inf, np.float32)
    S[:, 0, 0] = 0.0
    for k in range(2, K):
        lo, hi = max(1, k - M), min(N, k - 1)
        best = np.minimum(np.minimum(S[:, k - 2, lo - 1 : hi], S[:, k - 1, lo - 1 : hi]), S[:, k - 1, lo : hi + 1])
        S[:, k, lo : hi + 1] = Cs[:, k, lo : hi + 1] + best
    return S[np.arange(Bn), ln + lm, ln].astype(np.float64) / (ln + lm), S, ln, lm
