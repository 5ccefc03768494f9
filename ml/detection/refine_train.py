"""Training of the second-stage box refiner (``python -m ml detect-refine``).

Proposals on each training page (the page and its mirror image, the mirror with scan-like
photometry half of the time):

- every true box jittered ``jitter`` times (log-normal width and height, shifted centre;
  a quarter of them jittered twice as hard), the kind of error the first stage makes;
- the first stage's own boxes (score >= 0.05, at most ``first_stage`` per page), which
  also brings the false alarms the refiner must learn to score down.

Each proposal's window is cut and passed once through the detector's frozen trunk; the
features are cached (float16) and ``RefinerHead`` is trained on them: L1 on the four
window-relative edges (for proposals overlapping a true box with IoU >= ``BOX_IOU``) and
binary cross-entropy on "refinable" (IoU >= ``MATCH_IOU``). No epoch is picked on the
validation pages: the weights of the second half of training are averaged (stochastic
weight averaging, batch-norm statistics recomputed on the cache), and that average is
written with the first stage into one detector checkpoint (``OUT/detector.pt``, key
``refiner``). The validation pages' AP@0.5 is logged every ``eval_every`` epochs and for
the average, to watch, not to choose. Deterministic for a seed, one thread.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ml.checkpoint import save as save_checkpoint
from ml.detection import Detector, proposals
from ml.detection.boxes import iou_matrix, to_gray
from ml.detection.data import _photometric, list_pages, load_page, split
from ml.detection.metrics import average_precision
from ml.detection.refine import MATCH_IOU, RefinerHead, crops_tensor, edges, to_window, window
from ml.detection.train import start_run

BOX_IOU = 0.15
DEFAULTS = {
    "data": "../shared/data/documents/train",
    "model": "",  # first-stage checkpoint (default: the shipped detector)
    "out": "runs/refiner",
    "width": 64,
    "jitter": 16,
    "first_stage": 8,
    "epochs": 16,
    "batch": 64,
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "box_weight": 5.0,
    "eval_every": 4,
    "swa_from": 0,  # weights averaged from this epoch to the last (0: the second half)
    "passes": 2,
    "seed": 0,
    "limit": 0,
    "cache": "",  # a file: features are kept there and reused by a later training with the same settings
}


def jitter_box(box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    hard = 2.0 if rng.random() < 0.25 else 1.0
    w = bw * np.exp(rng.normal(0, 0.25 * hard))
    h = bh * np.exp(rng.normal(0, 0.3 * hard))
    cx = (x0 + x1) / 2 + rng.normal(0, 0.1 * hard) * bw
    cy = (y0 + y1) / 2 + rng.normal(0, 0.2 * hard) * bh
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def targets(proposal: np.ndarray, truths: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """-> (window-relative true box (zeros if none), IoU with the best true box, window)."""
    win = window(proposal)
    if not len(truths):
        return np.zeros(4), 0.0, win
    ious = iou_matrix(proposal[None], truths)[0]
    j = int(np.argmax(ious))
    return to_window(truths[j : j + 1], win)[0].clip(0, 1), float(ious[j]), win


@torch.no_grad()
def build(detector: Detector, pages: list, cfg: dict, log=print) -> dict:
    rng = np.random.default_rng(cfg["seed"])
    feats, rel, iou = ([], [], []), [], []
    t0 = time.time()
    for n, (ip, lp) in enumerate(pages):
        image, truths = load_page(ip, lp)
        gray = to_gray(image)
        for mirrored in (False, True):
            g, t = gray, truths.copy()
            if mirrored:
                g = np.ascontiguousarray(gray[:, ::-1])
                t[:, [0, 2]] = gray.shape[1] - truths[:, [2, 0]]
                if rng.random() < 0.5:
                    g = _photometric(g, rng)
            props = [jitter_box(b, rng) for b in t for _ in range(cfg["jitter"])]
            props += [np.asarray(d["box"]) for d in detector.detect(g)[: cfg["first_stage"]]]
            if not props:
                continue
            wins = []
            for p in props:
                r, v, w = targets(p, t)
                rel.append(r)
                iou.append(v)
                wins.append(w)
            for i in range(0, len(wins), 32):
                for store, f in zip(feats, detector.net.features(crops_tensor(g, wins[i : i + 32]))):
                    store.append(f.to(torch.float16))
        if n % 25 == 0:
            log(f"refiner cache: page {n + 1}/{len(pages)}, {len(rel)} proposals, {time.time() - t0:.0f}s")
    return {
        "c3": torch.cat(feats[0]),
        "c4": torch.cat(feats[1]),
        "c5": torch.cat(feats[2]),
        "rel": torch.tensor(np.asarray(rel), dtype=torch.float32),
        "iou": torch.tensor(np.asarray(iou), dtype=torch.float32),
    }


def loss_fn(head: RefinerHead, batch: tuple, box_weight: float) -> torch.Tensor:
    c3, c4, c5, rel, iou = batch
    ex, ey, logit = head(c3, c4, c5)
    pred = edges(ex, ey)
    boxed = (iou >= BOX_IOU).float()
    l1 = (F.l1_loss(pred, rel, reduction="none").sum(1) * boxed).sum() / boxed.sum().clamp_min(1.0)
    cls = F.binary_cross_entropy_with_logits(logit, (iou >= MATCH_IOU).float())
    return box_weight * l1 + cls


def first_stage(detector: Detector, pages: list) -> list:
    """Validation pages -> [(gray page, first-stage boxes, scores, true boxes)], computed once:
    the boxes ``Detector.detect`` gives its second stage (``ml.detection.proposals``)."""
    out = []
    for ip, lp in pages:
        image, truths = load_page(ip, lp)
        found = detector.detect(image)
        boxes, scores = proposals([d["box"] for d in found], [d["score"] for d in found])
        out.append((to_gray(image), boxes, scores, truths))
    return out


def score_pages(detector: Detector, cached: list) -> dict:
    dets = [detector.second_stage(g, b, s) for g, b, s, _ in cached]
    return average_precision(dets, [t for *_, t in cached], iou=0.5)


def with_refiner(first: dict, heads, cfg: dict, metrics: dict) -> dict:
    """The first stage's checkpoint with the refiner (one head, or several averaged) added:
    one file holds the two-stage detector.

    A two-stage checkpoint given as the first stage has its refiner replaced, not stacked.
    """
    heads = [heads] if isinstance(heads, RefinerHead) else list(heads)
    ck = {k: v for k, v in first.items() if k != "refiner"}
    first_metrics = first["metrics"].get("first_stage", {}) if first.get("refiner") else first.get("metrics", {})
    ck["refiner"] = {
        "arch_kwargs": {"width": heads[0].width},
        "state_dicts": [{k: v.detach().clone() for k, v in h.state_dict().items()} for h in heads],
        "passes": int(cfg["passes"]),
        "config": dict(cfg),
        "metrics": dict(metrics),
    }
    ck["version"] = f"{str(first.get('version', 'detector')).removesuffix('+refine')}+refine"
    ck["metrics"] = {**metrics, "first_stage": first_metrics}
    return ck


def merge(paths: list, out: str | Path, passes: int = 0, log=print) -> Path:
    """Two-stage checkpoints of one first stage (refiners trained with different seeds) -> one
    checkpoint whose refiner is their ensemble (boxes and probabilities averaged), looking
    ``passes`` times (0: as the first input was trained), scored on the validation pages of
    the first refiner's data."""
    cks = [torch.load(p, map_location="cpu", weights_only=True) for p in paths]
    first = cks[0]
    for p, ck in zip(paths, cks):
        if not ck.get("refiner"):
            raise ValueError(f"{p} has no refiner")
        if any(not torch.equal(v, first["state_dict"][k]) for k, v in ck["state_dict"].items()):
            raise ValueError(f"{p} does not share the first stage of {paths[0]}")
    heads = []
    for ck in cks:
        for state in ck["refiner"]["state_dicts"]:
            head = RefinerHead(**ck["refiner"]["arch_kwargs"])
            head.load_state_dict(state, strict=True)
            heads.append(head.eval())
    cfg = dict(first["refiner"]["config"])
    cfg["passes"] = int(passes or cfg["passes"])
    detector = Detector.load(paths[0])
    detector.refiner = None
    val = first_stage(detector, split(list_pages(cfg["data"]))[1])
    detector.refiner, detector.refine_passes = heads, cfg["passes"]
    m = score_pages(detector, val)
    metrics = {
        "val_ap50": m["ap"],
        "val_recall": m["recall"],
        "weights": f"ensemble of {len(heads)} refiners (seeds {', '.join(str(c['refiner']['config']['seed']) for c in cks)})",
        "first_stage_val_ap50": first["metrics"].get("first_stage_val_ap50"),
        "val_pages": len(val),
    }
    log(json.dumps(metrics))
    cfg["seeds"] = [c["refiner"]["config"]["seed"] for c in cks]
    save_checkpoint(with_refiner(first, heads, cfg, metrics), out)
    return Path(out)


