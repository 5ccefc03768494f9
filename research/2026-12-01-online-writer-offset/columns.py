"""Per-enrollment columns for the held-out study: how complex and how variable the writer's
5 references are (constants of an enrollment, so in a linear logistic model they move each
writer's threshold), and their products with the shipped model's main distance column.

    python research/2026-12-01-online-writer-offset/columns.py --rows cache/encoder_rows.npz \\
        --svc cache/splits/svc2004_val --susig cache/splits/susig_visual_val --out cache/offset_cols.npz

Columns (per dataset ``<set>_<name>``, one row per row of ``--rows``):
- ``cx``: the references' mean of 7 whole-signature values (log duration, pen-down share, log
  strokes, log speed, speed variation, log path length, log turns; pressure left out, as
  devices differ), each standardised over the validation enrollments of both sets;
- ``lsc``: log of the writer's DTW scale (mean pairwise reference distance) and log of the
  spread of the per-reference scales (their coefficient of variation);
- ``cxd``: ``cx`` and ``lsc`` each times the query's smallest distance over the scale (the rows'
  first column), so the slope of the distance, not only the offset, follows the writer.
"""

import argparse

import numpy as np

from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.features import GLOBAL_NAMES, global_features
from ml.online.verifier import load_params

CX = ("log_duration", "down_ratio", "log_strokes", "log_speed", "speed_cv", "log_path", "log_turns")


def enrollment_columns(scorer, refs):
    p = scorer.params
    idx = [GLOBAL_NAMES.index(n) for n in CX]
    g = np.array([global_features(scorer.templates[i], p.rate_hz)[idx] for i in refs]).mean(0)
    d = scorer.distances(np.asarray(refs), np.asarray(refs))
    n = len(refs)
    off = d[~np.eye(n, dtype=bool)].reshape(n, n - 1)
    per_ref = off.mean(1)
    scale = float(off.mean())
    return g, np.array([np.log(scale), np.log(per_ref.std() / per_ref.mean() + 1e-3)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--svc", required=True)
    ap.add_argument("--susig", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    z = np.load(a.rows)
    params = load_params("sigfast-1eedf5a0")
    raw = {}
    for name, folder in (("svc", a.svc), ("susig", a.susig)):
        samples, _ = scan_stroke_writers(folder)
        scorer = StrokeScorer(samples, params)
        paths = [s.path for s in scorer.samples]
        if paths != list(z[f"{name}_paths"]):
            raise SystemExit(f"{name}: sample order differs from the rows'")
        refs = z[f"{name}_refs"]
        cache = {}
        gx, sx = [], []
        for r in refs:
            key = tuple(int(i) for i in r)
            if key not in cache:
                cache[key] = enrollment_columns(scorer, key)
            gx.append(cache[key][0])
            sx.append(cache[key][1])
        raw[name] = (np.array(gx), np.array(sx), z[f"{name}_feats"][:, 0])
        print(name, len(cache), "enrollments", flush=True)
    allg = np.concatenate([v[0] for v in raw.values()])
    alls = np.concatenate([v[1] for v in raw.values()])
    mg, sg = allg.mean(0), allg.std(0) + 1e-9
    ms, ss = alls.mean(0), alls.std(0) + 1e-9
    out = {}
    for name, (g, s, d0) in raw.items():
        cx, lsc = (g - mg) / sg, (s - ms) / ss
        out[f"{name}_cx"] = cx
        out[f"{name}_lsc"] = lsc
        out[f"{name}_cxd"] = np.column_stack([cx, lsc]) * d0[:, None]
    np.savez(a.out, **out)


if __name__ == "__main__":
    main()
