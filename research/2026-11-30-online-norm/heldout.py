"""Held-out validation folds: does a per-writer normalisation from the enrollment's own
leave-one-out (LOO) reference scores lower the skilled EER at one global threshold?

    python research/2026-11-30-online-norm/heldout.py --rows cache/norm_rows.npz \\
        [--fold-seed S] [--json OUT]

Rows from rows.py (this folder). Protocol as research/2026-11-30-online-dtw/heldout.py (the
shipped setting: L2 1, random forgeries half the negatives' weight; shipped 35 online columns):
for each fold k of 5, online and fused logistic models are fitted on both datasets' users of
the other 4 folds; every score below is a function of that model's logit z (no sigmoid); the
operating point is each score's skilled EER threshold on the 4 training folds, and fold k's
users are scored. With l_1..l_5 the logits of the 5 references, each scored against the other
4 (LOO), and s_k the query's logit against the same 4 references that scored l_k:

* ``plain``: z (what ships);
* ``sub_mean``: z - mean(l);  ``sub_half``: z - mean(l) / 2;  ``sub_min``: z - min(l);
* ``zscore_fF``: (z - mean(l)) / max(std(l), F);
* ``four_refs``: mean(s_k), the query against 4 references only (a control: what 4 instead of
  5 references costs);  ``matched``: mean(s_k - l_k), query and held-out reference on equal
  footing (4 references each);
* ``learned``: a second logistic model over [z, mean(l), min(l), std(l)] fitted on the training
  folds' rows (their z is in-sample for the first model).

Reported per dataset: skilled and random EER (%), the mean per-enrollment per-writer skilled
EER (%), FRR / FAR skilled / FAR random (%) at the operating point.
"""

import argparse
import json

import numpy as np

from ml.metrics import eer
from ml.online.fitting import eer_threshold, fit_logistic, negative_weights

SETS = ("svc", "susig")
KEYS = ("image", "feats", "label", "writer", "kind", "fold", "refs", "loo_image", "loo_feats", "sub_image", "sub_feats")
FLOORS = (0.5, 1.0, 2.0)


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def load(path, image5=None):
    z = np.load(path)
    data = {n: {k: z[f"{n}_{k}"] for k in KEYS} for n in SETS}
    if image5:  # 4-reference image scores calibrated as 5-reference ones (image_loo.py)
        z5 = np.load(image5)
        data = {n: r for n, r in data.items() if f"{n}_loo_image" in z5.files}
        for n, r in data.items():
            r["loo_image"], r["sub_image"] = z5[f"{n}_loo_image"], z5[f"{n}_sub_image"]
    for r in data.values():
        ref_key = np.array([f"{w}:{','.join(map(str, x))}" for w, x in zip(r["writer"], r["refs"])])
        r["enrol"] = np.cumsum(np.r_[True, ref_key[1:] != ref_key[:-1]])  # rows come in enrollment blocks
    return data


def design(image, feats, kind):
    return np.concatenate([logit(image)[..., None], feats], axis=-1) if kind == "fused" else feats


def logits(r, m, kind, w, b):
    """Plain logit (N,), LOO reference logits (N, 5), 4-reference query logits (N, 5), and the
    LOO logits' online part (N, 5: the image term left out; the same as the LOO logits online)."""
    w = np.asarray(w)
    z = design(r["image"][m], r["feats"][m], kind) @ w + b
    lf = r["loo_feats"][m].astype(float)
    loo = design(r["loo_image"][m], lf, kind) @ w + b
    sub = design(r["sub_image"][m], r["sub_feats"][m].astype(float), kind) @ w + b
    return z, loo, sub, lf @ w[-lf.shape[-1] :] + b


def scores(z, loo, sub, onl):
    mu, sd = loo.mean(1), loo.std(1)
    out = {
        "plain": z,
        "sub_mean_online_part": z - onl.mean(1),
        "sub_min_online_part": z - onl.min(1),
        "sub_mean": z - mu,
        "sub_half": z - mu / 2,
        "sub_min": z - loo.min(1),
        "four_refs": sub.mean(1),
        "matched": (sub - loo).mean(1),
    }
    for f in FLOORS:
        out[f"zscore_f{f:g}"] = (z - mu) / np.maximum(sd, f)
    return out


def stage2(z, loo):
    return np.column_stack([z, loo.mean(1), loo.min(1), loo.std(1)])


