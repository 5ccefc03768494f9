"""Writer-independent training, then calibration of the writer-dependent decision.

``train(config, progress)`` trains on the non-test writers of the configured datasets
(``ml.data.training_writers`` drops test writers by construction), validates each epoch
on held-out training writers (EER, writer-disjoint), keeps ``best.pt`` and ``last.pt``
(resumable), logs ``metrics.jsonl`` and finally writes ``model.pt``: the best weights plus
the calibrated decision (``ml.calibration.calibrate``), ready for ``Engine.load``.

The configuration lives in ``ml.config``, the validation split and per-epoch EER in
``ml.validation`` and the calibration in ``ml.calibration``; their public names are
re-exported here for callers that import them from ``ml.train``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from ml import checkpoint as ckpt
from ml.backbones import bf16_supported
from ml.batches import TrainingBatches, batch_stream
from ml.calibration import calibrate, calibrate_decision, negative_bank, pick_device
from ml.config import DEFAULTS, resolve_config, split_seed
from ml.data import group_by_writer, training_writers
from ml.engine import embed_batches
from ml.errors import CheckpointError
from ml.losses import CombinedLoss
from ml.models import build
from ml.preprocess import CANVAS, PREPROCESS_VERSION
from ml.samplers import WriterBatchSampler
from ml.validation import quick_validation, split_images

__all__ = [
    "DEFAULTS",
    "calibrate",
    "calibrate_decision",
    "make_checkpoint",
    "negative_bank",
    "pick_device",
    "quick_validation",
    "resolve_config",
    "seed_everything",
    "split_images",
    "split_seed",
    "train",
]


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_checkpoint(model, cfg, epoch, metrics, extra=None) -> dict:
    """A checkpoint dict (``ml.checkpoint`` format) of ``model`` trained with ``cfg``."""
    ck = {
        "kind": ckpt.KIND,
        "format": ckpt.FORMAT,
        "arch": cfg["model"]["arch"],
        "arch_kwargs": cfg["model"]["kwargs"],
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "preprocess": {"version": PREPROCESS_VERSION, "canvas": list(CANVAS)},
        "config": json.loads(json.dumps(cfg)),
        "metrics": metrics,
        "epoch": epoch,
    }
    ck.update(extra or {})
    return ck


def _load_resume(path: str) -> dict:
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip or truncation errors: not one of ours
        raise CheckpointError(f"{path} is not a SigWeb checkpoint ({type(exc).__name__})") from None
    if not isinstance(st, dict) or st.get("kind") != ckpt.KIND or "optimizer" not in st:
        raise CheckpointError(f"{path} is not a resumable SigWeb training checkpoint (a last.pt)")
    return st


@dataclass
class _Data:
    train_x: np.ndarray
    train_s: list
    val_x: np.ndarray
    val_s: list
    labels: np.ndarray  # writer index for genuine signatures, -index - 1 for their forgeries
    forged: np.ndarray
    writers: list[str]


def _load_data(cfg: dict, say) -> _Data:
    root = cfg["data"]["root"]
    samples = training_writers(root, cfg["data"]["datasets"])
    if not samples:
        raise FileNotFoundError(f"no training signatures found under {root} for {cfg['data']['datasets']}")
    say(0.0, f"preprocessing {len(samples)} signatures")
    (train_x, train_s), (val_x, val_s) = split_images(samples, cfg, lambda f, m: say(0.02 * f, m))
    n_genuine = Counter(s.writer for s in train_s if not s.forged)
    if sum(1 for c in n_genuine.values() if c >= 2) < 2:
        raise FileNotFoundError(
            f"no usable training data under {root}: need at least two writers with "
            f"two readable genuine signatures each ({len(train_s)} readable training signatures)"
        )
    writers = sorted({s.writer for s in train_s})
    wid = {w: i for i, w in enumerate(writers)}
    labels = np.array([wid[s.writer] if not s.forged else -wid[s.writer] - 1 for s in train_s])
    forged = np.array([s.forged for s in train_s])
    return _Data(train_x, train_s, val_x, val_s, labels, forged, writers)


@dataclass
class _Parts:
    model: torch.nn.Module
    loss_fn: CombinedLoss
    params: list
    opt: torch.optim.Optimizer
    sampler: WriterBatchSampler
    sched: torch.optim.lr_scheduler.LambdaLR
    epochs: int


def _build(cfg: dict, data: _Data, device: torch.device) -> _Parts:
    # channels-last is 1.5x faster for these convolutions on CPU and on tensor cores
    model = build(cfg["model"]["arch"], **cfg["model"]["kwargs"]).to(device, memory_format=torch.channels_last)
    lc = cfg["loss"]
    loss_fn = CombinedLoss(
        model.embedding_dim, len(data.writers), lc["weights"], lc["classifier"],
        lc["triplet_margin"], lc["mining"], lc["contrastive_margin"],
    ).to(device)  # fmt: skip
    params = list(model.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.AdamW(params, lr=cfg["optim"]["lr"], weight_decay=cfg["optim"]["weight_decay"])
    sc = cfg["sampler"]
    sampler = WriterBatchSampler(
        np.where(data.labels >= 0, data.labels, -data.labels - 1), data.forged, sc["writers"], sc["genuine"],
        sc["forged"], cfg["optim"]["steps_per_epoch"] or None, seed=cfg["seed"],
    )  # fmt: skip
    epochs = int(cfg["optim"]["epochs"])
    total = epochs * len(sampler)
    warm = int(cfg["optim"]["warmup_steps"])

    def lr_factor(s):  # linear warm-up, then cosine decay to zero
        return min(1.0, (s + 1) / max(1, warm)) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, total))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    return _Parts(model, loss_fn, params, opt, sampler, sched, epochs)


def _restore(p: _Parts, st: dict) -> tuple[int, float, list]:
    """Load a ``last.pt`` into the parts; returns (completed epochs, best val EER, history)."""
    p.model.load_state_dict(st["state_dict"])
    p.loss_fn.load_state_dict(st["loss_state"])
    p.opt.load_state_dict(st["optimizer"])
    p.sched.load_state_dict(st["scheduler"])
    torch.set_rng_state(st["rng"]["torch"])
    return int(st["epoch"]), float(st["best"]), list(st.get("history", []))


def train_precision(cfg: dict, device: torch.device) -> str:
    """``"bf16"`` (autocast) when ``amp`` is on and the device has fast bfloat16 kernels: a CUDA
    device, or a CPU with avx512_bf16 or AMX when ``amp_cpu`` is on too; else ``"fp32"``."""
    wanted = cfg["amp"] and (device.type == "cuda" or cfg["amp_cpu"])
    return "bf16" if wanted and bf16_supported(device.type) else "fp32"


def loader_workers(cfg: dict, device: torch.device) -> int:
    """How many processes make the batches. ``"auto"``: none when training on the CPU (the
    network's threads use every core better, docs/BENCHMARKS.md), up to 4 beside a CUDA device."""
    if cfg["loader_workers"] != "auto":
        return int(cfg["loader_workers"])
    return min(4, max(1, (os.cpu_count() or 2) - 1)) if device.type == "cuda" else 0


def training_batches(p: _Parts, data: _Data, cfg: dict, start_epoch: int, device):
    """The batches of epochs ``start_epoch`` to the last, in order (``ml.batches``): made in
    ``loader_workers`` processes on the CPU, or here on the training device when there are none."""
    workers = loader_workers(cfg, device)
    batches = TrainingBatches(
        data.train_x, [s.path for s in data.train_s], data.labels, p.sampler, range(start_epoch, p.epochs),
        cfg["augment"], cfg["data"]["raw_p"], cfg["seed"], "cpu" if workers else device,
    )  # fmt: skip
    return batch_stream(batches, workers)


def _train_epoch(p: _Parts, batches, cfg: dict, epoch: int, device, say, deadline) -> tuple[dict, int, bool]:
    """One epoch of optimisation on the next ``len(p.sampler)`` of ``batches`` (``training_batches``).
    Returns (summed losses, steps, stopped by the deadline)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    p.model.train()
    p.loss_fn.train()
    n_steps, epochs = len(p.sampler), p.epochs
    it = itertools.islice(batches, n_steps)
    bar = it
    if tqdm:
        bar = tqdm(it, total=n_steps, desc=f"epoch {epoch + 1}/{epochs}", leave=False, mininterval=5,
                   disable=not os.isatty(2))  # fmt: skip
    use_amp = train_precision(cfg, device) == "bf16"
    sums, n, t0 = {}, 0, time.time()
    for step, (x, y) in enumerate(bar):
        x, y = x.to(device).contiguous(memory_format=torch.channels_last), y.to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
            emb = p.model(x)
        loss, parts = p.loss_fn(emb.float(), y)
        p.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(p.params, 5.0)
        p.opt.step()
        p.sched.step()
        n += 1
        for k, v in {"loss": float(loss.detach()), **parts}.items():
            sums[k] = sums.get(k, 0.0) + v
        if tqdm and hasattr(bar, "set_postfix") and step % 10 == 0:
            bar.set_postfix(loss=f"{sums['loss'] / n:.3f}")
        if step % 20 == 0:
            frac = (epoch + step / n_steps) / epochs
            if not os.isatty(2):  # a log file gets a line per 20 steps instead of a bar
                print(f"epoch {epoch + 1}/{epochs} step {step}/{n_steps} loss {sums['loss'] / n:.4f} "
                      f"{(time.time() - t0) / (step + 1):.2f}s/step", flush=True)  # fmt: skip
            say(0.02 + 0.9 * frac, f"epoch {epoch + 1}/{epochs} step {step}/{n_steps} loss {sums['loss'] / n:.3f}")
        if deadline and time.time() > deadline:
            return sums, n, True
    return sums, n, False


def _validate(p: _Parts, data: _Data, cfg: dict, device) -> dict:
    vemb = embed_batches(p.model, data.val_x, device, 128)
    return quick_validation(group_by_writer(data.val_s, vemb), cfg["validation"]["refs"], cfg["validation"]["seed"])


def _save_epoch(p: _Parts, cfg: dict, out: Path, epoch: int, rec: dict, best: float, improved: bool, history) -> None:
    """``best.pt`` when the epoch improved on the best validation EER, and a resumable ``last.pt``."""
    if improved:
        ckpt.save(make_checkpoint(p.model, cfg, epoch + 1, rec), out / "best.pt")
    ckpt.save(make_checkpoint(p.model, cfg, epoch + 1, rec, {
        "optimizer": p.opt.state_dict(), "scheduler": p.sched.state_dict(), "loss_state": p.loss_fn.state_dict(),
        "rng": {"torch": torch.get_rng_state()}, "best": best, "history": history,
    }), out / "last.pt")  # fmt: skip


def train(cfg: dict, progress=None, resume: str | None = None) -> Path:
    """Train, validate, checkpoint and calibrate. Returns the path of ``model.pt``."""
    t_start = time.time()
    say = progress or (lambda frac, msg: None)
    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "config.yaml", "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    seed_everything(cfg["seed"])
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    device = pick_device(cfg["device"])
    st = _load_resume(resume) if resume else None  # before preprocessing: a wrong file fails at once
    data = _load_data(cfg, say)
    p = _build(cfg, data, device)
    start_epoch, best, history = 0, float("inf"), []
    if st is not None:
        start_epoch, best, history = _restore(p, st)  # "epoch" counts completed epochs
        say(start_epoch / p.epochs, f"resumed from {resume} after epoch {start_epoch}")
    deadline = t_start + 60 * float(cfg["max_minutes"]) if cfg["max_minutes"] else None
    batches = training_batches(p, data, cfg, start_epoch, device)
    with open(out / "metrics.jsonl", "a") as log:
        for epoch in range(start_epoch, p.epochs):
            t0 = time.time()
            sums, n, stopped_early = _train_epoch(p, batches, cfg, epoch, device, say, deadline)
            val = _validate(p, data, cfg, device)
            rec = {"epoch": epoch + 1, "seconds": round(time.time() - t0, 1), "lr": p.sched.get_last_lr()[0],
                   "precision": train_precision(cfg, device), "steps": n,
                   **{k: round(v / max(n, 1), 5) for k, v in sums.items()}, **val}  # fmt: skip
            history.append(rec)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
            improved = val["val_eer"] < best
            best = val["val_eer"] if improved else best
            _save_epoch(p, cfg, out, epoch, rec, best, improved, history)
            say(0.02 + 0.9 * (epoch + 1) / p.epochs, f"epoch {epoch + 1}/{p.epochs} val EER {val['val_eer']:.4f}")
            if stopped_early:
                print(json.dumps({"stopped": "max_minutes reached", "epoch": epoch + 1}), flush=True)
                break
    say(0.93, "calibrating the decision on validation writers")
    path = calibrate(out / "best.pt", out / "model.pt", cfg, train_data=(data.train_x, data.train_s),
                     val_data=(data.val_x, data.val_s), train_minutes=(time.time() - t_start) / 60)  # fmt: skip
    say(1.0, f"done: {path}")
    return path
