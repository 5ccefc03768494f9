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
    """Back along every pair's best path (ties: diagonal, then up, then left, the first minimum):
    (2, B) non-diagonal share of the steps and largest |i / (n - 1) - j / (m - 1)|. Every cell's
    step is chosen at once, vectorised; the walk itself reads one byte per step. A pair with
    no path within the band (an infinite distance) counts as bent as can be: 1 and 1."""
    B = len(ln)
    out = np.zeros((2, B))
    if B == 0:
        return out
    # cell (i, j), k = i + j, skewed as S[:, k, i]: diagonal D[i-1, j-1] = S[:, k-2, i-1],
    # up D[i-1, j] = S[:, k-1, i-1], left D[i, j-1] = S[:, k-1, i]; step[:, k-2, i-1]
    diag, up, left = S[:, :-2, :-1], S[:, 1:-1, :-1], S[:, 1:-1, 1:]
    step = np.where((diag <= up) & (diag <= left), 0, np.where(up <= left, 1, 2)).astype(np.uint8)
    width = step.shape[2]
    for b in range(B):
        codes = step[b].tobytes()
        n, m = int(ln[b]), int(lm[b])
        if not np.isfinite(S[b, n + m, n]):  # no path within the band: as bent as can be
            out[:, b] = 1.0
            continue
        dn, dm = float(max(n - 1, 1)), float(max(m - 1, 1))
        i, j, cells, diagonal = n, m, 1, 0
        dev = abs((i - 1) / dn - (j - 1) / dm)
        while i != 1 or j != 1:
            s = codes[(i + j - 2) * width + i - 1]
            if s == 0:
                diagonal += 1
            if s != 2:
                i -= 1
            if s != 1:
                j -= 1
            cells += 1
            dev = max(dev, abs((i - 1) / dn - (j - 1) / dm))
        out[0, b] = 1.0 - diagonal / max(cells - 1, 1)
        out[1, b] = dev
    return out


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
