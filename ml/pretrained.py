"""The frozen pretrained-backbone model: from cached features to a shipped checkpoint.

    python -m ml.pretrained --features cache/lite0_bf16.npz --out runs/lite0/model.pt

Stages (all on non-test writers; ``ml.features`` caches the pooled features once):

1. ``split``: writer-disjoint split of the cached samples (``ml.data.split_validation``)
   into *decision-training* writers and *validation* writers;
2. ``standardization``: per-feature mean and standard deviation of the training writers'
   pooled features (stored in the model as buffers);
3. the decision's training parts on training writers: the random-forgery bank (genuine
   signatures, ``ml.train.negative_bank``), the skilled-forgery bank (``skilled_bank``)
   and the writer-independent model (``ml.decision.fit_wi``);
4. calibration and per-bucket operating points on validation writers
   (``ml.decision_fit.fit_decision``).

The checkpoint stores the Lite0 trunk (ImageNet weights, unchanged unless the features come
from ``ml.finetune``, whose tuned last stages it then loads), the standardisation,
the canvas (224x320) and precision the features were computed with, and the decision.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch

from ml import checkpoint as ckpt
from ml.backbones import LITE0_ORIGIN
from ml.data import Sample, group_by_writer, preprocess_all, split_validation
from ml.decision import FEATURES, fit_wi
from ml.decision_fit import base_decision, fit_decision
from ml.features import load_features
from ml.models import build
from ml.preprocess import PREPROCESS_VERSION

RECIPE = {
    "val_fraction": 0.4,
    "split_seed": 0,
    "negatives": 1000,
    "skilled_negatives": 1000,
    "svm_c": 1.0,
    "skilled_weight": 1.0,
    "standardize": True,
    "calibration_mode": "skilled_half",
    "calibration_seeds": [0, 1],
    "calibration_features": list(FEATURES),  # the decision features the calibrator may weigh
    "wi_C": 1.0,
    # a projection head trained on the cached features of decision-training writers (0: none)
    "head_dim": 0,
    "head_steps": 600,
    "head_lr": 0.003,
    "head_loss": {"classification": 1.0, "forgery": 0.3, "triplet": 1.0},
}


def samples_of(fz: dict) -> list[Sample]:
    return [
        Sample(str(p), str(pe).split("/", 1)[0], str(w), str(lb), str(pe))
        for p, w, lb, pe in zip(fz["path"], fz["writer"], fz["label"], fz["person"])
    ]


def split(fz: dict, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) of a writer-disjoint split of cached samples."""
    samples = samples_of(fz)
    _, val = split_validation(samples, val_fraction, seed)
    val_p = {s.person for s in val}
    is_val = np.array([s.person in val_p for s in samples])
    return np.nonzero(~is_val)[0], np.nonzero(is_val)[0]


def embed_features(model, pooled: np.ndarray) -> np.ndarray:
    """Cached pooled features -> embeddings through the model's standardisation and head."""
    with torch.inference_mode():
        return model.embed_pooled(torch.from_numpy(np.asarray(pooled, np.float32))).numpy()


def checkpoint_embeddings(fz: dict, engine, cache_dir="cache") -> np.ndarray:
    """A trained checkpoint's (``ml.engine.Engine``) embeddings of the cached samples, in order
    (their images preprocessed again, kept in ``cache_dir``)."""
    imgs, ok = preprocess_all([str(p) for p in fz["path"]], cache_dir, 1, canvas=engine.canvas)
    if not ok.all():
        raise ValueError(f"{int((~ok).sum())} cached samples could not be preprocessed again")
    return engine.embed_images(imgs)


