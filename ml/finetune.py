"""Partial unfreezing of the pretrained Lite0 trunk, trained on cached activations.

    python -m ml.finetune --out runs/lite0_ft [--canvas 150 220] [--cut 8] [--epochs 12]

The first ``cut`` MBConv blocks of the trunk stay frozen at their ImageNet weights. Their
output for every training image never changes, so it is computed once (bf16 autocast where
the CPU supports it) and kept as float16; the tail (blocks ``cut``.., the 1x1 head
convolution and its BatchNorm) is then trained on those activations, which costs a small
fraction of a full forward and backward pass. The losses are ``ml.losses.CombinedLoss``
(CosFace, SigNet-F's forgery head, a triplet loss with skilled forgeries as negatives) over
``ml.samplers.WriterBatchSampler`` batches; activations get random one-cell shifts and channel dropout.

Writers: only the *decision-training* writers of ``ml.pretrained``'s writer-disjoint split
(the same split that later fits the decision) and, for writer classification only, the
non-test writers of ``--extra`` datasets (genuine signatures). The validation writers that
calibrate and select are never trained on; test writers are never read.

Outputs in ``--out``: ``tail.pt`` (the tuned tail's state and recipe), ``frozen.npz`` (features
through the untouched trunk, the baseline) and ``features.npz`` (every non-test writer of the
three datasets through the tuned trunk, in ``ml.features``' format, read by
``benchmarks/pretrained_study.py`` and ``python -m ml.pretrained``; its meta names ``tail.pt``).
``--activations F.npy`` keeps the frozen part's activations for later runs on the same images.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from ml.data import Sample, preprocess_all, split_validation, training_writers
from ml.features import DEFAULT_DATASETS, write_features
from ml.models import build

RECIPE = {
    "cut": 11,  # blocks [0, cut) frozen; 11: the 192- and 320-channel stages (stride 32) are trained
    "epochs": 12,
    "steps_per_epoch": 80,
    "lr": 3e-4,  # the tail's pretrained weights
    "head_lr": 3e-3,  # the losses' own parameters (class weights, forgery head)
    "weight_decay": 1e-4,
    "batch_writers": 16,
    "batch_genuine": 4,
    "batch_forged": 2,
    "loss": {"classification": 1.0, "forgery": 0.3, "triplet": 1.0},
    "shift": 1,  # random shift of the cached activation map, in cells
    "channel_dropout": 0.1,
    "val_fraction": 0.4,
    "split_seed": 0,
    "seed": 0,
    # bf16 autocast buys nothing for this tail's backward on the CPU (2.4 against 2.2 s per step
    # at cut 8, 1.1 against 0.9 at cut 11): train in fp32; features are then computed in the
    # checkpoint's own mode
    "train_precision": "fp32",
}


def activations(model, x: torch.Tensor, cut: int) -> torch.Tensor:
    """(B, 1, H, W) ink-bright images -> the trunk's output after block ``cut`` - 1."""
    net = model.trunk
    if model.invert:
        x = 1.0 - x
    x = x.expand(-1, 3, -1, -1)
    x = ((x - model.mean) / model.std).contiguous(memory_format=torch.channels_last)
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=model.use_bf16(x.device.type)):
        h = net._swish(net._bn0(net._conv_stem(x)))
        for block in net._blocks[:cut]:
            h = block(h)
    return h.float()


def tail_pooled(model, h: torch.Tensor, cut: int) -> torch.Tensor:
    """Activations after block ``cut`` - 1 -> (B, 1280) pooled features, as ``model.pooled``."""
    net = model.trunk
    rate = net._global_params.drop_connect_rate
    n = len(net._blocks)
    with torch.autocast(device_type=h.device.type, dtype=torch.bfloat16, enabled=model.use_bf16(h.device.type)):
        for idx in range(cut, n):
            h = net._blocks[idx](h, drop_connect_rate=rate * float(idx) / n if rate else None)
        h = net._swish(net._bn1(net._conv_head(h)))
        f = F.adaptive_avg_pool2d(h, 1).flatten(1)
    return f.float()


def tail_modules(model, cut: int) -> list[nn.Module]:
    net = model.trunk
    return [*net._blocks[cut:], net._conv_head, net._bn1]


def tail_state(model, cut: int) -> dict[str, torch.Tensor]:
    """The trunk's state entries that fine-tuning changes (blocks from ``cut``, head conv, bn1)."""
    prefixes = tuple([f"_blocks.{i}." for i in range(cut, len(model.trunk._blocks))] + ["_conv_head.", "_bn1."])
    return {k: v.detach().cpu().clone() for k, v in model.trunk.state_dict().items() if k.startswith(prefixes)}