def train(cfg: dict, log=print) -> Path:
    out, train_pages, val_pages = start_run(cfg, log)
    detector = Detector.load(cfg["model"] or None)
    detector.refiner = None  # proposals come from the first stage alone
    first = torch.load(detector.path, map_location="cpu", weights_only=True)
    cache_path = Path(cfg["cache"]) if cfg["cache"] else None
    if cache_path and cache_path.is_file():
        data = torch.load(cache_path, weights_only=True)
    else:
        data = build(detector, train_pages, cfg, log)
        if cache_path:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(data, cache_path)
    val = first_stage(detector, val_pages)
    base = average_precision([list(zip(b, s)) for _, b, s, _ in val], [t for *_, t in val])
    log(json.dumps({"first_stage_val_ap50": base["ap"], "proposals": len(data["rel"])}))
    head = RefinerHead(cfg["width"])
    opt = torch.optim.AdamW(head.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n = len(data["rel"])
    steps = cfg["epochs"] * ((n + cfg["batch"] - 1) // cfg["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(cfg["seed"])
    swa_from = cfg["swa_from"] or cfg["epochs"] // 2 + 1
    swa = torch.optim.swa_utils.AveragedModel(head)
    history = []
    for epoch in range(1, cfg["epochs"] + 1):
        head.train()
        t0, total = time.time(), 0.0
        for idx in torch.randperm(n, generator=gen).split(cfg["batch"]):
            loss = loss_fn(head, _batch(data, idx), cfg["box_weight"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if epoch >= swa_from:
            swa.update_parameters(head)
        row = {"epoch": epoch, "loss": total / n, "seconds": round(time.time() - t0, 1)}
        if cfg["eval_every"] and epoch % cfg["eval_every"] == 0:  # watched, not used to choose
            row.update(_val_row(detector, head, val, cfg))
        history.append(row)
        log(json.dumps(row))
        (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    final = swa.module
    recompute_bn(final, data, cfg["batch"])
    row = {"epoch": f"average of {swa_from}..{cfg['epochs']}", **_val_row(detector, final, val, cfg)}
    history.append(row)
    log(json.dumps(row))
    (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    metrics = {
        "val_ap50": row["val_ap50"],
        "val_recall": row["val_recall"],
        "weights": row["epoch"],
        "first_stage_val_ap50": base["ap"],
        "val_pages": len(val_pages),
    }
    path = out / "detector.pt"
    save_checkpoint(with_refiner(first, final, cfg, metrics), path)
    return path


def _batch(data: dict, idx) -> tuple:
    return (*(data[k][idx].float() for k in ("c3", "c4", "c5")), data["rel"][idx], data["iou"][idx])


def _val_row(detector: Detector, head: RefinerHead, val: list, cfg: dict) -> dict:
    head.eval()
    detector.refiner, detector.refine_passes = head, cfg["passes"]
    m = score_pages(detector, val)
    detector.refiner = None
    return {"val_ap50": m["ap"], "val_recall": m["recall"]}


@torch.no_grad()
def recompute_bn(head: RefinerHead, data: dict, batch: int) -> None:
    """Batch-norm statistics of averaged weights: one pass over the cached proposals (cumulative average)."""
    bns = [m for m in head.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    head.train()
    for idx in torch.arange(len(data["rel"])).split(batch):
        head(*_batch(data, idx)[:3])
    head.eval()
