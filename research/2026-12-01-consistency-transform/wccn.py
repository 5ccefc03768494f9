"""Reference-set consistency with within-identity covariance normalisation (WCCN), fitted on
TRAINING writers (never validation ones), cross-media identities included: does it keep the
whitening's gain on mixed paper sets without refusing more cross-media genuine sets?

    SHRINKAGES=0.01,0.1,1.0 PYTHONPATH=. .venv/bin/python research/2026-12-01-consistency-transform/wccn.py \\
        --json docs/results/consistency_wccn_val.json

The transform is ``ml.consistency.fit_wccn`` on ``benchmarks/consistency_rates.training_identities``
(a CEDAR, Bengali or Dutch writer; a cross-media writer's name across paper, iPad and phone).
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
from consistency_rates import FIT_DATASETS, data_root, training_identities, validation_writers

from ml import consistency as cons
from ml.engine import Engine

SHRINKAGES = [float(x) for x in os.environ.get("SHRINKAGES", "0.01,0.1,1.0").split(",")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-dataset", type=int, default=80, help="training identities per dataset")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(2)
    engine = Engine.load()
    root = data_root(engine, None)
    writers = validation_writers(engine, root, Path("cache"))
    by_id = training_identities(engine, root, Path("cache"), a.per_dataset)
    print(f"{len(by_id)} training identities, {sum(len(v) for v in by_id.values())} signatures", flush=True)
    fitted = {f"wccn_{s}": cons.fit_wccn(by_id, s) for s in SHRINKAGES}
    variants = {"none": lambda x: x, **{k: (lambda x, t=t: cons.transform.apply(t, x)) for k, t in fitted.items()}}
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
