"""Detector training (``python -m ml detect-train``): CenterNet-style head on EfficientNet-Lite0.

Recipe: the ImageNet trunk stays frozen, so its stride-16 and stride-32 features are
computed once per training view (``variants``: plain, mirrored, shrunk onto white paper
with scan-like photometry, zoomed) and cached in float16; the head is then trained on the
cache with focal loss on the centre heatmap and weighted L1 on the box regression (on two
shared CPU cores, fine-tuning trunk blocks costs ten times more per step than the head). Validation pages (every
``VAL_EVERY``-th page in sorted order) are scored with AP@0.5 every ``eval_every`` epochs;
the best checkpoint is kept. Deterministic for a seed, one CPU thread.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ml.checkpoint import save as save_checkpoint
from ml.detection import make_checkpoint
from ml.detection.data import list_pages, load_page, split, targets, variant
from ml.detection.metrics import average_precision
from ml.detection.model import DetectorNet, decode

DEFAULTS = {
    "data": "../shared/data/documents/train",
    "out": "runs/detector",
    "size": 640,
    "width": 96,
    "fine_width": 64,
    "variants": ["plain", "flip", "shrink", "zoom", "shrink", "zoom"],
    "epochs": 24,
    "batch": 8,
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "box_weight": 1.0,
    "eval_every": 2,
    "seed": 0,
    "version": "detector-lite0-centernet-2026-11-30",
    "limit": 0,  # >0: only this many pages (quick checks)
    "cache_dir": "",  # set: the feature caches are kept there and reused by later trainings with the same views
    "view_seed": -1,  # seed of the training views' random augmentation (-1: ``seed``); heads of one ensemble share it
    "average": False,  # true: no epoch picked on the validation pages, the second half's weights averaged (OUT/average.pt)
}


def resolve(overrides: list[str] | None = None, config: str | None = None, defaults: dict | None = None) -> dict:
    """Settings: ``defaults`` (the detector's ``DEFAULTS``), then a YAML file, then ``key=value`` overrides."""
    known = DEFAULTS if defaults is None else defaults
    cfg = dict(known)
    if config:
        import yaml

        cfg.update(yaml.safe_load(Path(config).read_text()) or {})
    for item in overrides or []:
        key, _, value = item.partition("=")
        if key not in known:
            raise KeyError(f"unknown detector training setting {key!r} (known: {', '.join(known)})")
        cfg[key] = type(known[key])(value) if not isinstance(known[key], (list, bool)) else _parse(value)
    return cfg


def _parse(value: str):
    import yaml

    return yaml.safe_load(value)


def focal_loss(logits: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of centres."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    pos_loss = -torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = -torch.log(1 - p) * p**2 * (1 - heat) ** 4 * (1 - pos)
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp_min(1.0)


def box_loss(pred: torch.Tensor, reg: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    w = weight.unsqueeze(1)
    return (F.l1_loss(pred, reg, reduction="none") * w).sum() / weight.sum().clamp_min(1.0)


@torch.no_grad()
def build_cache(net: DetectorNet, items: list, kinds: list[str], size: int, seed: int, log=print) -> dict:
    """Trunk features (float16) and canvas boxes of every view of every page."""
    feats, truths = ([], [], []), []
    rng = np.random.default_rng(seed)
    t0 = time.time()
    for n, (image, boxes) in enumerate(items):
        for kind in kinds:
            canvas, b = variant(image, boxes, size, kind, rng)
            x = torch.from_numpy(canvas).float().div_(255.0)[None, None]
            for store, f in zip(feats, net.features(x)):
                store.append(f[0].to(torch.float16).contiguous())
            truths.append(b)
        if n % 50 == 0:
            log(f"cache {n + 1}/{len(items)} pages x {len(kinds)} views, {time.time() - t0:.0f}s")
    return {"c3": torch.stack(feats[0]), "c4": torch.stack(feats[1]), "c5": torch.stack(feats[2]), "truth": truths}


def add_targets(cache: dict, size: int) -> dict:
    """Heat, regression and weight maps of every cached view (``data.targets``)."""
    maps = [targets(b, size) for b in cache["truth"]]
    cache["heat"] = torch.from_numpy(np.stack([m[0] for m in maps]))[:, None]
    cache["reg"] = torch.from_numpy(np.stack([m[1] for m in maps]))
    cache["weight"] = torch.from_numpy(np.stack([m[2] for m in maps]))
    return cache


def _batch(cache: dict, idx) -> tuple[torch.Tensor, ...]:
    return tuple(cache[k][idx].float() for k in ("c3", "c4", "c5"))


@torch.inference_mode()
def evaluate_cache(net: DetectorNet, cache: dict, batch: int = 16) -> dict:
    net.eval()
    dets = []
    for i in range(0, len(cache["c4"]), batch):
        heat, box = net.head(*_batch(cache, slice(i, i + batch)))
        dets.extend(list(zip(b, s)) for b, s in decode(heat, box, min_score=0.05, top_k=100))
    return average_precision(dets, cache["truth"], iou=0.5)


def _cached(cfg: dict, part: str, build) -> dict:
    if not cfg["cache_dir"]:
        return build()
    key = (
        f"{part}-c345-{cfg['size']}-{'-'.join(cfg['variants']) if part == 'train' else 'plain'}-s{view_seed(cfg)}-l{cfg['limit']}"
    )
    path = Path(cfg["cache_dir"]) / f"{key}.pt"
    if path.is_file():
        c = torch.load(path, weights_only=False)  # our own cache file, written below
        return c
    c = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(c, path)
    return c


def view_seed(cfg: dict) -> int:
    return int(cfg["seed"] if cfg.get("view_seed", -1) < 0 else cfg["view_seed"])


def start_run(cfg: dict, log=print) -> tuple[Path, list, list]:
    """Seed, one thread, the output folder with its config.json -> (out, training pages, validation pages)."""
    torch.manual_seed(cfg["seed"])
    torch.set_num_threads(1)
    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    pages = list_pages(cfg["data"])
    if cfg["limit"]:
        pages = pages[: cfg["limit"]]
    train_pages, val_pages = split(pages)
    log(f"{len(train_pages)} training pages, {len(val_pages)} validation pages")
    return out, train_pages, val_pages


def train(cfg: dict, log=print) -> Path:
    out, train_pages, val_pages = start_run(cfg, log)
    net = DetectorNet(size=cfg["size"], width=cfg["width"], fine_width=cfg["fine_width"], pretrained=True)
    net = net.to(memory_format=torch.channels_last)
    net.eval()
    tr = _cached(
        cfg,
        "train",
        lambda: build_cache(net, [load_page(*p) for p in train_pages], list(cfg["variants"]), cfg["size"], view_seed(cfg), log),
    )
    va = _cached(
        cfg, "val", lambda: build_cache(net, [load_page(*p) for p in val_pages], ["plain"], cfg["size"], view_seed(cfg), log)
    )
    add_targets(tr, cfg["size"])
    head = [p for name, p in net.named_parameters() if not name.startswith(("blocks.", "stem."))]
    for name, p in net.named_parameters():
        p.requires_grad_(not name.startswith(("blocks.", "stem.")))
    opt = torch.optim.AdamW(head, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n = len(tr["c4"])
    steps = cfg["epochs"] * ((n + cfg["batch"] - 1) // cfg["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(cfg["seed"])
    best, best_ap, history = out / "best.pt", -1.0, []
    swa = torch.optim.swa_utils.AveragedModel(net) if cfg["average"] else None
    kw = {"width": cfg["width"], "fine_width": cfg["fine_width"], "version": cfg["version"]}
    for epoch in range(1, cfg["epochs"] + 1):
        net.train()
        net.stem.eval()
        net.blocks.eval()  # the frozen trunk keeps its ImageNet batch-norm statistics
        t0, total = time.time(), 0.0
        for idx in torch.randperm(n, generator=gen).split(cfg["batch"]):
            heat, box = net.head(*_batch(tr, idx))
            loss = focal_loss(heat, tr["heat"][idx]) + cfg["box_weight"] * box_loss(box, tr["reg"][idx], tr["weight"][idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if swa is not None and epoch > cfg["epochs"] // 2:
            swa.update_parameters(net)
        row = {"epoch": epoch, "loss": total / n, "seconds": round(time.time() - t0, 1)}
        if epoch % cfg["eval_every"] == 0 or epoch == cfg["epochs"]:
            m = evaluate_cache(net, va)
            row.update(val_ap50=m["ap"], val_recall=m["recall"])
            if m["ap"] > best_ap and swa is None:
                best_ap = m["ap"]
                metrics = {"val_ap50": m["ap"], "val_recall": m["recall"], "epoch": epoch, "val_pages": len(val_pages)}
                save_checkpoint(make_checkpoint(net, **kw, config=cfg, metrics=metrics), best)
        history.append(row)
        log(json.dumps(row))
        (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    if swa is None:
        return best
    final = swa.module
    recompute_head_bn(final, tr, cfg["batch"])
    m = evaluate_cache(final, va)
    row = {"epoch": f"average of {cfg['epochs'] // 2 + 1}..{cfg['epochs']}", "val_ap50": m["ap"], "val_recall": m["recall"]}
    history.append(row)
    log(json.dumps(row))
    (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    metrics = {"val_ap50": m["ap"], "val_recall": m["recall"], "epoch": row["epoch"], "val_pages": len(val_pages)}
    path = out / "average.pt"
    save_checkpoint(make_checkpoint(final, **kw, config=cfg, metrics=metrics), path)
    return path


@torch.no_grad()
def recompute_head_bn(net: DetectorNet, cache: dict, batch: int) -> None:
    """Batch-norm statistics of the head's averaged weights: one pass over the cached views (the trunk's stay ImageNet's)."""
    bns = [
        m for name, m in net.named_modules() if isinstance(m, torch.nn.BatchNorm2d) and not name.startswith(("blocks", "stem"))
    ]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    net.stem.eval()
    net.blocks.eval()
    for idx in torch.arange(len(cache["c4"])).split(batch):
        net.head(*_batch(cache, idx))
    net.eval()


def merge_heads(paths: list, out: str | Path, refiner: str | Path | None = None, data: str | None = None, log=print) -> Path:
    """First-stage checkpoints trained on the same trunk (heads of different seeds) -> one detector
    whose first stage averages their heads (``DetectorNet.members``), with the second stage of the
    two-stage checkpoint ``refiner`` when given; with ``data`` scored on its validation pages as
    ``detect-eval`` scores (first stage alone and both stages) into the checkpoint's metrics."""
    from ml.detection import Detector
    from ml.detection.cli import evaluate_pages

    cks = [torch.load(p, map_location="cpu", weights_only=True) for p in paths]
    first = cks[0]
    kwargs = dict(first["arch_kwargs"])
    for p, ck in zip(paths, cks):
        if dict(ck["arch_kwargs"]) != kwargs or ck.get("refiner"):
            raise ValueError(f"{p} is not a first-stage checkpoint of the architecture of {paths[0]}")
        trunk = {k: v for k, v in ck["state_dict"].items() if k.startswith(("stem.", "blocks."))}
        if any(not torch.equal(v, first["state_dict"][k]) for k, v in trunk.items()):
            raise ValueError(f"{p} does not share the trunk of {paths[0]}")
    net = DetectorNet(**kwargs, extra_heads=len(cks) - 1)
    net.load_state_dict(first["state_dict"], strict=False)
    for member, ck in zip(net.members, cks[1:]):
        member.load_state_dict({k: v for k, v in ck["state_dict"].items() if not k.startswith(("stem.", "blocks."))})
    cfg = {"members": [str(p) for p in paths], "configs": [ck.get("config", {}) for ck in cks]}
    version = f"{first.get('version', 'detector')}-x{len(cks)}"
    ck = make_checkpoint(net, width=kwargs["width"], fine_width=kwargs["fine_width"], version=version, config=cfg, metrics={})
    if refiner:
        src = torch.load(refiner, map_location="cpu", weights_only=True)
        if not src.get("refiner"):
            raise ValueError(f"{refiner} has no refiner")
        ck["refiner"] = src["refiner"]
        ck["version"] = f"{version}+refine"
    save_checkpoint(ck, out)
    if data:
        detector = Detector.load(out)
        detector.refiner, refined = None, detector.refiner
        first_stage = evaluate_pages(detector, data)
        detector.refiner = refined
        res = evaluate_pages(detector, data) if refined else first_stage
        ck["metrics"] = {
            "val_ap50": res["ap"],
            "val_recall": res["recall"],
            "first_stage_val_ap50": first_stage["ap"],
            "val_pages": res["pages"],
        }
        log(json.dumps(ck["metrics"]))
        save_checkpoint(ck, out)
    return Path(out)