def load_tail(model, path: str | os.PathLike) -> dict:
    """Load a ``tail.pt`` into ``model.trunk`` (every stored key must exist); returns its recipe."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    missing = set(blob["state"]) - set(model.trunk.state_dict())
    if missing:
        raise KeyError(f"tail keys not in the trunk: {sorted(missing)[:5]}")
    model.trunk.load_state_dict({**model.trunk.state_dict(), **blob["state"]}, strict=True)
    return json.loads(blob["recipe"])


def cache_activations(model, images: np.ndarray, cut: int, batch_size: int = 32, progress=None) -> np.ndarray:
    """(N, H, W) uint8 images -> (N, C, h, w) float16 activations after block ``cut`` - 1."""
    out = []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(np.asarray(images[i : i + batch_size])).float().div_(255).unsqueeze(1)
            out.append(activations(model, x, cut).contiguous().numpy().astype(np.float16))
            if progress and (i // batch_size) % 20 == 0:
                progress(i, len(images))
    return np.concatenate(out)


def stored_activations(model, images: np.ndarray, cut: int, path, keys: list[str], log=print) -> np.ndarray:
    """``cache_activations``, kept in ``path`` (.npy, with a .json tag) for later runs on the same images and cut."""
    if not path:
        return cache_activations(model, images, cut, progress=lambda i, n: log(f"activations {i}/{n}"))
    path, tag = Path(path), [keys, list(images.shape), cut, model.use_bf16("cpu")]
    digest = hashlib.sha256(json.dumps(tag).encode()).hexdigest()
    side = path.with_suffix(".json")
    if path.exists() and side.exists() and json.loads(side.read_text()).get("digest") == digest:
        log(f"activations read from {path}")
        return np.load(path, mmap_mode="r")
    acts = cache_activations(model, images, cut, progress=lambda i, n: log(f"activations {i}/{n}"))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path.with_name(path.name + ".tmp.npy"), acts)
    os.replace(path.with_name(path.name + ".tmp.npy"), path)
    side.write_text(json.dumps({"digest": digest}))
    return acts


def pooled_from_activations(model, acts: np.ndarray, cut: int, batch_size: int = 64) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(acts), batch_size):
            h = torch.from_numpy(acts[i : i + batch_size].astype(np.float32)).contiguous(memory_format=torch.channels_last)
            out.append(tail_pooled(model, h, cut).numpy())
    return np.concatenate(out)


def shift_cells(h: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Each map moved by up to ``shift`` cells in each direction (edge cells repeated)."""
    if shift <= 0:
        return h
    b, _, hh, ww = h.shape
    padded = F.pad(h, (shift, shift, shift, shift), mode="replicate")
    dy = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    return torch.stack([padded[i, :, dy[i] : dy[i] + hh, dx[i] : dx[i] + ww] for i in range(b)])


