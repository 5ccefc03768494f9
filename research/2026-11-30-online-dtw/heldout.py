"""Held-out validation folds: do extra DTW columns lower the online and fused skilled EER?

    python research/2026-11-30-online-dtw/heldout.py --rows cache/encoder_rows.npz \\
        --cols cache/dtw_channels.npz [more .npz] --sets "+angle" "+angle+speed" ... [--json OUT]

Rows from research/2026-11-30-online-encoder/rows.py; extra columns from channels.py or
learned.py, named ``<set>_<name>`` per dataset, one row each. Protocol as
research/2026-11-30-online-encoder/heldout.py (the shipped setting: L2 1, random forgeries half
the negatives' weight): for each fold k of 5, online and fused logistic models on the shipped
26 online columns plus the named extra columns are fitted on both datasets' users of the other
4 folds, the operating point is their skilled EER threshold there, and fold k's users are
scored. A set ``+a+b:2`` adds the first 2 columns of ``a`` and of ``b``. Reported per dataset:
skilled and random EER (%), FRR / FAR skilled / FAR random (%) at the operating point.
"""

import argparse
import json

import numpy as np

from ml.metrics import eer
from ml.online.fitting import eer_threshold, fit_logistic, negative_weights

SETS = ("svc", "susig")


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def load(rows_path, col_paths):
    z = np.load(rows_path)
    data = {n: {k: z[f"{n}_{k}"] for k in ("image", "feats", "label", "writer", "kind", "fold")} for n in SETS}
    extra = {n: {} for n in SETS}
    count = {}
    for p in col_paths:  # a name in several files (encoders of other seeds): the columns averaged
        c = np.load(p)
        for key in c.files:
            n, name = key.split("_", 1)
            if n in extra:
                extra[n][name] = extra[n].get(name, 0) + c[key]
                count[(n, name)] = count.get((n, name), 0) + 1
    for (n, name), k in count.items():
        extra[n][name] = extra[n][name] / k
    return data, extra


def parse(spec):
    """'+a+b:2' -> (['a', 'b'], 2); 'shipped' -> ([], None); 'only+a' -> DTW/global columns dropped."""
    only = spec.startswith("only")
    body = spec[4:] if only else spec
    k = None
    if ":" in body:
        body, k = body.split(":")
        k = int(k)
    names = [x for x in body.split("+") if x and x != "shipped"]
    return names, k, only


def design(r, ex, m, kind, names, k, only):
    parts = []
    if kind == "fused":
        parts.append(logit(r["image"][m])[:, None])
    if not only:
        parts.append(r["feats"][m])
    for nm in names:
        c = ex[nm][m]
        parts.append(c[:, :k] if k else c)
    return np.column_stack(parts)


def held_out(data, extra, kind, spec, weight=0.5, l2=1.0):
    names, k, only = parse(spec)
    held = {n: np.zeros(len(r["label"])) for n, r in data.items()}
    thr = {n: np.zeros(len(r["label"])) for n, r in data.items()}
    for f in range(5):
        X, y, kd = [], [], []
        for n, r in data.items():
            m = r["fold"] != f
            X.append(design(r, extra[n], m, kind, names, k, only))
            y.append(r["label"][m])
            kd.append(r["kind"][m])
        X, y, kd = np.concatenate(X), np.concatenate(y), np.concatenate(kd)
        w, b = fit_logistic(X, y, l2=l2, weights=negative_weights(kd, weight))
        sc = lambda x: 1 / (1 + np.exp(-np.clip(x @ np.asarray(w) + b, -50, 50)))  # noqa: B023
        s = sc(X)
        t = eer_threshold(s[kd == "genuine"], s[kd == "skilled"])
        for n, r in data.items():
            m = r["fold"] == f
            held[n][m] = sc(design(r, extra[n], m, kind, names, k, only))
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


def fmt(key, res):
    return f"{key:34s} " + "  ".join(
        f"{n}: sk {v['eer_skilled']:5.2f} rnd {v['eer_random']:5.2f}"
        + (f" | FRR {v['frr']:5.2f} FARsk {v['far_skilled']:5.2f} FARrnd {v['far_random']:5.2f}" if "frr" in v else "")
        for n, v in res.items()
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--cols", nargs="+", required=True)
    ap.add_argument("--sets", nargs="+", help="column sets; default: shipped, each extra alone (+x and +x:2), all")
    ap.add_argument("--singles", action="store_true", help="each extra column's own skilled EER (lower = genuine)")
    ap.add_argument(
        "--fold-seed", type=int, help="a robustness check: users dealt into 5 other folds (random forgeries stay as drawn)"
    )
    ap.add_argument("--json")
    a = ap.parse_args()
    data, extra = load(a.rows, a.cols)
    if a.fold_seed is not None:
        for _n, r in data.items():
            ws = sorted(set(r["writer"]))
            perm = np.random.default_rng(a.fold_seed).permutation(len(ws))
            fold = {w: int(perm[i] % 5) for i, w in enumerate(ws)}
            r["fold"] = np.array([fold[w] for w in r["writer"]])
    names = sorted(set(extra["svc"]) & set(extra["susig"]))
    out = {}
    if a.singles:
        for nm in names:
            for j in range(extra["svc"][nm].shape[1]):
                res = {n: summary(-np.nan_to_num(extra[n][nm][:, j], nan=1e9), None, r["kind"]) for n, r in data.items()}
                out[f"column {nm}[{j}]"] = res
                print(fmt(f"column {nm}[{j}]", res), flush=True)
    sets = a.sets or (["shipped"] + [f"+{x}" for x in names] + [f"+{x}:2" for x in names] + ["+" + "+".join(names)])
    for kind in ("online", "fused"):
        for spec in sets:
            res = held_out(data, extra, kind, spec)
            out[f"{kind} {spec}"] = res
            print(fmt(f"{kind} {spec}", res), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
