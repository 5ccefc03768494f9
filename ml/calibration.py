"""Calibration of the writer-dependent decision on validation writers.

``calibrate(src, dst)`` adds to a trained checkpoint what the engine needs to decide:
a bank of random-forgery negatives (genuine signatures of training writers), the
calibrators of ``ml.writer`` fitted per reference-count bucket, and the global threshold
at the validation-writer EER. Test writers are never read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ml import checkpoint as ckpt
from ml.buckets import BUCKET_REFS
from ml.config import DEFAULTS
from ml.data import Sample, group_by_writer, training_writers
from ml.engine import embed_batches
from ml.metrics import eer
from ml.validation import split_images, validation_images
from ml.writer import Calibrator, bucket_name, protocol_features


def pick_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else CPU; any other name as torch spells it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def negative_bank(samples: list[Sample], emb: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` genuine embeddings of training writers, spread evenly over writers."""
    rng = np.random.default_rng(seed)
    by: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        if not s.forged:
            by.setdefault(s.writer, []).append(i)
    per = max(1, math.ceil(n / max(1, len(by))))
    idx = []
    for w in sorted(by):
        ids = by[w]
        idx.extend(rng.choice(ids, min(per, len(ids)), replace=False).tolist())
    idx = rng.permutation(idx)[:n]
    return emb[np.sort(idx)]


def operating_point(val_emb: dict, negatives: np.ndarray, calib: Calibrator, cal: dict, n_refs: int) -> dict:
    """The validation-writer EER point of the calibrated decision with ``n_refs`` references
    (genuine vs skilled forgeries; random where a set has none), pooled over ``cal["seeds"]``."""
    g, neg_s, neg_r = [], [], []
    for seed in cal["seeds"]:
        for _, r, f in protocol_features(val_emb, n_refs, seed, negatives, C=cal["svm_c"]):
            g.append(calib.score(f["genuine"], r))
            neg_s.append(calib.score(f["skilled"], r))
            neg_r.append(calib.score(f["random"], r))
    g, neg_s, neg_r = np.concatenate(g), np.concatenate(neg_s), np.concatenate(neg_r)
    primary = neg_s if neg_s.size else neg_r
    val_eer, threshold = eer(g, primary)
    return {
        "eer": float(val_eer),
        "threshold": float(threshold),
        "against": "skilled" if neg_s.size else "random",
        "eer_random": eer(g, neg_r)[0] if neg_r.size else None,
    }


def operating_point_text(against: str, threshold_refs: int) -> str:
    """How the operating points were fixed, as the checkpoint records it (``decision.operating_point``)."""
    per_bucket = ", ".join(f"{r} ({b})" for b, r in BUCKET_REFS.items())
    head = f"validation-writer EER (genuine vs {against} forgeries), {threshold_refs} references"
    return f"{head}; per bucket at {per_bucket} references"


def operating_points(val_emb: dict, negatives: np.ndarray, calib: Calibrator, cal: dict) -> tuple[dict, dict]:
    """(``{bucket: threshold}``, one operating point per reference-count bucket (``BUCKET_REFS``);
    the ``operating_point`` at ``cal["threshold_refs"]``, the global one), each count scored once."""
    tr = cal["threshold_refs"]
    ops = {r: operating_point(val_emb, negatives, calib, cal, r) for r in sorted({*BUCKET_REFS.values(), tr})}
    return {b: ops[r]["threshold"] for b, r in BUCKET_REFS.items()}, ops[tr]


def calibration_data(val_emb: dict, negatives: np.ndarray, cal: dict) -> dict:
    """Decision features of the validation writers per calibrator bucket (``ml.writer.BUCKETS``),
    at the counts ``cal["refs"]`` and at every count an operating point is fitted at."""
    feats: dict[str, dict[str, list]] = {}
    for n_refs in sorted(set(cal["refs"]) | set(BUCKET_REFS.values())):
        for seed in cal["seeds"]:
            for _, r, f in protocol_features(val_emb, n_refs, seed, negatives, C=cal["svm_c"]):
                parts = feats.setdefault(bucket_name(r), {"genuine": [], "skilled": [], "random": []})
                for kind, arr in f.items():
                    parts[kind].append(arr)
    return {b: {k: np.concatenate(v) for k, v in parts.items()} for b, parts in feats.items()}


