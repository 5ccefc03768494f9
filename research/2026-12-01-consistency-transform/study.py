"""Reference-set consistency: does transforming the embeddings before the weakest-split
statistic refuse more mixed 5-reference sets at the same 1% genuine budget?
Validation writers of the shipped model only (benchmarks/consistency_rates.py's split).

    PYTHONPATH=. .venv/bin/python research/2026-12-01-consistency-transform/study.py \\
        --json docs/results/consistency_transform_val.json

Transforms, each fitted on the checkpoint's negatives bank (genuine signatures of training
writers, never validation ones):
- ``none``: the shipped statistic (unit vectors, cosine);
- ``center``: minus the bank's mean;
- ``standardize``: minus the mean, divided by each coordinate's standard deviation;
- ``whiten_s``: PCA whitening of the centred bank with shrinkage s (eigenvalue + s x their mean),
  s from the environment variable ``SHRINKAGES`` (default ``0.1,1.0``).

Decision rule, fixed before the run: adopt a transform only if, writer-disjointly
cross-validated at 5 references (4 folds, as the shipped figures), it refuses at least 2
points more of the 4+1 sets and no fewer 3+2 sets, with genuine refusals within 1.5%.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from consistency_rates import FIT_DATASETS, cv_at, data_root, validation_writers

from ml import consistency as cons
from ml.engine import Engine

SHRINKAGES = [float(x) for x in __import__("os").environ.get("SHRINKAGES", "0.1,1.0").split(",")]


def transforms(neg: np.ndarray) -> dict:
    mu = neg.mean(0)
    sd = neg.std(0) + 1e-6
    c = neg - mu
    lam, u = np.linalg.eigh(c.T @ c / len(c))
    out = {"none": lambda x: x, "center": lambda x: x - mu, "standardize": lambda x: (x - mu) / sd}
    for s in SHRINKAGES:
        w = u @ np.diag(1 / np.sqrt(lam.clip(0) + s * lam.mean())) @ u.T
        out[f"whiten_{s}"] = lambda x, w=w: (x - mu) @ w
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--per-writer", type=int, default=100)
    a = ap.parse_args()
    torch.set_num_threads(1)
    engine = Engine.load()
    writers = validation_writers(engine, data_root(engine, None), Path("cache"))
    res = {"model": engine.model_version, "negatives": int(len(engine.negatives)), "variants": {}}
    for name, f in transforms(engine.negatives.astype(np.float64)).items():
        tw = {w: {**d, "genuine": f(d["genuine"].astype(np.float64)).astype(np.float32)} for w, d in writers.items()}
        rule, scored = cons.fit_rule(tw, FIT_DATASETS, a.per_writer, 0, 0.01, [5], name)
        t = rule.threshold(5)
        pooled = {}
        for ds in FIT_DATASETS:
            for kind, (s, _) in scored[5].get(ds, {}).items():
                pooled.setdefault(kind, []).append(s)
        in_sample = {k: float(np.mean(np.concatenate(v) < t)) for k, v in pooled.items()}
        cv = cv_at(tw, 5, FIT_DATASETS, 4, a.per_writer, 0, 0.01)["overall_fit_datasets"]
        res["variants"][name] = {
            "threshold": t,
            "in_sample": in_sample,
            "cross_validated": {k: v["refused"] for k, v in cv.items()},
        }
        print(name, json.dumps(res["variants"][name]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
