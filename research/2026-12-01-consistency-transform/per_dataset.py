"""Per-dataset refusal rates at 3, 4 and 5 references, shipped statistic against whitening
(shrinkage 0.01 and 0.003), the cross-media Chinese identities included. Validation writers only.

    SHRINKAGES=0.003,0.01 PYTHONPATH=. .venv/bin/python research/2026-12-01-consistency-transform/per_dataset.py
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "research/2026-12-01-consistency-transform")
from consistency_rates import FIT_DATASETS, data_root, validation_writers
from study import transforms

from ml import consistency as cons
from ml.engine import Engine


def main():
    torch.set_num_threads(1)
    engine = Engine.load()
    writers = validation_writers(engine, data_root(engine, None), Path("cache"))
    T = transforms(engine.negatives.astype(np.float64))
    for name in ("none", "whiten_0.01", "whiten_0.003"):
        f = T[name]
        tw = {w: {**d, "genuine": f(d["genuine"].astype(np.float64)).astype(np.float32)} for w, d in writers.items()}
        rule, scored = cons.fit_rule(tw, FIT_DATASETS, 100, 0, 0.01, [3, 4, 5], name)
        for r in (3, 4, 5):
            t = rule.threshold(r)
            row = {
                ds: {k: round(float(np.mean(s < t)) * 100, 1) for k, (s, _) in kinds.items() if len(s)}
                for ds, kinds in scored[r].items()
            }
            print(name, r, round(t, 3), json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
