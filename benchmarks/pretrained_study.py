"""Which frozen-Lite0 decision to ship? Measured on validation writers only.

    python benchmarks/pretrained_study.py --features cache/lite0_bf16.npz [--variants base no_wi ...]
        [--folds 4] [--baseline ml/weights/sigweb.pt [--fuse]] [--json docs/results/lite0/validation_study.json]

Reads cached pooled features of NON-test writers (``python -m ml.features``; a test-writer
file is refused), splits them writer-disjointly as ``ml.pretrained`` does, builds each
variant's decision on the decision-training writers and scores the validation writers with
the project's cross-validated protocol (``ml.decision_fit.cv_scores``: calibrator and per-bucket
thresholds fitted on the other folds' writers). Reports, per dataset and reference count,
global skilled EER and FRR / skilled FAR / random FAR at the fold thresholds.

``--baseline MODEL`` adds a trained checkpoint (the shipped sigfast) on the same writers
and split: its embeddings with its own shipped decision features (``ml.writer``, its
random-forgery bank) as ``<arch>_v1``, and with the v2 decision built on the same
decision-training writers as ``<arch>_v2``; both calibrated by the same cross-validation.
The shipped sigfast was trained on most non-test writers, validation writers included, so
the baseline is favoured.

Variants: ``base`` (``ml.pretrained.RECIPE``), ``raw`` (no feature standardisation),
``no_skilled`` (SVM negatives: genuine signatures only), ``no_wi`` (the WI columns zeroed
before calibration), ``svm_only`` (the SVM margin alone), ``head256`` / ``head512`` (a
projection head trained on the decision-training writers' cached features,
``ml.pretrained.train_head``).

``--fuse`` (with ``--baseline``) adds ``fused_<variant>`` rows: the baseline checkpoint's
embeddings and the features' embeddings side by side as ``ml.models.Ensemble`` joins them,
decided by the variant's recipe.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ml.decision import FEATURES, Decision
from ml.decision_fit import cv_scores, only_features, protocol_rows, summarize_cv
from ml.engine import Engine
from ml.features import load_features
from ml.fused import fused_parts
from ml.pretrained import RECIPE, build_parts, checkpoint_embeddings, decision_parts, samples_of, split
from ml.writer import protocol_features

VARIANTS = {
    "base": ({}, None),
    "raw": ({"standardize": False}, None),
    "no_skilled": ({"skilled_weight": 0.0}, None),
    "no_wi": ({}, [FEATURES.index("wi_mean"), FEATURES.index("wi_max")]),
    "svm_only": ({}, [i for i, f in enumerate(FEATURES) if f != "svm"]),
    "head256": ({"head_dim": 256}, None),
    "head512": ({"head_dim": 512}, None),
}
HEADLINE = (("cedar", "r10"), ("cedar", "r1"), ("sigcomp2011_dutch", "r5"), ("bhsig_bengali", "r10"))


def zero_columns(rows: list[dict], cols) -> list[dict]:
    return only_features(rows, [f for i, f in enumerate(FEATURES) if i not in set(cols)])


def headline(summary: dict) -> float:
    """The selection figure: mean validation skilled EER over the issue's four targets."""
    return float(np.mean([summary[ds][p]["eer_skilled"] for ds, p in HEADLINE if ds in summary and p in summary[ds]]))


def baseline_rows(fz: dict, engine: Engine, emb: np.ndarray, seeds) -> dict:
    """Protocol rows of a trained checkpoint on the same samples and split: {name: rows}."""
    samples = samples_of(fz)
    train_idx, val_idx = split(fz, RECIPE["val_fraction"], RECIPE["split_seed"])
    base, val_emb = decision_parts(samples, emb, train_idx, val_idx, {})
    v1 = []
    for n_refs in (1, 3, 5, 10):
        for seed in seeds:
            for w, r, f in protocol_features(val_emb, n_refs, seed, engine.negatives, C=engine.svm_c):
                v1.append({"writer": w, "refs": r, "protocol": n_refs, "seed": seed, **f})
    return {f"{engine.arch}_v1": v1, f"{engine.arch}_v2": protocol_rows(Decision(base), val_emb, seeds=tuple(seeds))}


def variant_rows(variants, seeds, parts):
    """(name, protocol rows, info, start time) of each variant; ``parts(recipe)`` -> (base decision,
    validation embeddings, info), made once per distinct recipe."""
    cache: dict = {}
    for name in variants:
        recipe, cols = VARIANTS[name]
        key = json.dumps(recipe, sort_keys=True)
        t0 = time.time()
        if key not in cache:
            base, val_emb, info = parts(recipe)
            cache[key] = (protocol_rows(Decision(base), val_emb, seeds=tuple(seeds)), info)
        rows, info = cache[key]
        yield name, zero_columns(rows, cols) if cols else rows, info, t0


def report(res: dict, name: str, rows: list[dict], folds: int, t0: float, **extra) -> None:
    summary = summarize_cv(cv_scores(rows, folds))
    seconds = round(time.time() - t0)
    res["variants"][name] = {"headline_mean_eer": headline(summary), "summary": summary, **extra, "seconds": seconds}
    print(
        json.dumps(
            {
                name: res["variants"][name]["headline_mean_eer"],
                **{f"{ds}/{p}": round(v["eer_skilled"], 4) for ds, d in summary.items() for p, v in d.items()},
            }
        ),
        flush=True,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", required=True)
    ap.add_argument("--variants", nargs="+", default=["base", "no_wi", "svm_only"])
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="protocol seeds of the rows")
    ap.add_argument("--baseline", default=None, help="a trained checkpoint to compare on the same writers")
    ap.add_argument("--fuse", action="store_true", help="also the baseline's embeddings and these features' side by side")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    fz = load_features(a.features)
    if fz["meta"].get("test_writers"):
        raise SystemExit("refusing to select on test-writer features")
    res = {"features": a.features, "meta": fz["meta"], "folds": a.folds, "seeds": a.seeds, "variants": {}}
    for name, rows, info, t0 in variant_rows(a.variants, a.seeds, lambda recipe: build_parts(fz, recipe)[1:]):
        report(res, name, rows, a.folds, t0, validation_writers=len(info["validation_writers"]))
    if a.baseline:
        t0 = time.time()
        engine = Engine.load(a.baseline)
        other = checkpoint_embeddings(fz, engine)
        for name, rows in baseline_rows(fz, engine, other, a.seeds).items():
            report(res, name, rows, a.folds, t0, model=a.baseline)
        if a.fuse:
            for name, rows, _, t0 in variant_rows(a.variants, a.seeds, lambda recipe: fused_parts(fz, other, recipe)[1:4]):
                report(res, f"fused_{name}", rows, a.folds, t0, model=a.baseline)
    text = json.dumps(res, indent=1)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