def calibrate_decision(val_emb: dict, negatives: np.ndarray, cal: dict) -> tuple[dict, dict]:
    """Fit calibrators and one operating point per reference-count bucket on validation writers;
    the global threshold is the bucket of ``cal["threshold_refs"]`` references. Every count an
    operating point is fitted at is calibrated too (a bucket's calibrator fitted only on the few
    writers with too few signatures for a larger count scored everyone near 1). Returns
    (decision, report)."""
    calib = Calibrator().fit(calibration_data(val_emb, negatives, cal), mode=cal["mode"])
    thresholds, op = operating_points(val_emb, negatives, calib, cal)
    decision = {
        "calibrator": calib.params,
        "threshold": op["threshold"],
        "thresholds": thresholds,
        "operating_point": operating_point_text(op["against"], cal["threshold_refs"]),
        "negatives": torch.from_numpy(negatives.astype(np.float16)),
        "svm_c": float(cal["svm_c"]),
    }
    report = {"val_eer_calibrated": op["eer"], "threshold": op["threshold"], "val_eer_random_calibrated": op["eer_random"]}
    return decision, report


TRAINING_ONLY_KEYS = ("optimizer", "scheduler", "loss_state", "rng", "history", "_path")


def calibrate(src, dst, cfg: dict | None = None, train_data=None, val_data=None, train_minutes=None) -> Path:
    """Add the calibrated writer-dependent decision to a trained checkpoint, written to ``dst``.

    ``train_data`` and ``val_data`` (``(images, samples)`` pairs) skip preprocessing when
    the caller already holds them; otherwise the checkpoint's config rebuilds its split.
    """
    ck = ckpt.load(src)
    cfg = cfg or ck["config"]
    model = ckpt.build_model(ck)
    device = pick_device(cfg.get("device", "auto"))
    model.to(device)
    if train_data is None or val_data is None:
        samples = training_writers(cfg["data"]["root"], cfg["data"]["datasets"])
        train_data, val_data = split_images(samples, cfg)
    tx, ts = train_data
    vx, vs = val_data
    cal = {**DEFAULTS["calibration"], **cfg.get("calibration", {})}
    bank_idx = [i for i, s in enumerate(ts) if not s.forged]
    bank_emb = embed_batches(model, tx[bank_idx], device, 128)
    negatives = negative_bank([ts[i] for i in bank_idx], bank_emb, cal["negatives"], cfg["seed"])
    val_emb = group_by_writer(vs, embed_batches(model, vx, device, 128))
    decision, report = calibrate_decision(val_emb, negatives, cal)
    out = {k: v for k, v in ck.items() if k not in TRAINING_ONLY_KEYS}
    out["decision"] = decision
    out["metrics"] = {**ck.get("metrics", {}), **report}
    if train_minutes is not None:
        out["metrics"]["train_minutes"] = round(train_minutes, 1)
    out["validation_writers"] = sorted(val_emb)
    ckpt.save(out, dst)
    print(json.dumps({"calibrated": str(dst), **report}), flush=True)
    return Path(dst)


def refit_buckets(src, dst) -> dict:
    """Bring a checkpoint calibrated before per-bucket operating points up to date, on the
    validation writers of its own config's split: calibrators for the buckets none of its
    calibration counts fell in (fitted as ``calibrate_decision`` fits them), and one operating
    point per bucket (``operating_points``; the global threshold becomes the one at
    ``threshold_refs``). The calibrators of the other buckets and the negatives are kept.
    Returns ``{"refitted": [...], "thresholds": {...}}``."""
    ck = ckpt.load(src, require_decision=True)
    cfg = ck["config"]
    cal = {**DEFAULTS["calibration"], **cfg.get("calibration", {})}
    model = ckpt.build_model(ck)
    device = pick_device(cfg.get("device", "auto"))
    model.to(device)
    vx, vs = validation_images(cfg)
    val_emb = group_by_writer(vs, embed_batches(model, vx, device, 128))
    decision = ck["decision"]
    negatives = decision["negatives"].float().numpy()
    sampled = {bucket_name(r) for r in cal["refs"]}
    fresh = Calibrator().fit(calibration_data(val_emb, negatives, cal), mode=cal["mode"]).params
    refitted = sorted(b for b in fresh if b not in sampled)
    calib = Calibrator({**decision["calibrator"], **{b: fresh[b] for b in refitted}})
    thresholds, op = operating_points(val_emb, negatives, calib, cal)
    out = {k: v for k, v in ck.items() if k not in TRAINING_ONLY_KEYS}
    out["decision"] = {
        **decision,
        "calibrator": calib.params,
        "threshold": op["threshold"],
        "thresholds": thresholds,
        "operating_point": operating_point_text(op["against"], cal["threshold_refs"]),
    }
    ckpt.save(out, dst)
    return {"refitted": refitted, "thresholds": thresholds}
