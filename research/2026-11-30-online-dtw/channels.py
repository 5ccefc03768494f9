"""More DTW distances from other per-frame channel sets, as extra columns of the rows.

    python research/2026-11-30-online-dtw/channels.py --rows cache/encoder_rows.npz --out cache/dtw_channels.npz

Rows: research/2026-11-30-online-encoder/rows.py (validation users only: query and reference
indices of every row, and the folder's sample paths). Every signature is re-read and its
template made as the product does (``ml.online.features.extract`` at the shipped 33 Hz); per
channel set (``VARIANTS``) the DTW distance (band 0.3, as shipped) of each row's query to its 5
references and of the references to each other gives 4 columns, as the shipped ``base+tnorm``
ones: min and mean distance over the writer's scale (the references' mean pairwise
distance), min and mean of each distance over that reference's own mean distance.
Saved as ``<set>_<variant>`` (rows, 4). For the shipped set (``xyv``, a check: its columns must
equal the rows' first 4) also ``<set>_kh`` (rows, 5): Kholmatov-style maximum and template
distances and the reference-set normalisation (``columns``).
"""

import argparse
import json
import time

import numpy as np
from fastdtw import Sequences

from ml.online.features import extract

WINDOW = 0.3


def curvature(f):
    """Turning angle per frame (wrapped, / pi), from the direction channels."""
    ang = np.arctan2(f[:, 7], f[:, 8])
    d = np.diff(ang, prepend=ang[:1])
    return ((d + np.pi) % (2 * np.pi) - np.pi)[:, None] / np.pi


VARIANTS = {
    "angle": lambda f, p: f[:, [7, 8]],  # direction: sin, cos of the pen angle
    "speed": lambda f, p: f[:, [6]],
    "curv": lambda f, p: curvature(f),
    "xy": lambda f, p: f[:, [0, 1]],  # position only
    "vel": lambda f, p: f[:, [2, 3]],
    "acc": lambda f, p: f[:, [4, 5]],
    "pressure": lambda f, p: f[:, [12]] if p else None,  # only where both have a varying pressure
    "xyv_nop": lambda f, p: f[:, [0, 1, 2, 3]],
    "xyv": lambda f, p: f[:, [0, 1, 2, 3, 12]] if p else None,  # the shipped set: a check against the rows
}


def templates(paths, rate=33.0):
    return [extract(json.loads(open(p).read()), rate) for p in paths]


def columns(S, query, refs, kholmatov=False):
    """(rows, 4) base+tnorm columns from DTW over the sequences in S (NaN where a pair has no sequence)."""
    n, R = refs.shape
    qa = np.repeat(query, R)
    ra = refs.reshape(-1)
    ii, jj = np.triu_indices(R, 1)
    pa, pb = refs[:, ii].reshape(-1), refs[:, jj].reshape(-1)
    allp = np.concatenate([np.stack([qa, ra], 1), np.stack([pa, pb], 1)])
    allp = np.sort(allp, 1)  # DTW is symmetric
    uniq, inv = np.unique(allp, axis=0, return_inverse=True)
    d = S.pairs(uniq[:, 0], uniq[:, 1], WINDOW)[inv.reshape(-1)]
    dq = d[: len(qa)].reshape(n, R)
    dr = d[len(qa) :].reshape(n, len(ii))
    m = np.zeros((n, R, R))
    m[:, ii, jj] = dr
    m[:, jj, ii] = dr
    scale = dr.mean(1)
    per_ref = m.sum(2) / (R - 1)
    x = dq / scale[:, None]
    t = dq / per_ref
    base = np.column_stack([x.min(1), x.mean(1), t.min(1), t.mean(1)])
    if not kholmatov:
        return base
    # Kholmatov and Yanikoglu (2005): the query's maximum distance and its distance to the
    # template reference (the one with the smallest mean distance to the others), over the
    # writer's scale, and minimum, maximum and template distances each over the references'
    # own average of the same quantity (leave-one-out among the references)
    big = np.where(np.eye(R, dtype=bool)[None], np.inf, m)
    small = np.where(np.eye(R, dtype=bool)[None], -np.inf, m)
    tmpl = per_ref.argmin(1)
    rows_ = np.arange(n)
    dt = dq[rows_, tmpl]
    ref_min = big.min(2).mean(1)
    ref_max = small.max(2).mean(1)
    ref_tmpl = m[rows_, tmpl].sum(1) / (R - 1)
    kh = np.column_stack([dq.max(1) / scale, dt / scale, dq.min(1) / ref_min, dq.max(1) / ref_max, dt / ref_tmpl])
    return np.column_stack([base, kh])


