"""Held-out validation folds: do the encoder's columns lower the online and fused skilled EER?

    python research/2026-11-30-online-encoder/heldout.py --rows cache/encoder_rows.npz \\
        --emb cache/encoder_emb_s0.npz [cache/encoder_emb_s1.npz ...] [--json OUT]

Rows from rows.py, embeddings from encoder.py (validation users only). Each row gets the
encoder columns (``columns``) from the encoder trained without its fold (with several
``--emb`` files, encoders of other seeds, the columns averaged over them). Then, as
research/2026-11-30-online-random/heldout.py with the shipped setting (L2 1, random forgeries
half the negatives' weight): for each fold k, the online and fused logistic models are fitted
on both datasets' users of the other 4 folds, the operating point is their skilled EER
threshold there, and fold k's users are scored. Column sets: ``shipped`` (the 26 online
features), ``+enc`` variants (encoder columns added), ``enc`` (encoder columns alone) and the
single columns' own EER. Reported per dataset: skilled and random EER (%), FRR / FAR skilled /
FAR random (%) at the operating point.
"""

import argparse
import json

import numpy as np

from ml.metrics import eer
from ml.online.fitting import eer_threshold, fit_logistic, negative_weights

SETS = ("svc", "susig")
ENC_NAMES = ("enc_mean_norm", "enc_min_norm", "enc_mean_raw")


def columns(emb, query, refs):
    """Per row: [mean, min distance to the refs / refs' mean pairwise distance, raw mean distance]."""
    q = emb[query][:, None, :]
    r = emb[refs]
    d = np.linalg.norm(q - r, axis=2)
    pd = np.linalg.norm(r[:, :, None, :] - r[:, None, :, :], axis=3)
    n = r.shape[1]
    scale = np.maximum(pd.sum((1, 2)) / (n * (n - 1)), 1e-6)
    return np.column_stack([d.mean(1) / scale, d.min(1) / scale, d.mean(1)])


def load(rows_path, emb_paths):
    """Rows with their encoder columns; several embedding files (encoders trained with other
    seeds): the columns averaged over them."""
    z = np.load(rows_path)
    data = {}
    for n in SETS:
        r = {k: z[f"{n}_{k}"] for k in ("image", "feats", "label", "writer", "kind", "fold", "query", "refs")}
        r["enc"] = np.zeros((len(r["label"]), len(ENC_NAMES)))
        data[n] = r
    for emb_path in emb_paths:
        e = np.load(emb_path)
        pos = {p: i for i, p in enumerate(e["paths"])}
        for n, r in data.items():
            idx = np.array([pos[p] for p in z[f"{n}_paths"]])  # folder sample index -> embedding row
            for k in range(5):
                m = r["fold"] == k
                r["enc"][m] += columns(e[f"emb{k}"], idx[r["query"][m]], idx[r["refs"][m]]) / len(emb_paths)
    return data


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def design(r, m, kind, cols, enc_cols):
    parts = []
    if kind == "fused":
        parts.append(logit(r["image"][m])[:, None])
    if cols:
        parts.append(r["feats"][m])
    if enc_cols:
        parts.append(r["enc"][m][:, enc_cols])
    return np.column_stack(parts)


def held_out(data, kind, cols, enc_cols, weight=0.5, l2=1.0):
    held = {n: np.zeros(len(r["label"])) for n, r in data.items()}
    thr = {n: np.zeros(len(r["label"])) for n, r in data.items()}
    for k in range(5):
        X, y, kd = [], [], []
        for r in data.values():
            m = r["fold"] != k
            X.append(design(r, m, kind, cols, enc_cols))
            y.append(r["label"][m])
            kd.append(r["kind"][m])
        X, y, kd = np.concatenate(X), np.concatenate(y), np.concatenate(kd)
        w, b = fit_logistic(X, y, l2=l2, weights=negative_weights(kd, weight))
        f = lambda z: 1 / (1 + np.exp(-np.clip(z @ np.asarray(w) + b, -50, 50)))  # noqa: B023
        s = f(X)
        t = eer_threshold(s[kd == "genuine"], s[kd == "skilled"])
        for n, r in data.items():
            m = r["fold"] == k
            held[n][m] = f(design(r, m, kind, cols, enc_cols))
            thr[n][m] = t
    return {n: summary(held[n], thr[n], r["kind"]) for n, r in data.items()}


def summary(s, t, kd):
    g, sk, ra = kd == "genuine", kd == "skilled", kd == "random"
    out = {"eer_skilled": round(100 * eer(s[g], s[sk])[0], 2), "eer_random": round(100 * eer(s[g], s[ra])[0], 2)}
    if t is not None:
        out.update(
            {
                "frr": round(100 * float((s[g] < t[g]).mean()), 2),
                "far_skilled": round(100 * float((s[sk] >= t[sk]).mean()), 2),
                "far_random": round(100 * float((s[ra] >= t[ra]).mean()), 2),
            }
        )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--emb", nargs="+", required=True, help="encoder.py outputs; several: columns averaged")
    ap.add_argument("--json")
    a = ap.parse_args()
    data = load(a.rows, a.emb)
    out = {}
    for j, name in enumerate(ENC_NAMES):  # each column alone, lower distance = genuine
        out[f"column {name}"] = {n: summary(-r["enc"][:, j], None, r["kind"]) for n, r in data.items()}
    out["column dtw_min_norm"] = {n: summary(-r["feats"][:, 0], None, r["kind"]) for n, r in data.items()}
    variants = {"shipped": (True, []), "+enc_mean_norm": (True, [0]), "+enc_norm": (True, [0, 1]),
                "+enc_all": (True, [0, 1, 2]), "enc_all alone": (False, [0, 1, 2])}  # fmt: skip
    for kind in ("online", "fused"):
        for v, (cols, enc_cols) in variants.items():
            out[f"{kind} {v}"] = held_out(data, kind, cols, enc_cols)
    for key, res in out.items():
        print(
            f"{key:28s}",
            "  ".join(
                f"{n}: EER sk {v['eer_skilled']:5.2f} rnd {v['eer_random']:5.2f}"
                + (f" | @thr FRR {v['frr']:5.2f} FAR sk {v['far_skilled']:5.2f} rnd {v['far_random']:5.2f}" if "frr" in v else "")
                for n, v in res.items()
            ),
            flush=True,
        )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
