"""Held-out validation folds: does a model fitted on pressure-free signatures score them better?

    python research/2026-12-02-online-no-pressure-fit/heldout_cross.py --pressure cache/rows_pressure.npz \\
        --stripped cache/rows_nopressure.npz [--json OUT]

Both row files come from research/2026-11-30-online-encoder/rows.py over the same validation users
(SVC2004 1-30, SUSIG visual 1-100), the second on copies with every point's pressure removed
(benchmarks/strip_pressure.py), so row i is the same query, references and
kind in both. Protocol of research/2026-11-30-online-dtw/heldout.py: 5 user folds; the online
and fused logistic models (L2 1, random forgeries half the negatives' weight) are fitted on both
datasets' users of 4 folds, the operating point is their skilled EER threshold there, and the
5th fold is scored. What differs is which rows the models are fitted on and which are scored:

- ``pressure -> stripped``: fitted with pressure (as shipped), scored without: a mouse today;
- ``stripped -> stripped``: a model fitted without pressure, scored without;
- ``pressure, point stripped -> stripped``: fitted with pressure, its operating point fitted on
  the pressure-free copies of the same 4 folds (the weights unchanged, only the threshold);
- ``both -> stripped`` / ``both -> pressure``: one model fitted on both copies;
- ``pressure -> pressure``: the shipped setting, for reference.
"""

import argparse
import json

import numpy as np

from ml.metrics import eer
from ml.online.fitting import eer_threshold, fit_logistic, negative_weights

SETS = ("svc", "susig")
FIELDS = ("image", "feats", "label", "writer", "kind", "fold")


def load(path):
    z = np.load(path)
    return {n: {k: z[f"{n}_{k}"] for k in FIELDS} for n in SETS}


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def design(r, m, kind):
    x = r["feats"][m]
    return np.column_stack([logit(r["image"][m]), x]) if kind == "fused" else x


def summary(s, t, kd):
    g, sk, ra = kd == "genuine", kd == "skilled", kd == "random"
    return {
        "eer_skilled": round(100 * eer(s[g], s[sk])[0], 2),
        "eer_random": round(100 * eer(s[g], s[ra])[0], 2),
        "frr": round(100 * float((s[g] < t[g]).mean()), 2),
        "far_skilled": round(100 * float((s[sk] >= t[sk]).mean()), 2),
        "far_random": round(100 * float((s[ra] >= t[ra]).mean()), 2),
    }


def held_out(fit_on: list[dict], score_on: dict, kind: str, weight=0.5, l2=1.0, point_on: dict | None = None) -> dict:
    """``point_on``: the operating point is the skilled EER threshold of these rows (their 4
    folds) scored by the fitted model, instead of the fitting rows'."""
    held = {n: np.zeros(len(r["label"])) for n, r in score_on.items()}
    thr = {n: np.zeros(len(r["label"])) for n, r in score_on.items()}
    for f in range(5):
        X, y, kd = [], [], []
        for data in fit_on:
            for r in data.values():
                m = r["fold"] != f
                X.append(design(r, m, kind))
                y.append(r["label"][m])
                kd.append(r["kind"][m])
        X, y, kd = np.concatenate(X), np.concatenate(y), np.concatenate(kd)
        w, b = fit_logistic(X, y, l2=l2, weights=negative_weights(kd, weight))
        w = np.asarray(w)
        s = 1 / (1 + np.exp(-np.clip(X @ w + b, -50, 50)))
        if point_on is not None:
            X, kd = [], []
            for r in point_on.values():
                m = r["fold"] != f
                X.append(design(r, m, kind))
                kd.append(r["kind"][m])
            X, kd = np.concatenate(X), np.concatenate(kd)
            s = 1 / (1 + np.exp(-np.clip(X @ w + b, -50, 50)))
        t = eer_threshold(s[kd == "genuine"], s[kd == "skilled"])
        for n, r in score_on.items():
            m = r["fold"] == f
            held[n][m] = 1 / (1 + np.exp(-np.clip(design(r, m, kind) @ w + b, -50, 50)))
            thr[n][m] = t
    return {n: summary(held[n], thr[n], r["kind"]) for n, r in score_on.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pressure", required=True)
    ap.add_argument("--stripped", required=True)
    ap.add_argument("--json")
    a = ap.parse_args()
    p, s = load(a.pressure), load(a.stripped)
    for n in SETS:  # the two files must describe the same rows
        for k in ("label", "writer", "kind", "fold"):
            if not np.array_equal(p[n][k], s[n][k]):
                raise SystemExit(f"{n}_{k} differs between the two row files")
    runs = {
        "pressure -> pressure": ([p], p),
        "pressure, point stripped -> stripped": ([p], s, s),
        "pressure -> stripped": ([p], s),
        "stripped -> stripped": ([s], s),
        "both -> stripped": ([p, s], s),
        "both -> pressure": ([p, s], p),
    }
    out = {}
    for kind in ("online", "fused"):
        for name, (fit_on, score_on, *point_on) in runs.items():
            res = held_out(fit_on, score_on, kind, point_on=point_on[0] if point_on else None)
            out[f"{kind} {name}"] = res
            print(f"{kind:6s} {name:38s} " + "  ".join(
                f"{n}: sk {v['eer_skilled']:5.2f} rnd {v['eer_random']:5.2f} | FRR {v['frr']:5.2f} "
                f"FARsk {v['far_skilled']:5.2f}" for n, v in res.items()), flush=True)  # fmt: skip
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
