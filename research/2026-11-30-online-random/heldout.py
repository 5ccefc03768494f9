"""Held-out validation folds: online and fused models fitted with random forgeries as negatives too.

    python research/2026-11-30-online-random/heldout.py --rows cache/random_rows.npz \\
        [--weights 0 0.1 0.25 0.5] [--l2 1] [--model logistic|monotone|gbm] [--json OUT]

Rows from rows.py (validation users only). For each fold k of 5, the online and fused logistic
models (``ml.online.fitting.fit_logistic`` with ``negative_weights``: random forgeries take the
share ``w`` of the negatives' weight) are fitted on both datasets' users of the other 4 folds,
the operating point is their skilled-forgery EER threshold on those users (as
``ml.online.calibrate.fit`` sets it), and the held-out fold's users are scored. Reported per
dataset: skilled and random-forgery EER (%), and FRR / FAR skilled / FAR random (%) at the
operating point. ``w = 0`` is the shipped fit (genuine against skilled forgeries).

``--model monotone``: the same logistic model with the weights of the 4 DTW distances and the
11 |global difference| columns held at or below 0 (a farther query never scores higher;
active set: the most positive such weight is fixed at 0 and the model refitted, until none is
positive). ``--model gbm``: scikit-learn's HistGradientBoostingClassifier on the same
columns and row weights (200 trees of 15 leaves, learning rate 0.05). Neither was kept.
"""

import argparse
import json

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from ml.metrics import eer
from ml.online.fitting import eer_threshold, fit_logistic, negative_weights

SETS = ("svc", "susig")


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def load(path):
    z = np.load(path)
    return {n: {k: z[f"{n}_{k}"] for k in ("image", "feats", "label", "writer", "kind", "fold")} for n in SETS}


def design(r, m, kind, cols):
    x = r["feats"][m][:, cols] if cols is not None else r["feats"][m]
    return np.column_stack([logit(r["image"][m]), x]) if kind == "fused" else x


def fit_monotone(x, y, l2, weights, constrained):
    """``fit_logistic`` with the weights of the ``constrained`` columns held <= 0 (active set)."""
    free = list(range(x.shape[1]))
    while True:
        w, b = fit_logistic(x[:, free], y, l2=l2, weights=weights)
        full = np.zeros(x.shape[1])
        full[free] = w
        bad = [(full[j], j) for j in free if j in constrained and full[j] > 0]
        if not bad:
            return full, b
        free.remove(max(bad)[1])


def fitted_scorer(model, X, y, kind, weights, l2):
    """(X -> scores in [0, 1]) fitted on the rows X, y with ``weights``."""
    if model == "gbm":
        clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
                                             l2_regularization=1.0, random_state=0)  # fmt: skip
        clf.fit(X, y, sample_weight=weights * len(y))
        return lambda z: clf.predict_proba(z)[:, 1]
    if model == "monotone":
        off = 1 if kind == "fused" else 0  # the image logit comes first in the fused model
        w, b = fit_monotone(X, y, l2, weights, set(range(off, off + 15)))
    else:
        w, b = fit_logistic(X, y, l2=l2, weights=weights)
    return lambda z: 1 / (1 + np.exp(-np.clip(z @ np.asarray(w) + b, -50, 50)))


def held_out(data, kind, weight, l2, cols=None, train_random=True, model="logistic"):
    held = {n: np.zeros(len(r["label"])) for n, r in data.items()}
    thr = {n: np.zeros(len(r["label"])) for n, r in data.items()}
    for k in range(5):
        X, y, kd = [], [], []
        for r in data.values():
            m = r["fold"] != k
            if not train_random:
                m &= r["kind"] != "random"
            X.append(design(r, m, kind, cols))
            y.append(r["label"][m])
            kd.append(r["kind"][m])
        X, y, kd = np.concatenate(X), np.concatenate(y), np.concatenate(kd)
        f = fitted_scorer(model, X, y, kind, negative_weights(kd, weight), l2)
        s = f(X)
        t = eer_threshold(s[kd == "genuine"], s[kd == "skilled"])
        for n, r in data.items():
            m = r["fold"] == k
            held[n][m] = f(design(r, m, kind, cols))
            thr[n][m] = t
    res = {}
    for n, r in data.items():
        s, t, kd = held[n], thr[n], r["kind"]
        g, sk, ra = kd == "genuine", kd == "skilled", kd == "random"
        res[n] = {
            "eer_skilled": round(100 * eer(s[g], s[sk])[0], 2),
            "eer_random": round(100 * eer(s[g], s[ra])[0], 2),
            "frr": round(100 * float((s[g] < t[g]).mean()), 2),
            "far_skilled": round(100 * float((s[sk] >= t[sk]).mean()), 2),
            "far_random": round(100 * float((s[ra] >= t[ra]).mean()), 2),
        }
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5])
    ap.add_argument("--l2", type=float, nargs="+", default=[1.0])
    ap.add_argument("--model", default="logistic", choices=("logistic", "monotone", "gbm"))
    ap.add_argument("--base", action="store_true", help="the 4 DTW columns only (base+tnorm, before the global features)")
    ap.add_argument("--json")
    a = ap.parse_args()
    data = load(a.rows)
    out = {}
    for l2 in a.l2:
        for wt in a.weights:
            for kind in ("online", "fused"):
                res = held_out(data, kind, wt, l2, cols=[0, 1, 2, 3] if a.base else None, model=a.model)
                out[f"{kind} w={wt} l2={l2}"] = res
                print(
                    f"{a.model} {kind:6s} w={wt:<5} l2={l2:<5}",
                    "  ".join(
                        f"{n}: EER sk {v['eer_skilled']:5.2f} rnd {v['eer_random']:5.2f} | @thr FRR {v['frr']:5.2f} "
                        f"FAR sk {v['far_skilled']:5.2f} rnd {v['far_random']:5.2f}"
                        for n, v in res.items()
                    ),
                    flush=True,
                )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
