"""Supervised training of the cleaner (``ml.cleaner``) on generated overlays.

Pairs: a clean signature of a training writer (``ml.data.training_writers``: test writers
never appear) under printed material from ``ml.overlay`` with the ``TRAIN`` material (its
fonts and its document pages, disjoint from the evaluation's), and the signature's own ink
mask as the target. Seeds are offset by ``SEED_OFFSET`` so no training sheet repeats an
evaluation one. A tenth of the sheets have no overlay at all, so that clean signatures
pass through. Loss: binary cross-entropy on the dark pixels (the only ones the cleaner
can erase) plus a small weight on the rest. One CPU thread, deterministic for a seed.

    python -m ml.cleaner_train --out ml/weights/cleaner.pt --steps 1600 --sheets 2500 --stop 1400
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ml import overlay as ov
from ml.backbones import bf16_supported
from ml.cleaner import CHANNELS, CLEANER_VERSION, KIND, WORK_SIDE, Cleaner, CleanerNet, chroma_input, working_input
from ml.data import training_writers

DATASETS = ("cedar", "bhsig_bengali", "sigcomp2011_dutch", "cross_media_chinese")
SIG_ROOT = ov.PAGES.parent.parent / "signatures"
SEED_OFFSET = 7919  # training sheets use seeds far from the evaluation overlay's small ones
CROP = 128


def pen_colour(rng: np.random.Generator) -> tuple | None:
    """A signature's ink: its own grey (two in five), a blue ballpoint, or another dark pen."""
    r = rng.random()
    if r < 0.4:
        return None
    if r < 0.85:
        return (int(rng.uniform(15, 70)), int(rng.uniform(25, 90)), int(rng.uniform(100, 200)))
    return tuple(int(v) for v in np.clip(rng.normal(50, 35, 3), 0, 150))