def train_tail(model, acts: np.ndarray, samples: list[Sample], recipe: dict, log=print) -> list[dict]:
    """Train the trunk's tail on cached activations of ``samples`` (their writers' classes)."""
    from ml.losses import CombinedLoss
    from ml.samplers import WriterBatchSampler

    r = {**RECIPE, **recipe}
    cut = int(r["cut"])
    torch.manual_seed(r["seed"])
    gen = torch.Generator().manual_seed(r["seed"])
    writers = sorted({s.writer for s in samples})
    wid = {w: i for i, w in enumerate(writers)}
    forged = np.array([s.forged for s in samples])
    ids = np.array([wid[s.writer] for s in samples])
    labels = torch.from_numpy(np.where(forged, -ids - 1, ids))
    norm = nn.BatchNorm1d(1280, affine=False)  # stands in for the checkpoint's feature standardisation
    loss_fn = CombinedLoss(1280, len(writers), r["loss"])
    params = [p for m in tail_modules(model, cut) for p in m.parameters()]
    opt = torch.optim.AdamW(
        [{"params": params, "lr": r["lr"]}, {"params": list(loss_fn.parameters()), "lr": r["head_lr"]}],
        weight_decay=r["weight_decay"],
    )
    steps = int(r["epochs"]) * int(r["steps_per_epoch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[r["lr"], r["head_lr"]], total_steps=steps, pct_start=0.1)
    sampler = WriterBatchSampler(
        ids, forged, r["batch_writers"], r["batch_genuine"], r["batch_forged"], int(r["steps_per_epoch"]), seed=r["seed"]
    )
    drop = nn.Dropout2d(r["channel_dropout"])
    history, t0 = [], time.time()
    inference_precision, model.precision = model.precision, r["train_precision"]
    for epoch in range(int(r["epochs"])):
        sampler.set_epoch(epoch)
        model.train()
        for m in model.trunk._blocks[:cut]:
            m.eval()
        parts_sum: dict[str, float] = {}
        total = 0.0
        for idx in sampler:
            h = torch.from_numpy(acts[idx].astype(np.float32))
            h = drop(shift_cells(h, int(r["shift"]), gen)).contiguous(memory_format=torch.channels_last)
            emb = F.normalize(norm(tail_pooled(model, h, cut)), dim=1)
            loss, parts = loss_fn(emb, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v
        n = len(sampler)
        row = {"epoch": epoch + 1, "loss": round(total / n, 4), **{k: round(v / n, 4) for k, v in parts_sum.items()}}
        row["elapsed_s"] = round(time.time() - t0, 1)
        history.append(row)
        log(json.dumps(row))
    model.eval()
    model.precision = inference_precision
    return history


def decision_training_split(samples: list[Sample], recipe: dict) -> tuple[list[int], list[int]]:
    """Indices (decision-training, validation), the split ``ml.pretrained.split`` makes."""
    r = {**RECIPE, **recipe}
    _, val = split_validation(samples, r["val_fraction"], r["split_seed"])
    val_p = {s.person for s in val}
    train = [i for i, s in enumerate(samples) if s.person not in val_p]
    return train, [i for i, s in enumerate(samples) if s.person in val_p]


def run(root: str, out: str, canvas, recipe: dict, extra: list[str], workers: int = 2, acts_path=None, log=print) -> dict:
    r = {**RECIPE, **recipe}
    cut = int(r["cut"])
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = training_writers(root, DEFAULT_DATASETS)
    extra_samples = [s for s in training_writers(root, extra) if not s.forged] if extra else []
    everything = samples + extra_samples
    t0 = time.time()
    imgs, ok = preprocess_all([s.path for s in everything], "cache", workers, canvas=tuple(canvas))
    if not ok.all():
        log(f"skipping {int((~ok).sum())} files that could not be preprocessed")
    keep = np.nonzero(ok)[0]
    everything = [everything[i] for i in keep]
    imgs = imgs[keep]
    n_main = sum(1 for i in keep if i < len(samples))
    samples = everything[:n_main]
    model_kwargs = {"canvas": list(canvas), "precision": "bf16", "invert": True}
    meta_base = {"model_kwargs": model_kwargs, "datasets": DEFAULT_DATASETS, "test_writers": False}
    model = build("lite0", pretrained=True, **model_kwargs)
    t1 = time.time()
    acts = stored_activations(model, imgs, cut, acts_path, [s.path for s in everything], log)
    t2 = time.time()
    log(json.dumps({"images": len(everything), "preprocess_s": round(t1 - t0, 1), "activations_s": round(t2 - t1, 1)}))
    write_features(out_dir / "frozen.npz", pooled_from_activations(model, acts[:n_main], cut), samples, meta_base)
    train_idx, _ = decision_training_split(samples, r)
    fit_idx = train_idx + list(range(n_main, len(everything)))
    history = train_tail(model, acts[fit_idx], [everything[i] for i in fit_idx], r, log=log)
    t3 = time.time()
    torch.save({"state": tail_state(model, cut), "recipe": json.dumps(r)}, out_dir / "tail.pt")
    feats = pooled_from_activations(model, acts[:n_main], cut)
    meta = {
        **meta_base,
        "tail": str(out_dir / "tail.pt"),
        "finetune": {"recipe": r, "extra": extra, "fit_writers": len({everything[i].writer for i in fit_idx})},
        "train_s": round(t3 - t2, 1),
        "threads": torch.get_num_threads(),
    }
    write_features(out_dir / "features.npz", feats, samples, meta)
    (out_dir / "history.json").write_text(json.dumps({"meta": meta, "history": history}, indent=1))
    return {"out": str(out_dir), "train_s": meta["train_s"], "final": history[-1] if history else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="../shared/data/signatures")
    ap.add_argument("--out", required=True)
    ap.add_argument("--canvas", type=int, nargs=2, default=[150, 220])
    ap.add_argument("--extra", nargs="*", default=["cross_media_chinese"], help="writer-classification-only datasets")
    ap.add_argument("--recipe", default=None, help="YAML file overriding RECIPE")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--activations", default=None)
    for k in ("epochs", "cut", "steps_per_epoch", "seed"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    recipe = (yaml.safe_load(Path(a.recipe).read_text()) or {}) if a.recipe else {}
    for k in ("epochs", "cut", "steps_per_epoch", "seed", "lr"):
        if getattr(a, k) is not None:
            recipe[k] = getattr(a, k)
    print(json.dumps(run(a.root, a.out, a.canvas, recipe, a.extra, a.workers, a.activations)), flush=True)


if __name__ == "__main__":
    main()
