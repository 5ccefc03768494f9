"""Held-out validation EER of online and fused models over feature combinations (rows from rows.py).

    python research/2026-11-30-online-global/combos.py --rows cache/global_rows.npz [--json OUT]

Users are split in 5 folds per dataset (sorted writer names, i % 5, as in
research/2026-11-30-online-features/variants.py); logistic models (``ml.online.fitting.fit_logistic``)
are fitted on both datasets' users of 4 folds and scored on the 5th; reported: skilled EER (%)
per dataset on held-out folds (and random-forgery EER where the rows have random forgeries).
"""

import argparse
import json

import numpy as np

from ml.metrics import eer
from ml.online.features import GLOBAL_NAMES
from ml.online.fitting import fit_logistic

NG = len(GLOBAL_NAMES)
GI = {n: i for i, n in enumerate(GLOBAL_NAMES)}


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def global_cols(f, names, norm, floor):
    """|query - reference centre| normalised per writer, one column per name."""
    diff_mu, sd, diff_med = f[:, 4 : 4 + NG], f[:, 4 + NG : 4 + 2 * NG], f[:, 4 + 2 * NG : 4 + 3 * NG]
    cols = []
    for n in names:
        i = GI[n]
        d = diff_med[:, i] if "med" in norm else diff_mu[:, i]
        s = sd[:, i]
        if norm.startswith("z"):
            v = np.abs(d) / (s + floor[i])
        elif norm.startswith("abs"):
            v = np.abs(d)
        elif norm.startswith("diff"):
            v = d
        elif norm.startswith("signed"):
            v = d / (s + floor[i])
        v = np.where(np.isfinite(v), v, 0.0)
        cols.append(np.clip(v, -20, 20))
    return np.column_stack(cols) if cols else np.zeros((len(f), 0))


def build(f, spec, floor):
    parts = []
    if "base" in spec["dtw"]:
        parts.append(f[:, 0:2])
    if "tnorm" in spec["dtw"]:
        parts.append(f[:, 2:4])
    for k in spec.get("extra", []):
        parts.append(f[:, 4 + 3 * NG + 2 * k : 4 + 3 * NG + 2 * k + 2])
    if spec.get("glob"):
        g = global_cols(f, spec["glob"], spec.get("norm", "z"), floor)
        if spec.get("sum"):
            g = np.sqrt((g**2).sum(1, keepdims=True))
        parts.append(g)
    if spec.get("glob2"):
        parts.append(global_cols(f, spec["glob2"], spec["norm2"], floor))
    return np.column_stack(parts)


def held_out(data, folds, spec, kind, floor, l2=1e-3):
    held = {n: np.zeros(len(r["label"])) for n, r in data.items()}
    for k in range(5):
        X, y = [], []
        for n, r in data.items():
            m = (folds[n] != k) & (r["kind"] != "random")  # fitted on genuine and skilled, as shipped
            x = build(r["feats"][m], spec, floor)
            if kind == "fused":
                x = np.column_stack([logit(r["image"][m]), x])
            X.append(x)
            y.append(r["label"][m])
        w, b = fit_logistic(np.concatenate(X), np.concatenate(y), l2=l2)
        for n, r in data.items():
            m = folds[n] == k
            x = build(r["feats"][m], spec, floor)
            if kind == "fused":
                x = np.column_stack([logit(r["image"][m]), x])
            held[n][m] = x @ np.array(w) + b
    res = {}
    for n, r in data.items():
        g = r["label"] > 0
        res[n] = round(100 * eer(held[n][g], held[n][r["kind"] == "skilled"])[0], 2)
        if (r["kind"] == "random").any():
            res[n + "_random"] = round(100 * eer(held[n][g], held[n][r["kind"] == "random"])[0], 2)
    return res