def solid_ink(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The signature as a file export of a pad drawing looks: solid black strokes, as scanned or thicker."""
    ink = (gray < 200).astype(np.uint8)
    k = int(rng.integers(1, 4))
    if k > 1:
        ink = cv2.dilate(ink, np.ones((k, k), np.uint8))
    return np.where(ink > 0, 0, 255).astype(np.uint8)


def make_pair(
    path: str, rng: np.random.Generator, material: ov.Material, box: float = 0.0, colour: bool = False, solid: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """((C, h, w) uint8 working-size sheet: flat-fielded grey, then with ``colour`` the two
    chroma planes of ``ml.cleaner.chroma_input`` stored as 128 + 64 x value; float32 target: 1
    on the signature's ink). ``box``: the share of overlaid sheets that also get form rules;
    ``solid``: the share whose signature is drawn in solid black (``solid_ink``)."""
    gray = np.asarray(Image.open(path).convert("L"))
    if solid and rng.random() < solid:  # no draw when 0: recipes without it keep their sheets
        gray = solid_ink(gray, rng)
    elif rng.random() < 0.3:  # lighter or darker pens than the data's
        gray = np.clip(255 - (255 - gray.astype(np.float32)) * rng.uniform(0.6, 1.3), 0, 255).astype(np.uint8)
    pen = pen_colour(rng) if colour else None
    if rng.random() < 0.1:
        sheet, ink = ov.overlay(gray, rng, material, parts=(), pen=pen)
    else:
        parts = tuple(p for p in ("line", "text", "stamp") if rng.random() < 0.75) or ("stamp",)
        if rng.random() < box:
            parts += ("box",)
        sheet, ink = ov.overlay(gray, rng, material, parts=parts, pen=pen)
    if colour and rng.random() < 0.5:  # tinted paper
        sheet = (sheet * rng.uniform(0.85, 1.0, 3)).astype(np.uint8)
    g = cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY)
    _, small = working_input(g, int(WORK_SIDE * rng.uniform(0.8, 1.25)))  # scale jitter around the working size
    target = cv2.resize(ink.astype(np.float32), small.shape[::-1], interpolation=cv2.INTER_AREA)
    planes = [small]
    if colour:
        planes += list(np.clip(chroma_input(sheet, small.shape[::-1]) * 64 + 128, 0, 255).astype(np.uint8))
    return np.stack(planes), (target > 0.35).astype(np.float32)


def crops(small, target, rng, n: int):
    """``n`` random CROP x CROP windows of a (C, h, w) sheet and its target, most near dark pixels."""
    h, w = small.shape[1:]
    ph, pw = max(0, CROP - h), max(0, CROP - w)
    x = np.concatenate([np.pad(small[:1], ((0, 0), (0, ph), (0, pw)), constant_values=255),
                        np.pad(small[1:], ((0, 0), (0, ph), (0, pw)), constant_values=128)])  # fmt: skip
    t = np.pad(target, ((0, ph), (0, pw)))
    ys, xs = np.nonzero(x[0] < 200)
    out = []
    for _ in range(n):
        if len(ys) and rng.random() < 0.9:  # centred near a dark pixel
            k = int(rng.integers(len(ys)))
            y0 = int(np.clip(ys[k] - rng.integers(CROP), 0, x.shape[1] - CROP))
            x0 = int(np.clip(xs[k] - rng.integers(CROP), 0, x.shape[2] - CROP))
        else:
            y0, x0 = int(rng.integers(x.shape[1] - CROP + 1)), int(rng.integers(x.shape[2] - CROP + 1))
        out.append((x[:, y0 : y0 + CROP, x0 : x0 + CROP], t[y0 : y0 + CROP, x0 : x0 + CROP]))
    return out


def build_pool(
    n_sheets: int, seed: int, per_sheet: int = 6, box: float = 0.0, colour: bool = False, solid: float = 0.0, log=print
):
    material = ov.load_pages(ov.Material(ov.TRAIN.name, ov.TRAIN.fonts))
    paths = [s.path for s in training_writers(SIG_ROOT, list(DATASETS)) if s.label == "genuine"]
    rng = np.random.default_rng(SEED_OFFSET + seed)
    xs, ts = [], []
    for i in range(n_sheets):
        small, target = make_pair(paths[int(rng.integers(len(paths)))], rng, material, box, colour, solid)
        for x, t in crops(small, target, rng, per_sheet):
            xs.append(x)
            ts.append(t)
        if i % 500 == 0:
            log(f"pool {i}/{n_sheets}")
    return np.stack(xs), np.stack(ts).astype(np.uint8), len(paths)


def train(
    out: str,
    steps: int,
    seed: int = 0,
    sheets: int = 3000,
    batch: int = 16,
    lr: float = 2e-3,
    stop: int | None = None,
    channels: tuple = CHANNELS,
    version: str = CLEANER_VERSION,
    box: float = 0.0,
    bf16: bool | None = None,
    colour: bool = False,
    solid: float = 0.0,
    recal_batches: int = 100,
    log=print,
) -> dict:
    """Train for ``steps`` (the learning-rate schedule's length); ``stop`` ends earlier, keeping that schedule.
    ``bf16``: autocast to bfloat16 with channels-last memory (None: where ``bf16_supported``);
    the saved weights are fp32 and inference runs in fp32."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    bf16 = bf16_supported() if bf16 is None else bf16
    t0 = time.time()
    X, T, n_sources = build_pool(sheets, seed, box=box, colour=colour, solid=solid, log=log)
    log(f"pool: {len(X)} crops from {sheets} sheets of {n_sources} signatures in {time.time() - t0:.0f} s")
    net = CleanerNet(tuple(channels), X.shape[1])
    fmt = torch.channels_last if bf16 else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(seed + 1)
    net.train()
    run = 0.0
    for step in range(min(steps, stop or steps)):
        idx = rng.integers(len(X), size=batch)
        x = _inputs(X[idx])
        t = torch.from_numpy(T[idx].astype(np.float32))[:, None]
        if rng.random() < 0.5:
            x, t = x.flip(-1), t.flip(-1)
        x = x.contiguous(memory_format=fmt)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = net(x).float()
        dark = (x[:, :1] > 0.2).float()
        w = dark + 0.05
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, t, reduction="none") * w).sum() / w.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        lv = float(loss.detach())
        run = 0.98 * run + 0.02 * lv if step else lv
        if step % 100 == 0 or step == steps - 1:
            log(f"step {step} loss {run:.4f} {time.time() - t0:.0f} s")
        last = step == steps - 1 or step + 1 == stop
        if last:
            recalibrate(net, X, recal_batches)
        if step % 200 == 199 or last:
            meta = {"steps": step + 1, "seed": seed, "sheets": sheets, "batch": batch, "lr": lr, "box": box, "bf16": bf16,
                    "colour": colour, "solid": solid, "loss": round(run, 5), "seconds": round(time.time() - t0),
                    "datasets": list(DATASETS), "bn_recalibrated": last}  # fmt: skip
            _save(net, out, meta, tuple(channels), version, colour)
    return {"out": out, "loss": run, "seconds": time.time() - t0}


def _inputs(xb: np.ndarray) -> torch.Tensor:
    """Pool crops (N, C, h, w) uint8 -> the net's input: darkness, then chroma in about [-1, 1]."""
    x = xb.astype(np.float32)
    return torch.from_numpy(np.concatenate([1.0 - x[:, :1] / 255.0, (x[:, 1:] - 128.0) / 64.0], 1))


@torch.no_grad()
def recalibrate(net, X: np.ndarray, batches: int = 100, batch: int = 16, seed: int = 0) -> None:
    """Recompute the batch-norm running statistics in fp32 as a plain average over ``batches``
    pool batches. With bf16 training the running averages lag the weights (measured: validation
    loss in eval mode 0.197 against 0.131 in train mode at step 1400; 0.135 after this)."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    net.train()
    rng = np.random.default_rng(seed)
    for _ in range(batches):
        net(_inputs(X[rng.integers(len(X), size=batch)]))
    for m in bns:
        m.momentum = 0.1
    net.eval()


def recalibrate_file(path: str, out: str, log=print) -> dict:
    """``recalibrate`` saved weights on their own training pool (drawn again from the seed, sheet
    count and options they record): the step ``train`` takes after its last one, equal up to
    float rounding (``train``'s net runs in channels-last memory; statistics within 0.7%)."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    meta, cleaner = dict(ck["train"]), Cleaner(ck)
    X, _, _ = build_pool(int(meta["sheets"]), int(meta["seed"]), box=float(meta.get("box", 0.0)), colour=cleaner.colour,
                         solid=float(meta.get("solid", 0.0)), log=log)  # fmt: skip
    recalibrate(cleaner.net, X)
    _save(cleaner.net, out, {**meta, "bn_recalibrated": True}, tuple(ck["channels"]), ck["version"], cleaner.colour)
    return {"out": out, "from": path}


def _save(net, out: str, meta: dict, channels: tuple, version: str, colour: bool = False) -> None:
    net.eval()
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    ck = {"kind": KIND, "version": version, "work_side": WORK_SIDE, "channels": list(channels), "threshold": 0.5,
          "input": "grey+chroma" if colour else "grey", "state_dict": state, "train": meta}  # fmt: skip
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(out).with_suffix(".tmp")
    torch.save(ck, tmp)
    tmp.replace(out)
    net.train()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.cleaner_train", description="train the SigWeb cleaner")
    p.add_argument("--out", default="ml/weights/cleaner.pt")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--sheets", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop", type=int, help="stop after this many steps (the schedule still spans --steps)")
    p.add_argument("--channels", type=int, nargs="+", default=list(CHANNELS), help="U-Net widths, one per level")
    p.add_argument("--version", default=CLEANER_VERSION, help="the cleaner version the weights are saved as")
    p.add_argument("--box", type=float, default=0.0, help="share of overlaid sheets that also get form rules")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto", help="training arithmetic")
    p.add_argument("--solid", type=float, default=0.0, help="share of sheets whose signature is solid black (a pad export)")
    p.add_argument("--colour", action="store_true", help="read the image's chroma too (signatures get pen colours)")
    p.add_argument("--recalibrate", metavar="WEIGHTS", help="only recompute the batch-norm statistics of WEIGHTS into --out")
    a = p.parse_args(argv)
    if a.recalibrate:
        print(json.dumps(recalibrate_file(a.recalibrate, a.out)))
        return 0
    bf16 = None if a.precision == "auto" else a.precision == "bf16"
    r = train(a.out, a.steps, a.seed, a.sheets, stop=a.stop, channels=tuple(a.channels), version=a.version, box=a.box,
              bf16=bf16, colour=a.colour, solid=a.solid)  # fmt: skip
    print(json.dumps(r, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
