"""Reference-set consistency with within-identity covariance normalisation (WCCN), fitted on
TRAINING writers (never validation ones), cross-media identities included: does it keep the
whitening's gain on mixed paper sets without refusing more cross-media genuine sets?

    SHRINKAGES=0.01,0.1,1.0 PYTHONPATH=. .venv/bin/python research/2026-12-01-consistency-transform/wccn.py \\
        --json docs/results/consistency_wccn_val.json

The within-identity covariance S_w is the mean over training identities (a CEDAR, Bengali or
Dutch writer; a cross-media writer's name across paper, iPad and phone) of the covariance of
their genuine embeddings; the transform is x -> (S_w + s * mean eigenvalue * I)^(-1/2) (x - mean).
Measured like ``per_dataset.py``: per dataset, the share of genuine and mixed sets refused at
3, 4 and 5 references, threshold at 1% genuine on the paper datasets.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from consistency_rates import FIT_DATASETS, data_root, validation_writers

from ml import consistency as cons
from ml.data import preprocess_all, split_validation, training_writers
from ml.engine import Engine
from ml.train import split_seed

SHRINKAGES = [float(x) for x in os.environ.get("SHRINKAGES", "0.01,0.1,1.0").split(",")]


def training_embeddings(engine: Engine, root: Path, per_dataset: int, seed: int = 0) -> dict[str, np.ndarray]:
    """{identity: (G, D)} of up to ``per_dataset`` training identities per dataset (genuine only)."""
    cfg = engine.checkpoint["config"]
    samples = training_writers(root, cfg["data"]["datasets"])
    train, _ = split_validation(samples, cfg["data"]["val_fraction"], split_seed(cfg))
    train = [s for s in train if s.label == "genuine"]
    rng = np.random.default_rng(seed)
    keep = set()
    for ds in sorted({s.dataset for s in train}):
        ids = sorted({s.writer for s in train if s.dataset == ds})
        keep |= set(rng.choice(ids, min(per_dataset, len(ids)), replace=False))
    chosen = [s for s in train if s.writer in keep]
    images, ok = preprocess_all([s.path for s in chosen], Path("cache"), workers=2)
    emb = engine.embed_images(images[ok])
    out: dict[str, list] = {}
    for s, e in zip([s for s, k in zip(chosen, ok) if k], emb):
        out.setdefault(s.writer, []).append(e)
    return {w: np.stack(v).astype(np.float64) for w, v in out.items() if len(v) >= 2}


def wccn(by_id: dict[str, np.ndarray], shrinkage: float):
    allv = np.concatenate(list(by_id.values()))
    mu = allv.mean(0)
    sw = sum(np.cov(v.T, bias=True) * len(v) for v in by_id.values()) / len(allv)
    lam, u = np.linalg.eigh(sw)
    w = u @ np.diag(1 / np.sqrt(lam.clip(0) + shrinkage * lam.mean())) @ u.T
    return lambda x: (x - mu) @ w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-dataset", type=int, default=80, help="training identities per dataset")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(2)
    engine = Engine.load()
    root = data_root(engine, None)
    writers = validation_writers(engine, root, Path("cache"))
    by_id = training_embeddings(engine, root, a.per_dataset)
    print(f"{len(by_id)} training identities, {sum(len(v) for v in by_id.values())} signatures", flush=True)
    variants = {"none": lambda x: x, **{f"wccn_{s}": wccn(by_id, s) for s in SHRINKAGES}}
    res = {"model": engine.model_version, "training_identities": len(by_id), "variants": {}}
    for name, f in variants.items():
        tw = {w: {**d, "genuine": f(d["genuine"].astype(np.float64)).astype(np.float32)} for w, d in writers.items()}
        rule, scored = cons.fit_rule(tw, FIT_DATASETS, 100, 0, 0.01, [3, 4, 5], name)
        res["variants"][name] = {}
        for r in (3, 4, 5):
            t = rule.threshold(r)
            row = {
                ds: {k: round(float(np.mean(s < t)) * 100, 1) for k, (s, _) in kinds.items() if len(s)}
                for ds, kinds in scored[r].items()
            }
            res["variants"][name][str(r)] = {"threshold": t, "refused_percent": row}
            print(name, r, round(t, 3), json.dumps(row), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