ALL = list(GLOBAL_NAMES)
TIME = ["log_duration", "down_ratio", "log_speed", "log_vmax"]
PRESSURE = ["pressure_mean", "pressure_std"]
SPECS = {
    "base+tnorm (shipped)": {"dtw": "base+tnorm"},
    "+duration": {"dtw": "base+tnorm", "glob": ["log_duration"]},
    "+speed": {"dtw": "base+tnorm", "glob": ["log_speed"]},
    "+time4": {"dtw": "base+tnorm", "glob": TIME},
    "+time4 abs": {"dtw": "base+tnorm", "glob": TIME, "norm": "abs"},
    "+time4 zmed": {"dtw": "base+tnorm", "glob": TIME, "norm": "zmed"},
    "+time4 signed": {"dtw": "base+tnorm", "glob": TIME, "norm": "signed"},
    "+all": {"dtw": "base+tnorm", "glob": ALL},
    "+all zmed": {"dtw": "base+tnorm", "glob": ALL, "norm": "zmed"},
    "+all sum": {"dtw": "base+tnorm", "glob": ALL, "sum": True},
    "+time4 sum": {"dtw": "base+tnorm", "glob": TIME, "sum": True},
    "+all abs": {"dtw": "base+tnorm", "glob": ALL, "norm": "abs"},
    "+time4+pressure": {"dtw": "base+tnorm", "glob": TIME + PRESSURE},
    "+time4+pressure abs": {"dtw": "base+tnorm", "glob": TIME + PRESSURE, "norm": "abs"},
    "+time4+turns+pressure": {"dtw": "base+tnorm", "glob": TIME + ["log_turns"] + PRESSURE},
    "+time4+turns+pressure abs": {"dtw": "base+tnorm", "glob": TIME + ["log_turns"] + PRESSURE, "norm": "abs"},
    "base +all": {"dtw": "base", "glob": ALL},
    "base +all abs": {"dtw": "base", "glob": ALL, "norm": "abs"},
    "tnorm +all abs": {"dtw": "tnorm", "glob": ALL, "norm": "abs"},
    "+all-strokes abs": {"dtw": "base+tnorm", "glob": [n for n in ALL if n != "log_strokes"], "norm": "abs"},
    "+all-cv-path abs": {"dtw": "base+tnorm", "glob": [n for n in ALL if n not in ("speed_cv", "log_path")], "norm": "abs"},
    "+all signed": {"dtw": "base+tnorm", "glob": ALL, "norm": "signed"},
    "+all abs +signed time4": {"dtw": "base+tnorm", "glob": ALL, "norm": "abs", "glob2": TIME, "norm2": "signed"},
    "+all abs +signed dur": {"dtw": "base+tnorm", "glob": ALL, "norm": "abs", "glob2": ["log_duration"], "norm2": "signed"},
    "+all abs +signed all": {"dtw": "base+tnorm", "glob": ALL, "norm": "abs", "glob2": ALL, "norm2": "signed"},
    "+all abs +diff all": {"dtw": "base+tnorm", "glob": ALL, "norm": "abs", "glob2": ALL, "norm2": "diff"},
    "+all abs +diff time4": {"dtw": "base+tnorm", "glob": ALL, "norm": "abs", "glob2": TIME, "norm2": "diff"},
    "+time4+turns+pressure abs +diff": {
        "dtw": "base+tnorm",
        "glob": TIME + ["log_turns"] + PRESSURE,
        "norm": "abs",
        "glob2": TIME + ["log_turns"] + PRESSURE,
        "norm2": "diff",
    },
    "+all diff": {"dtw": "base+tnorm", "glob": ALL, "norm": "diff"},
    "+all abs +z all": {"dtw": "base+tnorm", "glob": ALL, "norm": "abs", "glob2": ALL, "norm2": "z"},
    "tnorm +all": {"dtw": "tnorm", "glob": ALL},
}


def load(path):
    z = np.load(path)
    data = {}
    for n in ("svc", "susig"):
        data[n] = {k: z[f"{n}_{k}"] for k in ("image", "feats", "label", "writer", "kind")}
    return data, list(z["channels"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--json")
    ap.add_argument("--floor", type=float, default=0.5, help="spread floor, as a fraction of the pooled median spread")
    ap.add_argument("--l2", type=float, default=1e-3, help="L2 penalty of the logistic models")
    ap.add_argument("--singles", action="store_true", help="also each global feature alone")
    ap.add_argument("--only", nargs="*", help="only these combinations")
    a = ap.parse_args()
    data, channels = load(a.rows)
    folds = {}
    for n, r in data.items():
        writers = np.unique(r["writer"])
        fold_of = {w: i % 5 for i, w in enumerate(writers)}
        folds[n] = np.array([fold_of[w] for w in r["writer"]])
    sd = np.concatenate([r["feats"][:, 4 + NG : 4 + 2 * NG] for r in data.values()])
    floor = a.floor * np.nan_to_num(np.nanmedian(sd, 0), nan=1.0)
    specs = dict(SPECS)
    for k, c in enumerate(channels):
        specs[f"+dtw {c}"] = {"dtw": "base+tnorm", "extra": [k]}
        specs[f"+dtw {c} +time4"] = {"dtw": "base+tnorm", "extra": [k], "glob": TIME}
    for n in ALL if a.singles else []:
        specs[f"+{n}"] = {"dtw": "base+tnorm", "glob": [n]}
    out = {}
    for name, spec in specs.items():
        if a.only and name not in a.only:
            continue
        res = {
            f"{kind}_{n}": v for kind in ("online", "fused") for n, v in held_out(data, folds, spec, kind, floor, a.l2).items()
        }
        out[name] = res
        print(f"{name:28s}", "  ".join(f"{k} {v:5.2f}" for k, v in res.items()), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"floor": floor.tolist(), "results": out}, f, indent=2)


if __name__ == "__main__":
    main()
