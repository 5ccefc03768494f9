"""Two models' embeddings side by side in one checkpoint: a trained network (sigfast) and the
Lite0 trunk with its tuned tail (issue 12).

    python -m ml.fused --model ml/weights/sigweb.pt --features runs/lite0_tuned_e24/features.npz \\
        --recipe configs/lite0_tuned.yaml --out cache/fused.pt

The embedding is ``ml.models.Ensemble`` of the two: each unit length, concatenated, scaled by
1/sqrt(2), so the cosine of two embeddings is the mean of the two models' cosines. The
decision is ``ml.pretrained``'s recipe on the joined embeddings: the random- and
skilled-forgery banks and the writer-independent model from the decision-training writers of
its writer-disjoint split, the calibrator and per-bucket operating points on its validation
writers. ``benchmarks/pretrained_study.py --baseline MODEL --fuse`` scores the same
construction by cross-validation on those validation writers. Test writers are never read.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ml import checkpoint as ckpt
from ml.data import preprocess_all
from ml.engine import Engine, embed_batches
from ml.errors import CheckpointError
from ml.pretrained import (
    RECIPE,
    build_from_files,
    build_parts,
    calibrated_checkpoint,
    checkpoint_embeddings,
    decision_parts,
    embed_features,
    lite0_kwargs,
    samples_of,
    split,
)


def join(*embeddings: np.ndarray) -> np.ndarray:
    """Unit-length embeddings side by side, as ``ml.models.Ensemble`` joins its members."""
    return np.concatenate(embeddings, axis=1) / np.sqrt(len(embeddings))


def fused_parts(fz: dict, other: np.ndarray, recipe: dict):
    """(Lite0 model, base decision, validation embeddings by writer, info, joined embeddings of
    every cached sample) for ``other`` (another model's embeddings of the same samples) beside
    the cached features' Lite0 embeddings."""
    r = {**RECIPE, **recipe}
    lite, _, _, info = build_parts(fz, r)
    emb = join(other, embed_features(lite, fz["features"]))
    train_idx, val_idx = split(fz, r["val_fraction"], r["split_seed"])
    base, val_emb = decision_parts(samples_of(fz), emb, train_idx, val_idx, r)
    return lite, base, val_emb, info, emb


def build_checkpoint(model_path: str, fz: dict, recipe: dict | None = None, cache_dir="cache") -> tuple[dict, dict]:
    """The calibrated ensemble checkpoint and its calibration report; the samples' images are
    preprocessed again for the partner network (kept in ``cache_dir``)."""
    engine = Engine.load(model_path)
    canvas = tuple(fz["meta"]["model_kwargs"]["canvas"])
    if tuple(engine.canvas) != canvas:
        raise CheckpointError(f"{model_path} reads a {engine.canvas} canvas, the features a {canvas} one")
    partner = engine.checkpoint
    if partner["arch"] == "ensemble":
        raise CheckpointError(f"{model_path} is already an ensemble")
    partner_of = {"path": model_path, "sha256": ckpt.file_hash(model_path), "model_version": engine.model_version}
    other = checkpoint_embeddings(fz, engine, cache_dir)
    lite, base, val_emb, info, emb = fused_parts(fz, other, recipe or {})
    lite_kwargs = lite0_kwargs(info)
    members = [
        {"arch": partner["arch"], "kwargs": dict(partner.get("arch_kwargs") or {})},
        {"arch": "lite0", "kwargs": lite_kwargs},
    ]
    state = {f"members.0.{k}": v for k, v in partner["state_dict"].items()}
    state.update({f"members.1.{k}": v.detach().cpu().clone() for k, v in lite.state_dict().items()})
    preprocess = {
        "version": partner["preprocess"]["version"],
        "canvas": list(canvas),
        "input": "ink bright on black in [0, 1]; the Lite0 member inverts, replicates to RGB and applies "
        "ImageNet mean/std (ml.backbones)",
        "precision": lite_kwargs["precision"],
    }
    ck, report = calibrated_checkpoint(
        "ensemble", {"members": members}, state, preprocess, base, val_emb, info, fz, partner=partner_of
    )
    # the network as shipped must give the embeddings the decision was fitted on
    n = min(16, len(emb))
    imgs, _ = preprocess_all([str(p) for p in fz["path"][:n]], cache_dir, 1, canvas=canvas)
    got = embed_batches(ckpt.build_model(ck), imgs, torch.device("cpu"), n)
    gap = float(np.abs(got - emb[:n]).max())
    if gap > 1e-2:
        raise CheckpointError(f"the assembled ensemble's embeddings differ from the fitted ones by {gap:.4f}")
    report["assembly_max_abs_gap"] = gap
    return ck, report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="the trained network's calibrated checkpoint (sigfast)")
    ap.add_argument("--features", required=True, help="Lite0 features of non-test writers (ml.finetune's features.npz)")
    ap.add_argument("--recipe", default=None, help="YAML file overriding ml.pretrained.RECIPE")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    build_from_files(a.features, a.recipe, a.out, lambda fz, recipe: build_checkpoint(a.model, fz, recipe))


if __name__ == "__main__":
    main()