def skilled_bank(samples: list[Sample], emb: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` skilled-forgery embeddings of training writers, spread evenly over writers."""
    rng = np.random.default_rng(seed)
    by: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        if s.forged:
            by.setdefault(s.writer, []).append(i)
    per = max(1, math.ceil(n / max(1, len(by))))
    idx = []
    for w in sorted(by):
        idx.extend(rng.choice(by[w], min(per, len(by[w])), replace=False).tolist())
    idx = rng.permutation(idx)[:n] if idx else np.zeros(0, int)
    return emb[np.sort(idx)] if len(idx) else emb[:0]


def decision_parts(samples: list[Sample], emb: np.ndarray, train_idx, val_idx, recipe: dict):
    """(base decision, validation embeddings by writer) for any embeddings of ``samples``:
    the banks and the WI model from the training indices, nothing from validation."""
    from ml.train import negative_bank  # training module: imported only where needed

    r = {**RECIPE, **recipe}
    ts = [samples[i] for i in train_idx]
    te = emb[train_idx]
    gen = [i for i, s in enumerate(ts) if not s.forged]
    negatives = negative_bank([ts[i] for i in gen], te[gen], r["negatives"], r["split_seed"])
    skilled = skilled_bank(ts, te, r["skilled_negatives"], r["split_seed"]) if r["skilled_weight"] > 0 else te[:0]
    wi = fit_wi(group_by_writer(ts, te), seed=r["split_seed"], C=r["wi_C"])
    base = base_decision(negatives, skilled, wi, svm_c=r["svm_c"], skilled_weight=r["skilled_weight"])
    val_emb = group_by_writer([samples[i] for i in val_idx], emb[val_idx])
    return base, val_emb


def train_head(model, feats: np.ndarray, samples: list[Sample], r: dict, seed: int = 0) -> dict:
    """Train ``model.head`` on cached pooled features (the trunk stays frozen): the
    project's losses (``ml.losses.CombinedLoss``: CosFace writer classification, forgery
    detection, triplet with skilled forgeries as negatives) over writer batches
    (``ml.samplers.WriterBatchSampler``). Minutes on one CPU thread. Returns a log."""
    from ml.losses import CombinedLoss
    from ml.samplers import WriterBatchSampler

    torch.manual_seed(seed)
    writers = sorted({s.writer for s in samples})
    wid = {w: i for i, w in enumerate(writers)}
    labels = np.array([wid[s.writer] if not s.forged else -wid[s.writer] - 1 for s in samples])
    forged = np.array([s.forged for s in samples])
    loss_fn = CombinedLoss(model.embedding_dim, len(writers), r["head_loss"])
    params = list(model.head.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.AdamW(params, lr=r["head_lr"], weight_decay=1e-4)
    steps = int(r["head_steps"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=r["head_lr"], total_steps=steps, pct_start=0.1)
    sampler = WriterBatchSampler(np.where(labels >= 0, labels, -labels - 1), forged, 16, 4, 2, steps, seed=seed)
    x_all = torch.from_numpy(np.asarray(feats, np.float32))
    if model.standardize:
        x_all = (x_all - model.feat_mean) / model.feat_std
    model.head.train()
    loss_fn.train()
    log, run = [], 0.0
    for step, idx in enumerate(sampler):
        x = x_all[idx]
        x = x + 0.1 * torch.randn_like(x)  # feature noise: the cached features never vary otherwise
        emb = torch.nn.functional.normalize(model.head(x), dim=1)
        loss, _ = loss_fn(emb, torch.from_numpy(labels[idx]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        run = 0.95 * run + 0.05 * float(loss.detach()) if step else float(loss.detach())
        if step % 100 == 0 or step == steps - 1:
            log.append({"step": step, "loss": round(run, 4)})
    model.head.eval()
    return {"head_steps": steps, "log": log}


def build_parts(fz: dict, recipe: dict, model_kwargs: dict | None = None, train_idx=None, val_idx=None):
    """(model, base decision, validation embeddings by writer, info) from cached features."""
    r = {**RECIPE, **recipe}
    samples = samples_of(fz)
    if train_idx is None or val_idx is None:
        train_idx, val_idx = split(fz, r["val_fraction"], r["split_seed"])
    mk = {
        **fz["meta"]["model_kwargs"],
        "standardize": bool(r["standardize"]),
        "embedding_dim": int(r["head_dim"]),
        **(model_kwargs or {}),
    }
    model = build("lite0", pretrained=True, **mk).eval()
    tail = fz["meta"].get("tail")
    if tail:  # features of a trunk whose last stages were tuned (ml.finetune): the checkpoint carries them
        from ml.finetune import load_tail

        load_tail(model, tail)
    feats = fz["features"]
    if r["standardize"]:
        tr = feats[train_idx]
        model.set_standardization(tr.mean(0), tr.std(0))
    head_log = train_head(model, feats[train_idx], [samples[i] for i in train_idx], r) if r["head_dim"] else None
    emb = embed_features(model, feats)
    base, val_emb = decision_parts(samples, emb, train_idx, val_idx, r)
    info = {
        "head": head_log,
        "train_writers": sorted({samples[i].person for i in train_idx}),
        "validation_writers": sorted({samples[i].person for i in val_idx}),
        "model_kwargs": mk,
        "recipe": r,
    }
    return model, base, val_emb, info


def calibrated_checkpoint(arch: str, arch_kwargs: dict, state: dict, preprocess: dict, base, val_emb, info: dict,
                          fz: dict, **config) -> tuple[dict, dict]:  # fmt: skip
    """A checkpoint whose network stands on the Lite0 weights, with the decision calibrated on the
    validation writers by ``info["recipe"]`` (``build_parts``'s info), and the calibration report.
    ``config`` adds entries to the checkpoint's config beside the recipe and the features' meta."""
    r = info["recipe"]
    decision, report = fit_decision(
        base,
        val_emb,
        mode=r["calibration_mode"],
        seeds=tuple(r["calibration_seeds"]),
        use_features=tuple(r["calibration_features"]),
    )
    ck = {
        "kind": ckpt.KIND,
        "format": ckpt.FORMAT,
        "arch": arch,
        "arch_kwargs": arch_kwargs,
        "state_dict": state,
        "preprocess": preprocess,
        "config": json.loads(json.dumps({"recipe": r, "features": fz["meta"], **config})),
        "metrics": {"calibration": report},
        "pretrained": {"origin": LITE0_ORIGIN, "licence": "Apache-2.0", "tuned": fz["meta"].get("finetune")},
        "decision": decision,
        "validation_writers": info["validation_writers"],
        "decision_training_writers": info["train_writers"],
        "epoch": 0,
    }
    return ck, report


def lite0_kwargs(info: dict) -> dict:
    """The Lite0 network's kwargs for a checkpoint, which carries the weights itself."""
    mk = dict(info["model_kwargs"])
    mk.pop("pretrained", None)
    return mk


def build_checkpoint(fz: dict, recipe: dict | None = None) -> tuple[dict, dict]:
    """The calibrated checkpoint dict and the calibration report."""
    model, base, val_emb, info = build_parts(fz, recipe or {})
    mk = lite0_kwargs(info)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    preprocess = {
        "version": PREPROCESS_VERSION,
        "canvas": list(mk["canvas"]),
        "input": "ink bright on black in [0, 1]; the model inverts, replicates to RGB and applies "
        "ImageNet mean/std (ml.backbones)",
        "precision": mk["precision"],
    }
    return calibrated_checkpoint("lite0", mk, state, preprocess, base, val_emb, info, fz)


def build_from_files(features: str, recipe_path: str | None, out: str, build) -> None:
    """The command lines' common part: read the features (test-writer features refused) and the
    recipe file overriding ``RECIPE``, ``build(fz, recipe)`` -> (checkpoint, report), save, print."""
    recipe = {}
    if recipe_path:
        import yaml

        recipe = yaml.safe_load(Path(recipe_path).read_text()) or {}
    fz = load_features(features)
    if fz["meta"].get("test_writers"):
        raise SystemExit("refusing to build a model from test-writer features")
    ck, report = build(fz, recipe)
    # half precision storage of the trunk would change the embeddings: keep fp32
    ckpt.save(ck, out)
    print(json.dumps({"out": out, "size_mb": round(Path(out).stat().st_size / 2**20, 2), **report}, indent=1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--recipe", default=None, help="JSON/YAML file overriding RECIPE")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    build_from_files(a.features, a.recipe, a.out, build_checkpoint)


if __name__ == "__main__":
    main()
