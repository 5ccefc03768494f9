"""Validation rows with random forgeries for the random-negative study (validation users only).

    python research/2026-11-30-online-random/rows.py --svc VAL_SVC --susig VAL_SUSIG --random 60 \\
        --out cache/random_rows.npz

Per dataset, writer and seed (5 references, seeds 0-4): image score and the shipped online
features (``ml/online/params.json``: base+tnorm+global, 26 columns) of genuine queries, skilled
forgeries and ``--random`` random forgeries, i.e. genuine signatures of other validation users
(``ml.online.fitting.validation_rows``). Users are split in 5 folds per dataset (sorted writer
names, i % 5, as in research/2026-11-30-online-global/combos.py); a writer's random forgeries
come from writers of its own fold only, so held-out folds stay apart. Test users are refused.
"""

import argparse

import numpy as np
import torch

from ml.engine import Engine
from ml.online.convert import test_user_folders
from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.fitting import validation_rows
from ml.online.verifier import load_params


def folds_of(writers) -> dict:
    return {w: i % 5 for i, w in enumerate(sorted(set(writers)))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--svc", required=True)
    ap.add_argument("--susig", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--random", type=int, default=60, help="random forgeries per writer and seed")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    for f in (a.svc, a.susig):
        if test_user_folders(f):
            raise SystemExit(f"{test_user_folders(f)[0]}: a test user")
    engine = Engine.load()
    params = load_params(engine.model_version)
    out = {}
    for name, folder in (("svc", a.svc), ("susig", a.susig)):
        samples, _ = scan_stroke_writers(folder)
        scorer = StrokeScorer(samples, params, engine)
        groups = folds_of(s.writer for s in scorer.samples)
        r = validation_rows(scorer, 5, range(a.seeds), random=a.random, groups=groups)
        for k, v in r.items():
            out[f"{name}_{k}"] = v
        out[f"{name}_fold"] = np.array([groups[w] for w in r["writer"]])
        print(name, len(r["label"]), {k: int((r["kind"] == k).sum()) for k in ("genuine", "skilled", "random")}, flush=True)
    np.savez(a.out, **out)


if __name__ == "__main__":
    main()
