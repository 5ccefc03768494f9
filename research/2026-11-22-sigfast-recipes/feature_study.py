"""Would more decision features help? Measured on validation writers only.

    python research/2026-11-22-sigfast-recipes/feature_study.py [--model ml/weights/sigweb.pt] [--json OUT]

Adds candidate features to the four of ``ml.writer.FEATURES`` and compares each variant by
the same writer-disjoint 4-fold cross-validation as ``ml.selection`` (``python -m ml calibration-study``) (calibration
``skilled_half``), at 1, 5 and 10 references. Candidates, all cheap at verification time:

- ``cos_z``: mean cosine to the references, standardised by the references' own
  leave-one-out mean cosines (mean and spread; 3 or more references, else 0);
- ``cos_min``: the lowest cosine to any reference;
- ``svm_rel``: the SVM margin minus the references' mean margin (3 or more references);
- ``tnorm``: T-normalisation, the mean cosine standardised by the query's cosines to the
  random-forgery bank shipped in the checkpoint;
- ``tnorm_top``: the same against the query's 50 nearest bank signatures only.

Test writers are never read (``ml.data.training_writers`` drops them).
"""

from __future__ import annotations

import argparse

import numpy as np

import ml.writer as W
from ml.engine import Engine
from ml.selection import PROTOCOL_REFS, PROTOCOL_SEEDS, collect, study, validation_embeddings, write_json

EXTRA = ("cos_z", "cos_min", "svm_rel", "tnorm", "tnorm_top")
VARIANTS = {"base": ()} | {f"+{name}": (name,) for name in EXTRA}


def fit(refs: np.ndarray, negatives: np.ndarray, C: float) -> dict:
    wd = W.fit_writer(refs, negatives, C=C)
    r = np.asarray(wd["references"], np.float32)
    if len(r) >= 3:
        loo = ((r @ r.T).sum(1) - 1) / (len(r) - 1)
        wd["loo"] = (float(loo.mean()), float(max(loo.std(), 0.02)))
        wd["svm_ref"] = float((r @ np.asarray(wd["svm_w"], np.float32) + wd["svm_b"]).mean())
    return wd


def all_features(wd: dict, q: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """(Q, 4 + len(EXTRA)): the shipped features, then the candidates in EXTRA's order."""
    f, sims = W.features(wd, q)
    zero = np.zeros(len(q))
    cos_z = (f[:, 0] - wd["loo"][0]) / wd["loo"][1] if "loo" in wd else zero
    svm_rel = f[:, 2] - wd["svm_ref"] if "svm_ref" in wd else zero
    c = W.unit_rows(q) @ bank.T
    top = np.sort(c, 1)[:, -50:]
    tnorm = (f[:, 0] - c.mean(1)) / (c.std(1) + 1e-3)
    tnorm_top = (f[:, 0] - top.mean(1)) / (top.std(1) + 1e-3)
    return np.column_stack([f, cos_z, sims.min(1), svm_rel, tnorm, tnorm_top])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    engine = Engine.load(a.model)
    val_emb = validation_embeddings(engine)
    bank = np.asarray(engine.negatives, np.float32)
    rows = collect(
        val_emb,
        PROTOCOL_REFS,
        PROTOCOL_SEEDS,
        lambda emb, n_refs, seed: W.protocol(
            emb, n_refs, seed, lambda refs: fit(refs, bank, engine.svm_c), lambda wd, q: all_features(wd, q, bank)
        ),
    )
    names = list(W.FEATURES) + list(EXTRA)
    res = {"model": engine.model_version, "validation_identities": len(val_emb), "folds": a.folds, "variants": {}}
    for variant, extra in VARIANTS.items():
        cols = [names.index(n) for n in W.FEATURES + extra]
        sub = [{**r, **{k: r[k][:, cols] for k in ("genuine", "skilled", "random")}} for r in rows]
        res["variants"][variant] = {
            str(refs): {k: round(v, 4) for k, v in study(sub, a.folds, refs, modes=("skilled_half",))["skilled_half"].items()}
            for refs in (1, 5, 10)
        }
        print(variant, {refs: v["eer_skilled"] for refs, v in res["variants"][variant].items()}, flush=True)
    text = write_json(res, a.json)
    if not a.json:
        print(text)


if __name__ == "__main__":
    main()
