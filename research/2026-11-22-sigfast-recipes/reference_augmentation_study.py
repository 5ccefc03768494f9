"""Do augmented copies of a customer's references make a better writer-dependent decision?

    python research/2026-11-22-sigfast-recipes/reference_augmentation_study.py \\
        [--model ml/weights/sigweb.pt] [--copies 8] [--json OUT]

Enrollment happens once, so anything done to the references is free at query time: the
query is embedded once, as now. This study embeds ``--copies`` augmented versions
(``ml.augment.BatchAugment``, the training run's geometric settings, or the stronger
defaults) of every validation signature and compares decisions that use them:

- ``base``: the shipped decision (references alone);
- ``svm_aug``: the writer's SVM is trained on the references *and* their augmented
  copies (more positives, and some of the writer's variability, for the exemplar SVM);
  similarity features still use the references alone;
- ``all_aug``: the copies also count as references for the similarity features.

Each variant is scored like the selection rule (``ml.selection``: ``skilled_half``
calibration, writer-disjoint cross-validation on the checkpoint's validation writers,
global EER against skilled and random forgeries). Test writers are never read.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from ml.augment import AugmentConfig, BatchAugment
from ml.data import group_by_writer
from ml.engine import Engine
from ml.selection import PROTOCOL_REFS, PROTOCOL_SEEDS, collect, study, write_json
from ml.validation import validation_images
from ml.writer import features, fit_writer, protocol

MODE = "skilled_half"


def augmented_embeddings(engine: Engine, images: np.ndarray, copies: int, cfg: AugmentConfig, seed: int) -> np.ndarray:
    """(N, H, W) uint8 images -> (N, copies + 1, D): the original embedding first."""
    aug = BatchAugment(cfg, torch.Generator().manual_seed(seed))
    out = [engine.embed_images(images)]
    x = torch.as_tensor(images).float().div(255.0).unsqueeze(1)
    for _ in range(copies):
        parts = [aug(x[i : i + 256]) for i in range(0, len(x), 256)]
        out.append(engine.embed_images(torch.cat(parts)[:, 0].numpy()))
    return np.stack(out, 1)


def decision(variant: str, negatives: np.ndarray, C: float):
    """(fit, score) over (R, copies + 1, D) references and (Q, copies + 1, D) queries."""

    def fit(refs):
        wd = fit_writer(refs[:, 0], negatives, C=C)
        if variant == "base":
            return wd
        flat = refs.reshape(-1, refs.shape[-1])
        wd_aug = fit_writer(flat, negatives, C=C)
        wd["svm_w"], wd["svm_b"] = wd_aug["svm_w"], wd_aug["svm_b"]
        if variant == "all_aug":
            wd["references"] = wd_aug["references"]  # self_sim stays the references' own
        return wd

    return fit, lambda wd, q: features(wd, q[:, 0])[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument(
        "--strength",
        choices=["training", "strong"],
        default="training",
        help="the checkpoint's training augmentation, or the stronger defaults",
    )
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--refs", nargs="+", type=int, default=[5, 10, 1])
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    engine = Engine.load(a.model)
    cfg = engine.checkpoint["config"]
    aug_cfg = AugmentConfig(**(cfg.get("augment") or {})) if a.strength == "training" else AugmentConfig()
    val_x, val_s = validation_images(engine.checkpoint["config"])
    emb = augmented_embeddings(engine, val_x, a.copies, aug_cfg, seed=0)
    val_emb = group_by_writer(val_s, emb.reshape(len(emb), -1))
    dim = emb.shape[-1]
    val_emb = {w: {k: v.reshape(len(v), a.copies + 1, dim) for k, v in d.items()} for w, d in val_emb.items()}
    res = {
        "model": engine.model_version,
        "copies": a.copies,
        "strength": a.strength,
        "augment": vars(aug_cfg),
        "mode": MODE,
        "folds": a.folds,
        "variants": {},
    }
    for variant in ("base", "svm_aug", "all_aug"):
        fit, score = decision(variant, engine.negatives, engine.svm_c)

        def run(emb, n_refs, seed, fit=fit, score=score):
            return protocol(emb, n_refs, seed, fit, score)

        rows = collect(val_emb, PROTOCOL_REFS, PROTOCOL_SEEDS, run)
        out = {}
        for n_refs in a.refs:
            m = study(rows, a.folds, n_refs, modes=(MODE,))[MODE]
            out[str(n_refs)] = {"eer_skilled": m["eer_skilled"], "eer_random": m["eer_random"]}
        res["variants"][variant] = out
        print(variant, {k: round(v["eer_skilled"] * 100, 2) for k, v in out.items()}, file=sys.stderr, flush=True)
    print(write_json(res, a.json))


if __name__ == "__main__":
    main()
