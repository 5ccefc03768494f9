"""Online feature variants for SVC2004 on validation users only (SVC2004 1-30, SUSIG visual 1-100).

    python research/2026-11-30-online-features/variants.py --svc VAL_SVC --susig VAL_SUSIG [--seeds 3]

Per writer and seed: 5 references, genuine and skilled queries (``ml.online.fitting.validation_rows``).
Feature sets (each a column group, DTW distances of the shipped online parameters unless named):
  base   min and mean distance / the writer's mean reference distance (shipped);
  tnorm  min and mean of distance / that reference's own mean distance to the other references;
  z      (min distance - writer mean) / writer std of reference distances;
  full   base computed with every feature channel (positions, velocity, acceleration, speed,
         direction, pen-up, pressure) instead of x, y, vx, vy.
Logistic online and fused models are fitted on the validation users of 4 folds and scored on
the 5th (users split in 5 folds per dataset, both datasets pooled for fitting, as shipped);
reported: skilled EER per dataset, on held-out folds only.
"""

import argparse
import json

import numpy as np

from ml.engine import Engine
from ml.metrics import eer
from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.fitting import fit_logistic, validation_rows
from ml.online.verifier import OnlineParams, load_params


class VariantScorer(StrokeScorer):
    def __init__(self, samples, params, engine, full: StrokeScorer):
        super().__init__(samples, params, engine)
        self.full = full

    def fit(self, refs):
        wd = super().fit(refs)
        r = np.asarray(refs, int)
        d = self.distances(r, r)
        iu = np.triu_indices(len(r), 1)
        wd["std"] = float(d[iu].std()) if len(r) > 2 else 1.0
        wd["per_ref"] = (d.sum(1) / max(len(r) - 1, 1)) if len(r) > 1 else np.ones(len(r))
        fd = self.full.distances(r, r)
        wd["full_scale"] = float(fd[iu].mean()) if len(r) > 1 else 1.0
        return wd

    def features(self, wd, queries):
        q = np.asarray(queries, int)
        d = self.distances(q, wd["refs"])
        s = wd["scale"]
        base = np.column_stack([d.min(1) / s, d.mean(1) / s])
        t = d / np.maximum(wd["per_ref"][None, :], 1e-9)
        tnorm = np.column_stack([t.min(1), t.mean(1)])
        z = ((d.min(1) - s) / max(wd["std"], 1e-9))[:, None]
        fd = self.full.distances(q, wd["refs"]) / wd["full_scale"]
        full = np.column_stack([fd.min(1), fd.mean(1)])
        return np.column_stack([base, tnorm, z, full])


GROUPS = {"base": [0, 1], "tnorm": [2, 3], "z": [4], "full": [5, 6]}
COMBOS = [["base"], ["tnorm"], ["base", "z"], ["base", "tnorm"], ["base", "full"], ["tnorm", "full"], ["base", "tnorm", "full"],
          ["base", "tnorm", "z", "full"]]  # fmt: skip


def rows_for(folder, params, engine, seeds):
    samples, _ = scan_stroke_writers(folder)
    full = StrokeScorer(samples, OnlineParams(rate_hz=params.rate_hz, window=params.window, channels="full"))
    scorer = VariantScorer(samples, params, engine, full)
    return validation_rows(scorer, 5, seeds, random=False)


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--svc", required=True)
    ap.add_argument("--susig", required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    engine = Engine.load()
    params = load_params(engine.model_version)
    data = {name: rows_for(f, params, engine, range(a.seeds)) for name, f in (("svc", a.svc), ("susig", a.susig))}
    folds = {}
    for name, r in data.items():
        writers = np.unique(r["writer"])
        fold_of = {w: i % 5 for i, w in enumerate(writers)}
        folds[name] = np.array([fold_of[w] for w in r["writer"]])
    out = {}
    for combo in COMBOS:
        cols = [c for g in combo for c in GROUPS[g]]
        res = {}
        for kind in ("online", "fused"):
            held = {name: np.zeros(len(r["label"])) for name, r in data.items()}
            for k in range(5):
                X, y = [], []
                for name, r in data.items():
                    m = folds[name] != k
                    x = r["feats"][m][:, cols]
                    if kind == "fused":
                        x = np.column_stack([logit(r["image"][m]), x])
                    X.append(x)
                    y.append(r["label"][m])
                w, b = fit_logistic(np.concatenate(X), np.concatenate(y))
                for name, r in data.items():
                    m = folds[name] == k
                    x = r["feats"][m][:, cols]
                    if kind == "fused":
                        x = np.column_stack([logit(r["image"][m]), x])
                    held[name][m] = x @ np.array(w) + b
            for name, r in data.items():
                g = r["label"] > 0
                res[f"{kind}_{name}"] = round(100 * eer(held[name][g], held[name][~g])[0], 2)
        out["+".join(combo)] = res
        print("+".join(combo), res, flush=True)
    for name, r in data.items():
        g = r["label"] > 0
        print(name, "image", round(100 * eer(r["image"][g], r["image"][~g])[0], 2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