def pair_index(query, refs):
    """Unique sorted (a, b) pairs of every row's query-reference and reference-reference pairs, and
    where each row's pairs are in them."""
    n, R = refs.shape
    ii, jj = np.triu_indices(R, 1)
    qa, ra = np.repeat(query, R), refs.reshape(-1)
    pa, pb = refs[:, ii].reshape(-1), refs[:, jj].reshape(-1)
    allp = np.sort(np.concatenate([np.stack([qa, ra], 1), np.stack([pa, pb], 1)]), 1)
    uniq, inv = np.unique(allp, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    return uniq, inv[: len(qa)].reshape(n, R), inv[len(qa) :].reshape(n, len(ii))


def warp_columns(S, query, refs):
    """How much the best DTW path (shipped channels) bends: per pair, the share of its steps
    that are not diagonal and its largest time deviation max |i/(n-1) - j/(m-1)|; per row the
    mean over the 5 references, raw and over the references' own mean of the same (rows, 4)."""
    uniq, iq, ir = pair_index(query, refs)
    _, oi, oj, ol = S.paths(uniq[:, 0], uniq[:, 1], WINDOW)
    steps = np.arange(oi.shape[1])[None, :] < ol[:, None]
    di = np.diff(oi, axis=1) != 0
    dj = np.diff(oj, axis=1) != 0
    diag = (di & dj & steps[:, 1:]).sum(1)
    nondiag = 1 - diag / np.maximum(ol - 1, 1)
    la, lb = S.len[uniq[:, 0]], S.len[uniq[:, 1]]
    dev = np.where(steps, np.abs(oi / np.maximum(la - 1, 1)[:, None] - oj / np.maximum(lb - 1, 1)[:, None]), 0).max(1)
    out = []
    for v in (nondiag, dev):
        q, r = v[iq].mean(1), v[ir].mean(1)
        out += [q, q / np.maximum(r, 1e-6)]
    return np.column_stack(out)


def zscore_columns(S, query, refs):
    """The query's min and mean distance (shipped channels) minus the references' mean pairwise
    distance, over their standard deviation (a per-writer z-score) (rows, 2)."""
    uniq, iq, ir = pair_index(query, refs)
    d = S.pairs(uniq[:, 0], uniq[:, 1], WINDOW)
    dq, dr = d[iq], d[ir]
    mu, sd = dr.mean(1), np.maximum(dr.std(1), 1e-6)
    return np.column_stack([(dq.min(1) - mu) / sd, (dq.mean(1) - mu) / sd])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    a = ap.parse_args()
    z = np.load(a.rows)
    out = {}
    for n in ("svc", "susig"):
        tpl = templates(z[f"{n}_paths"])
        query, refs = z[f"{n}_query"], z[f"{n}_refs"]
        for v in a.variants:
            t0 = time.time()
            seqs = [VARIANTS[v](t.frames, t.has_pressure) for t in tpl]
            if any(s is None for s in seqs):
                print(n, v, "skipped: a signature without pressure", flush=True)
                continue
            S = Sequences([np.asarray(s, np.float32) for s in seqs])
            c = columns(S, query, refs, kholmatov=v == "xyv")
            out[f"{n}_{v}"] = c[:, :4]
            if v == "xyv":
                out[f"{n}_kh"] = c[:, 4:]
                out[f"{n}_warp"] = warp_columns(S, query, refs)
                out[f"{n}_zs"] = zscore_columns(S, query, refs)
            print(n, v, f"{time.time() - t0:.0f}s", flush=True)
            np.savez(a.out, **out)


if __name__ == "__main__":
    main()
