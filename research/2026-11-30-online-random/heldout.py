"""Held-out validation folds: online and fused models fitted with random forgeries as negatives too.

    python research/2026-11-30-online-random/heldout.py --rows cache/random_rows.npz \\
        [--weights 0 0.1 0.25 0.5] [--l2 1] [--json OUT]

Rows from rows.py (validation users only). For each fold k of 5, the online and fused logistic
models (``ml.online.verifier.fit_logistic`` with ``negative_weights``: random forgeries take the
share ``w`` of the negatives' weight) are fitted on both datasets' users of the other 4 folds,
the operating point is their skilled-forgery EER threshold on those users (as
``ml.online.calibrate.fit`` sets it), and the held-out fold's users are scored. Reported per
dataset: skilled and random-forgery EER (%), and FRR / FAR skilled / FAR random (%) at the
operating point. ``w = 0`` is the shipped fit (genuine against skilled forgeries).
"""

import argparse
import json

import numpy as np

from ml.metrics import eer
from ml.online.verifier import eer_threshold, fit_logistic, negative_weights

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


def held_out(data, kind, weight, l2, cols=None, train_random=True):
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
        w, b = fit_logistic(X, y, l2=l2, weights=negative_weights(kd, weight))
        s = 1 / (1 + np.exp(-np.clip(X @ np.array(w) + b, -50, 50)))
        t = eer_threshold(s[kd == "genuine"], s[kd == "skilled"])
        for n, r in data.items():
            m = r["fold"] == k
            held[n][m] = 1 / (1 + np.exp(-np.clip(design(r, m, kind, cols) @ np.array(w) + b, -50, 50)))
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
    ap.add_argument("--json")
    a = ap.parse_args()
    data = load(a.rows)
    out = {}
    for l2 in a.l2:
        for wt in a.weights:
            for kind in ("online", "fused"):
                res = held_out(data, kind, wt, l2)
                out[f"{kind} w={wt} l2={l2}"] = res
                print(
                    f"{kind:6s} w={wt:<5} l2={l2:<5}",
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
