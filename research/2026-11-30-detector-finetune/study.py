"""First-stage variants of the signature detector, scored through the shipped second stage.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python research/2026-11-30-detector-finetune/study.py \
        --cache-dir runs/detcache --tune-from 11 --epochs 10 --seed 0 --out runs/ft/b11_s0

The first stage's trunk features of every training view (``configs/detector.yaml``: plain,
flip, shrink, zoom, shrink, zoom) and of the validation pages are those ``python -m ml
detect-train ... cache_dir=DIR`` caches (``ml.detection.train.build_cache``). A variant trains
the CenterNet head, and with ``--tune-from K`` also the trunk blocks K..15 (from the cached
stride-16 features of block 10: K must be 11 or more), their batch-norm statistics kept; no
epoch is picked on the validation pages (``--average``: the weights of the second half of
training averaged, else the last epoch's).

Scores on the 67 validation pages (every 5th page, never trained on): the first stage alone
(AP@0.5 and AP@0.3 of the boxes ``Detector.detect`` would give its second stage) and the two
stages, the first stage's proposals (``ml.detection.proposals``) refined by the shipped refiner
ensemble (``ml/weights/detector.pt``, its trunk frozen as trained) exactly as
``Detector.second_stage`` does. Writes OUT/result.json and OUT/first_stage.pt (a detector
checkpoint in the shipped format, ``tuned_from`` in its architecture when blocks were tuned).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ml.detection import MIN_SCORE, REFINE_LIMIT, Detector, make_checkpoint, proposals
from ml.detection.boxes import letterbox, to_gray
from ml.detection.data import list_pages, load_page, split
from ml.detection.metrics import average_precision
from ml.detection.model import C4_BLOCK, DetectorNet, decode
from ml.detection.train import add_targets, box_loss, focal_loss

VARIANTS = ["plain", "flip", "shrink", "zoom", "shrink", "zoom"]


def load_cache(cache_dir: str, part: str, seed: int = 0, size: int = 640) -> dict:
    views = "-".join(VARIANTS) if part == "train" else "plain"
    return torch.load(Path(cache_dir) / f"{part}-c345-{size}-{views}-s{seed}-l0.pt", weights_only=False)


class FirstStage(torch.nn.Module):
    """The first stage read from cached features: c3, c4 and c5, or with tuned blocks the
    output of block ``tuned_from - 1`` (``add_mid``) in place of c5."""

    def __init__(self, net: DetectorNet):
        super().__init__()
        self.net = net

    def forward(self, c3, c4, c5):
        return self.net.head(c3, c4, c5 if self.net.tuned is None else self.net.late(c5))


@torch.no_grad()
def add_mid(net: DetectorNet, cache: dict, tune_from: int, bs: int = 32) -> None:
    """Replace the cached c5 by the frozen blocks 11..tune_from-1 applied to c4 (float16)."""
    out = []
    for i in range(0, len(cache["c4"]), bs):
        x = cache["c4"][i : i + bs].float()
        for block in net.blocks[C4_BLOCK + 1 : tune_from]:
            x = block(x, drop_connect_rate=0.0)
        out.append(x.to(torch.float16))
    cache["c5"] = torch.cat(out)


def batch(cache: dict, idx) -> tuple:
    return tuple(cache[k][idx].float() for k in ("c3", "c4", "c5"))


@torch.inference_mode()
def val_maps(model: FirstStage, va: dict, bs: int = 16) -> list:
    model.eval()
    out = []
    for i in range(0, len(va["c4"]), bs):
        heat, box = model(*batch(va, slice(i, i + bs)))
        out.extend(zip(heat.split(1), box.split(1)))
    return out


def score(maps: list, pages: list, detector: Detector) -> dict:
    """Maps of the validation pages -> first-stage AP@0.5/0.3 and two-stage AP@0.5 (shipped refiner)."""
    first, two = [], []
    truths = [t for _, t, _ in pages]
    for (heat, box), (gray, _, lb) in zip(maps, pages):
        b, s = decode(heat, box, min_score=MIN_SCORE, top_k=REFINE_LIMIT)[0]
        b, s = proposals(lb.to_page(b), s)
        first.append(list(zip(b, s)))
        two.append(detector.second_stage(gray, b, s))
    a5, a3 = average_precision(first, truths, 0.5), average_precision(first, truths, 0.3)
    t5 = average_precision(two, truths, 0.5)
    return {
        "first_ap50": a5["ap"],
        "first_ap30": a3["ap"],
        "first_recall30": a3["recall"],
        "two_stage_ap50": t5["ap"],
        "two_stage_recall": t5["recall"],
        "two_stage_tp": t5["true_positives"],
        "two_stage_detections": t5["detections"],
    }


def val_pages(data: str, size: int = 640) -> list:
    out = []
    for p in split(list_pages(data))[1]:
        image, truths = load_page(*p)
        gray = to_gray(image)
        out.append((gray, truths, letterbox(gray, size)[1]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--cache-dir", default="runs/detcache")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tune-from", type=int, default=0, help="0: head only; K >= 11: blocks K..15 tuned too")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--trunk-lr", type=float, default=2e-4)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--box-weight", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--average", action="store_true", help="average the weights of the second half of training")
    ap.add_argument("--eval-every", type=int, default=0, help="log validation scores (watched, not chosen)")
    ap.add_argument("--init", help="start the head from this first-stage checkpoint")
    a = ap.parse_args()
    assert a.tune_from == 0 or a.tune_from > C4_BLOCK
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tr, va = load_cache(a.cache_dir, "train"), load_cache(a.cache_dir, "val")
    add_targets(tr, 640)
    net = DetectorNet(size=640, width=96, fine_width=64, pretrained=True, tuned_from=a.tune_from)
    if a.init:  # a head-only first stage: its head (the tuned blocks start as the ImageNet ones)
        net.load_state_dict(torch.load(a.init, map_location="cpu", weights_only=True)["state_dict"], strict=False)
    model = FirstStage(net)
    if a.tune_from:
        net.eval()
        t0 = time.time()
        add_mid(net, tr, a.tune_from)
        add_mid(net, va, a.tune_from)
        print(f"inputs of block {a.tune_from} computed, {time.time() - t0:.0f}s", flush=True)
    for p in net.parameters():
        p.requires_grad_(False)
    head = [p for n, p in net.named_parameters() if not n.startswith(("blocks.", "stem.", "tuned."))]
    for p in head:
        p.requires_grad_(True)
    groups = [{"params": head, "lr": a.lr}]
    if net.tuned is not None:
        late = list(net.tuned.parameters())
        for p in late:
            p.requires_grad_(True)
        groups.append({"params": late, "lr": a.trunk_lr})
    opt = torch.optim.AdamW(groups, weight_decay=a.weight_decay)
    n = len(tr["c4"])
    steps = max(1, a.epochs * ((n + a.batch - 1) // a.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(a.seed)
    detector = Detector.load()  # the shipped refiner ensemble, read through the frozen trunk
    pages = val_pages(a.data)
    swa = torch.optim.swa_utils.AveragedModel(model) if a.average else None
    history = []
    for epoch in range(1, a.epochs + 1):
        model.train()
        net.stem.eval()
        net.blocks.eval()
        if net.tuned is not None:
            net.tuned.eval()  # ImageNet batch-norm statistics kept; weights trained
        t0, total = time.time(), 0.0
        for idx in torch.randperm(n, generator=gen).split(a.batch):
            heat, box = model(*batch(tr, idx))
            loss = focal_loss(heat, tr["heat"][idx]) + a.box_weight * box_loss(box, tr["reg"][idx], tr["weight"][idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if swa is not None and epoch > a.epochs // 2:
            swa.update_parameters(model)
        row = {"epoch": epoch, "loss": total / n, "seconds": round(time.time() - t0, 1)}
        if a.eval_every and epoch % a.eval_every == 0:
            row.update(score(val_maps(model, va), pages, detector))
        history.append(row)
        print(json.dumps(row), flush=True)
    final = model
    if swa is not None:  # head batch norms: statistics recomputed on the training cache
        final = swa.module
        bns = [
            m
            for name, m in final.net.named_modules()
            if isinstance(m, torch.nn.BatchNorm2d) and not name.startswith(("blocks", "stem", "tuned"))
        ]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        final.train()
        final.net.stem.eval()
        final.net.blocks.eval()
        if final.net.tuned is not None:
            final.net.tuned.eval()
        with torch.no_grad():
            for idx in torch.arange(n).split(a.batch):
                final(*batch(tr, idx))
    res = {"settings": vars(a), "history": history, "final": score(val_maps(final, va), pages, detector)}
    print(json.dumps(res["final"]), flush=True)
    (out / "result.json").write_text(json.dumps(res, indent=1) + "\n")
    version = f"detector-lite0-centernet-tuned{a.tune_from}" if a.tune_from else "detector-lite0-centernet"
    ck = make_checkpoint(final.net, width=96, fine_width=64, version=version, config=vars(a), metrics=res["final"])
    torch.save(ck, out / "first_stage.pt")


if __name__ == "__main__":
    main()