def held_out(data, kind, weight=0.5, l2=1.0):
    held, thr = {}, {}
    for f in range(5):
        X, y, kd = [], [], []
        for r in data.values():
            m = r["fold"] != f
            X.append(design(r["image"][m], r["feats"][m], kind))
            y.append(r["label"][m])
            kd.append(r["kind"][m])
        X, y, kd = np.concatenate(X), np.concatenate(y), np.concatenate(kd)
        wts = negative_weights(kd, weight)
        w, b = fit_logistic(X, y, l2=l2, weights=wts)
        tr = [logits(r, r["fold"] != f, kind, w, b) for r in data.values()]
        tr_s = [scores(*t) for t in tr]
        if kind == "online":  # the online part is the whole logit
            for x in tr_s:
                x.pop("sub_mean_online_part"), x.pop("sub_min_online_part")
        w2, b2 = fit_logistic(np.concatenate([stage2(t[0], t[1]) for t in tr]), y, l2=l2, weights=wts)
        for s, t in zip(tr_s, tr):
            s["learned"] = stage2(t[0], t[1]) @ np.asarray(w2) + b2
        t_op = {}
        for name in tr_s[0]:
            s = np.concatenate([x[name] for x in tr_s])
            t_op[name] = eer_threshold(s[kd == "genuine"], s[kd == "skilled"])
        for n, r in data.items():
            m = r["fold"] == f
            z, loo, sub, onl = logits(r, m, kind, w, b)
            s = scores(z, loo, sub, onl)
            s["learned"] = stage2(z, loo) @ np.asarray(w2) + b2
            if kind == "online":
                s.pop("sub_mean_online_part"), s.pop("sub_min_online_part")
            s["_loo_mean"] = loo.mean(1)
            for name, v in s.items():
                held.setdefault(name, {}).setdefault(n, np.zeros(len(r["label"])))[m] = v
                thr.setdefault(name, {}).setdefault(n, np.zeros(len(r["label"])))[m] = t_op.get(name, np.nan)
    res = {name: {n: summary(held[name][n], thr[name][n], data[n]) for n in data} for name in held if name[0] != "_"}
    diag = {n: offsets(held["plain"][n], held["_loo_mean"][n], data[n]) for n in data}
    return res, w2, diag


def offsets(z, mu, r):
    """Per enrollment (held-out): does the LOO mean logit follow where the writer's genuine and
    skilled logits sit? Pearson correlations over enrollments, and the mean gap genuine - LOO."""
    kd, en = r["kind"], r["enrol"]
    es = np.unique(en[kd == "skilled"])
    g = np.array([z[(en == e) & (kd == "genuine")].mean() for e in es])
    sk = np.array([z[(en == e) & (kd == "skilled")].mean() for e in es])
    m = np.array([mu[en == e][0] for e in es])
    c = lambda a, b: round(float(np.corrcoef(a, b)[0, 1]), 3)
    return {
        "corr_loo_genuine": c(m, g),
        "corr_loo_skilled": c(m, sk),
        "corr_loo_midpoint": c(m, (g + sk) / 2),
        "corr_genuine_skilled": c(g, sk),
        "mean_genuine_minus_loo": round(float((g - m).mean()), 3),
        "sd_loo_mean": round(float(m.std()), 3),
        "sd_genuine_mean": round(float(g.std()), 3),
    }


def summary(s, t, r):
    kd = r["kind"]
    g, sk, ra = kd == "genuine", kd == "skilled", kd == "random"
    per = [eer(s[g & (r["enrol"] == e)], s[sk & (r["enrol"] == e)])[0] for e in np.unique(r["enrol"][sk])]
    return {
        "eer_skilled": round(100 * eer(s[g], s[sk])[0], 2),
        "eer_random": round(100 * eer(s[g], s[ra])[0], 2) if ra.any() else float("nan"),
        "eer_user_skilled": round(100 * float(np.mean(per)), 2),
        "frr": round(100 * float((s[g] < t[g]).mean()), 2),
        "far_skilled": round(100 * float((s[sk] >= t[sk]).mean()), 2),
        "far_random": round(100 * float((s[ra] >= t[ra]).mean()), 2) if ra.any() else float("nan"),
    }


def fmt(key, res):
    return f"{key:24s} " + "  ".join(
        f"{n}: sk {v['eer_skilled']:5.2f} rnd {v['eer_random']:5.2f} usr {v['eer_user_skilled']:5.2f}"
        f" | FRR {v['frr']:5.2f} FARsk {v['far_skilled']:5.2f} FARrnd {v['far_random']:5.2f}"
        for n, v in res.items()
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--fold-seed", type=int, help="users dealt into 5 other folds (random forgeries stay as drawn)")
    ap.add_argument("--image5", help="image_loo.py output: its 4-reference image scores replace the rows' own")
    ap.add_argument("--json")
    a = ap.parse_args()
    data = load(a.rows, a.image5)
    if a.fold_seed is not None:
        for r in data.values():
            ws = sorted(set(r["writer"]))
            perm = np.random.default_rng(a.fold_seed).permutation(len(ws))
            fold = {w: int(perm[i] % 5) for i, w in enumerate(ws)}
            r["fold"] = np.array([fold[w] for w in r["writer"]])
    out = {}
    for n, r in data.items():  # how the LOO logits sit: spread within and between enrollments (plain fused model)
        print(n, "enrollments", int(r["enrol"].max()), "rows", len(r["label"]), flush=True)
    for kind in ("online", "fused"):
        res, w2, diag = held_out(data, kind)
        out[kind] = res
        out[f"{kind}_offsets"] = diag
        print(kind, "offsets", json.dumps(diag), flush=True)
        out[f"{kind}_learned_weights_last_fold"] = [round(float(v), 3) for v in w2]
        for name, v in res.items():
            print(fmt(f"{kind} {name}", v), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
