"""Writer-independent training, then calibration of the writer-dependent decision.

``train(config, progress)`` trains on the non-test writers of the configured datasets
(``ml.data.training_writers`` drops test writers by construction), validates each epoch
on held-out training writers (EER, writer-disjoint), keeps ``best.pt`` and ``last.pt``
(resumable), logs ``metrics.jsonl`` and finally writes ``model.pt``: the best weights plus
the calibrated decision (``calibrate``), ready for ``Engine.load``.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import yaml

from ml import checkpoint as ckpt
from ml.augment import AugmentConfig, BatchAugment, raw_augment
from ml.data import Sample, group_by_writer, preprocess_all, split_validation, training_writers
from ml.engine import embed_batches
from ml.errors import CheckpointError
from ml.losses import CombinedLoss
from ml.metrics import eer
from ml.models import build
from ml.preprocess import CANVAS, PREPROCESS_VERSION, load_gray, preprocess_gray
from ml.samplers import WriterBatchSampler
from ml.writer import Calibrator, bucket_name, protocol_features

DEFAULTS: dict = {
    "data": {
        "root": "../shared/data/signatures",
        "datasets": ["cedar", "bhsig_bengali", "sigcomp2011_dutch", "cross_media_chinese"],
        "val_fraction": 0.1,
        "split_seed": None,  # seed of the validation split; None: the run's seed
        "cache_dir": "cache",
        "raw_p": 0.0,
    },
    "model": {"arch": "sigfast", "kwargs": {}},
    "loss": {
        "weights": {"classification": 1.0, "forgery": 0.3, "triplet": 1.0, "contrastive": 0.0},
        "classifier": "cosface",
        "mining": "semihard",
        "triplet_margin": 0.2,
        "contrastive_margin": 1.0,
    },
    "sampler": {"writers": 16, "genuine": 4, "forged": 2},
    "optim": {"lr": 0.002, "weight_decay": 0.0001, "epochs": 12, "steps_per_epoch": 0, "warmup_steps": 100},
    "augment": {},
    "validation": {"refs": 5, "seed": 0},
    "calibration": {"refs": [1, 5, 10], "seeds": [0, 1], "negatives": 1000, "svm_c": 1.0, "threshold_refs": 5,
                    "mode": "skilled_half"},
    "out": "runs/sigfast",
    "seed": 1,
    "device": "auto",
    "threads": 0,
    "amp": True,
    "max_minutes": 0,
    "workers": 2,
}


# --------------------------------------------------------------------------- config

OPEN_SECTIONS = ("model.kwargs", "augment", "loss.weights")  # free-form: any key allowed


def _check_key(node: dict, section: str, key: str):
    if key not in node and section not in OPEN_SECTIONS:
        raise KeyError(f"unknown config key {(section + '.' if section else '') + key!r}")


def _set_dotted(cfg: dict, key: str, value):
    *parents, last = key.split(".")
    node, section = cfg, ""
    for p in parents:
        _check_key(node, section, p)
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise KeyError(f"config key {key!r}: {p!r} is not a section")
        section = f"{section}.{p}" if section else p
    _check_key(node, section, last)
    node[last] = value


def _merge(base: dict, over: dict, section: str = ""):
    for k, v in over.items():
        _check_key(base, section, k)
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v, f"{section}.{k}" if section else k)
        else:
            base[k] = v


def resolve_config(path: str | None = None, overrides: list[str] | None = None) -> dict:
    """Defaults, then the YAML/JSON file, then ``key.sub=value`` overrides (YAML-parsed)."""
    cfg = copy.deepcopy(DEFAULTS)
    if path:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
        if not isinstance(data, dict):
            raise ValueError(f"config {path} must be a mapping")
        _merge(cfg, data)
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like key=value")
        k, v = item.split("=", 1)
        _set_dotted(cfg, k.strip(), yaml.safe_load(v))
    return cfg


# --------------------------------------------------------------------------- helpers

def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def split_seed(cfg: dict) -> int:
    """The validation split's seed: ``data.split_seed``, or the run's seed when unset, so
    that runs differing only in their seed can still be compared on the same writers."""
    value = cfg["data"].get("split_seed")
    return int(cfg["seed"] if value is None else value)


def _split_images(samples: list[Sample], cfg: dict, progress=None):
    """Preprocess all samples once (one cache entry), then split writer-disjointly."""
    imgs, ok = preprocess_all([s.path for s in samples], cfg["data"]["cache_dir"], cfg["workers"], progress)
    train_s, val_s = split_validation(samples, cfg["data"]["val_fraction"], split_seed(cfg))
    val_w = {s.person for s in val_s}
    parts = []
    for want_val in (False, True):
        keep = [i for i, s in enumerate(samples) if ok[i] and (s.person in val_w) == want_val]
        parts.append((imgs[keep], [samples[i] for i in keep]))
    return parts[0], parts[1]


def quick_validation(emb_by_writer: dict, refs: int, seed: int) -> dict:
    """Validation EERs, per dataset and their mean (``val_eer``, used for model selection).

    Scores are the writer-independent mean cosine similarity to the references (no SVM;
    fast). Datasets are scored separately: pooling them mixes similarity scales and
    hides real progress. Each dataset's EER is against skilled forgeries where it has
    them, random forgeries otherwise.
    """
    by_ds: dict[str, dict] = {}
    for w, d in emb_by_writer.items():
        by_ds.setdefault(w.split("/", 1)[0], {})[w] = d
    out, prim = {}, []
    for ds, sub in sorted(by_ds.items()):
        r = _cosine_eers(sub, refs, seed)
        out[f"val_eer_{ds}"] = r["val_eer"]
        prim.append(r["val_eer"])
    out["val_eer"] = float(np.mean(prim))
    return out


def _cosine_eers(emb_by_writer: dict, refs: int, seed: int) -> dict:
    g, s, r = [], [], []
    for w, d in sorted(emb_by_writer.items()):
        gen = d["genuine"]
        if len(gen) < 2:
            continue
        order = np.random.default_rng([seed, len(gen)]).permutation(len(gen))
        k = min(refs, len(gen) - 1)
        ref = gen[order[:k]]
        g.append((gen[order[k:]] @ ref.T).mean(1))
        if len(d["forged"]):
            s.append((d["forged"] @ ref.T).mean(1))
        others = [o["genuine"] for ow, o in emb_by_writer.items() if ow != w]
        if others:
            r.append((np.concatenate(others) @ ref.T).mean(1))
    g = np.concatenate(g)
    out = {"val_eer_random": eer(g, np.concatenate(r))[0] if r else None}
    out["val_eer_skilled"] = eer(g, np.concatenate(s))[0] if s else None
    out["val_eer"] = out["val_eer_skilled"] if s else out["val_eer_random"]
    return out


# --------------------------------------------------------------------------- calibration

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


def calibrate_decision(val_emb: dict, negatives: np.ndarray, cal: dict) -> tuple[dict, dict]:
    """Fit calibrators and the global threshold on validation writers. Returns (decision, report)."""
    feats: dict[str, dict[str, list]] = {}
    for n_refs in cal["refs"]:
        for seed in cal["seeds"]:
            for _, r, f in protocol_features(val_emb, n_refs, seed, negatives, C=cal["svm_c"]):
                parts = feats.setdefault(bucket_name(r), {"genuine": [], "skilled": [], "random": []})
                for kind, arr in f.items():
                    parts[kind].append(arr)
    data = {b: {k: np.concatenate(v) for k, v in parts.items()} for b, parts in feats.items()}
    calib = Calibrator().fit(data, mode=cal["mode"])
    # threshold: validation EER (genuine vs skilled; random where a set has no forgeries)
    # at the operating reference count, scored with the calibrated decision
    tr = cal["threshold_refs"]
    g, neg_s, neg_r = [], [], []
    for _, r, f in protocol_features(val_emb, tr, cal["seeds"][0], negatives, C=cal["svm_c"]):
        g.append(calib.score(f["genuine"], r))
        neg_s.append(calib.score(f["skilled"], r))
        neg_r.append(calib.score(f["random"], r))
    g, neg_s, neg_r = np.concatenate(g), np.concatenate(neg_s), np.concatenate(neg_r)
    primary = neg_s if neg_s.size else neg_r
    val_eer, threshold = eer(g, primary)
    decision = {
        "calibrator": calib.params,
        "threshold": float(threshold),
        "operating_point": f"validation-writer EER (genuine vs {'skilled' if neg_s.size else 'random'} forgeries), {tr} references",
        "negatives": torch.from_numpy(negatives.astype(np.float16)),
        "svm_c": float(cal["svm_c"]),
    }
    report = {"val_eer_calibrated": val_eer, "threshold": float(threshold),
              "val_eer_random_calibrated": eer(g, neg_r)[0] if neg_r.size else None}
    return decision, report


# --------------------------------------------------------------------------- training

def _checkpoint(model, cfg, epoch, metrics, extra=None) -> dict:
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

    samples = training_writers(cfg["data"]["root"], cfg["data"]["datasets"])
    if not samples:
        raise FileNotFoundError(f"no training signatures found under {cfg['data']['root']} for {cfg['data']['datasets']}")
    say(0.0, f"preprocessing {len(samples)} signatures")
    (train_x, train_s), (val_x, val_s) = _split_images(samples, cfg, lambda f, m: say(0.02 * f, m))
    n_genuine = Counter(s.writer for s in train_s if not s.forged)
    if sum(1 for c in n_genuine.values() if c >= 2) < 2:
        raise FileNotFoundError(f"no usable training data under {cfg['data']['root']}: need at least two writers with "
                                f"two readable genuine signatures each ({len(train_s)} readable training signatures)")
    writers = sorted({s.writer for s in train_s})
    wid = {w: i for i, w in enumerate(writers)}
    labels = np.array([wid[s.writer] if not s.forged else -wid[s.writer] - 1 for s in train_s])
    forged = np.array([s.forged for s in train_s])

    # channels-last is 1.5x faster for these convolutions on CPU and on tensor cores
    model = build(cfg["model"]["arch"], **cfg["model"]["kwargs"]).to(device, memory_format=torch.channels_last)
    lc = cfg["loss"]
    loss_fn = CombinedLoss(model.embedding_dim, len(writers), lc["weights"], lc["classifier"],
                           lc["triplet_margin"], lc["mining"], lc["contrastive_margin"]).to(device)
    params = list(model.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.AdamW(params, lr=cfg["optim"]["lr"], weight_decay=cfg["optim"]["weight_decay"])
    sampler = WriterBatchSampler(np.where(labels >= 0, labels, -labels - 1), forged, cfg["sampler"]["writers"],
                                 cfg["sampler"]["genuine"], cfg["sampler"]["forged"],
                                 cfg["optim"]["steps_per_epoch"] or None, seed=cfg["seed"])
    epochs = int(cfg["optim"]["epochs"])
    total = epochs * len(sampler)
    warm = int(cfg["optim"]["warmup_steps"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, warm)) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, total)))))
    gen = torch.Generator().manual_seed(cfg["seed"])
    augment = BatchAugment(AugmentConfig(**cfg["augment"]), gen)
    raw_rng = np.random.default_rng(cfg["seed"] + 7)
    use_amp = bool(cfg["amp"]) and device.type == "cuda"
    start_epoch, best = 0, float("inf")
    history = []
    if st is not None:
        model.load_state_dict(st["state_dict"])
        loss_fn.load_state_dict(st["loss_state"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        gen.set_state(st["rng"]["augment"])
        torch.set_rng_state(st["rng"]["torch"])
        start_epoch, best = int(st["epoch"]), float(st["best"])  # "epoch" counts completed epochs
        history = list(st.get("history", []))
        say(start_epoch / epochs, f"resumed from {resume} after epoch {start_epoch}")

    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    log = open(out / "metrics.jsonl", "a")
    deadline = t_start + 60 * float(cfg["max_minutes"]) if cfg["max_minutes"] else None
    stopped_early = False
    for epoch in range(start_epoch, epochs):
        model.train()
        loss_fn.train()
        sampler.set_epoch(epoch)
        it = iter(sampler)
        bar = tqdm(it, total=len(sampler), desc=f"epoch {epoch + 1}/{epochs}", leave=False, mininterval=5,
                   disable=not os.isatty(2)) if tqdm else it
        sums, n, t0 = {}, 0, time.time()
        for step, idx in enumerate(bar):
            batch = train_x[idx]
            if cfg["data"]["raw_p"] > 0:
                batch = batch.copy()
                for j, i in enumerate(idx):
                    if raw_rng.random() < cfg["data"]["raw_p"]:
                        try:
                            batch[j] = preprocess_gray(raw_augment(load_gray(train_s[i].path)[0], raw_rng), CANVAS)
                        except ValueError:
                            pass
            x = torch.from_numpy(batch).to(device).float().div_(255).unsqueeze(1)
            y = torch.from_numpy(labels[idx]).to(device)
            x = augment(x).contiguous(memory_format=torch.channels_last)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                emb = model(x)
            loss, parts = loss_fn(emb.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            sched.step()
            n += 1
            for k, v in {"loss": float(loss.detach()), **parts}.items():
                sums[k] = sums.get(k, 0.0) + v
            if tqdm and hasattr(bar, "set_postfix") and step % 10 == 0:
                bar.set_postfix(loss=f"{sums['loss'] / n:.3f}")
            if step % 20 == 0:
                frac = (epoch + step / len(sampler)) / epochs
                if not os.isatty(2):  # a log file gets a line per 20 steps instead of a bar
                    print(f"epoch {epoch + 1}/{epochs} step {step}/{len(sampler)} loss {sums['loss'] / n:.4f} "
                          f"{(time.time() - t0) / (step + 1):.2f}s/step", flush=True)
                say(0.02 + 0.9 * frac, f"epoch {epoch + 1}/{epochs} step {step}/{len(sampler)} loss {sums['loss'] / n:.3f}")
            if deadline and time.time() > deadline:
                stopped_early = True
                break
        vemb = embed_batches(model, val_x, device, 128)
        val = quick_validation(group_by_writer(val_s, vemb), cfg["validation"]["refs"], cfg["validation"]["seed"])
        rec = {"epoch": epoch + 1, "seconds": round(time.time() - t0, 1), "lr": sched.get_last_lr()[0],
               **{k: round(v / max(n, 1), 5) for k, v in sums.items()}, **val}
        history.append(rec)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(json.dumps(rec), flush=True)
        improved = val["val_eer"] < best
        if improved:
            best = val["val_eer"]
            ckpt.save(_checkpoint(model, cfg, epoch + 1, rec), out / "best.pt")
        ckpt.save(_checkpoint(model, cfg, epoch + 1, rec, {
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "loss_state": loss_fn.state_dict(),
            "rng": {"augment": gen.get_state(), "torch": torch.get_rng_state()}, "best": best, "history": history,
        }), out / "last.pt")
        say(0.02 + 0.9 * (epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs} val EER {val['val_eer']:.4f}")
        if stopped_early:
            print(json.dumps({"stopped": "max_minutes reached", "epoch": epoch + 1}), flush=True)
            break
    log.close()
    say(0.93, "calibrating the decision on validation writers")
    path = calibrate(out / "best.pt", out / "model.pt", cfg, train_data=(train_x, train_s), val_data=(val_x, val_s),
                     train_minutes=(time.time() - t_start) / 60)
    say(1.0, f"done: {path}")
    return path


def calibrate(src, dst, cfg: dict | None = None, train_data=None, val_data=None, train_minutes=None) -> Path:
    """Add the calibrated writer-dependent decision to a trained checkpoint."""
    ck = ckpt.load(src)
    cfg = cfg or ck["config"]
    model = ckpt.build_model(ck)
    device = pick_device(cfg.get("device", "auto"))
    model.to(device)
    if train_data is None or val_data is None:
        samples = training_writers(cfg["data"]["root"], cfg["data"]["datasets"])
        train_data, val_data = _split_images(samples, cfg)
    tx, ts = train_data
    vx, vs = val_data
    cal = {**DEFAULTS["calibration"], **cfg.get("calibration", {})}
    bank_idx = [i for i, s in enumerate(ts) if not s.forged]
    bank_emb = embed_batches(model, tx[bank_idx], device, 128)
    negatives = negative_bank([ts[i] for i in bank_idx], bank_emb, cal["negatives"], cfg["seed"])
    val_emb = group_by_writer(vs, embed_batches(model, vx, device, 128))
    decision, report = calibrate_decision(val_emb, negatives, cal)
    out = {k: v for k, v in ck.items() if k not in ("optimizer", "scheduler", "loss_state", "rng", "history", "_path")}
    out["decision"] = decision
    out["metrics"] = {**ck.get("metrics", {}), **report}
    if train_minutes is not None:
        out["metrics"]["train_minutes"] = round(train_minutes, 1)
    out["validation_writers"] = sorted(val_emb)
    ckpt.save(out, dst)
    print(json.dumps({"calibrated": str(dst), **report}), flush=True)
    return Path(dst)
