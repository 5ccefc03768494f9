"""Frozen-backbone features, computed once and cached (``python -m ml.features``).

A frozen backbone's pooled features never change, so every later stage (the per-writer
SVMs, the writer-independent model, heads trained on features, calibration) reads them
from an .npz instead of running the network again:

    python -m ml.features --out cache/lite0_bf16.npz                       # non-test writers only
    python -m ml.features --out cache/lite0_bf16_TEST.npz --test-writers   # the final evaluation only

Without ``--test-writers`` the samples come from ``ml.data.training_writers``, which drops
the test writers by construction; with it, *only* test writers are read, into a separate
file that selection code never opens.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from ml.data import is_test_writer, preprocess_all, scan_datasets, training_writers
from ml.models import build

DEFAULT_DATASETS = ["cedar", "bhsig_bengali", "sigcomp2011_dutch"]


def pooled_features(model, images: np.ndarray, batch_size: int = 16, progress=None) -> np.ndarray:
    """(N, H, W) uint8 ink-bright images -> (N, F) float32 pooled features of ``model.pooled``."""
    out = []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(np.asarray(images[i : i + batch_size])).float().div_(255).unsqueeze(1)
            out.append(model.pooled(x).numpy())
            if progress and (i // batch_size) % 20 == 0:
                progress(i, len(images))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def cache_features(
    root: str,
    datasets: list[str],
    out: str,
    model_kwargs: dict,
    test_writers: bool = False,
    workers: int = 1,
    prep_cache: str | None = "cache",
) -> Path:
    if test_writers:
        samples = [s for s in scan_datasets(root, datasets) if is_test_writer(s.dataset, s.person.split("/", 1)[1])]
    else:
        samples = training_writers(root, datasets)
    canvas = tuple(model_kwargs.get("canvas", (224, 320)))
    t0 = time.time()
    imgs, ok = preprocess_all([s.path for s in samples], prep_cache, workers, canvas=canvas)
    t1 = time.time()
    model = build("lite0", pretrained=True, **model_kwargs)
    keep = np.nonzero(ok)[0]
    feats = pooled_features(model, imgs[keep], progress=lambda i, n: print(f"embedded {i}/{n}", flush=True))
    t2 = time.time()
    kept = [samples[i] for i in keep]
    meta = {"model_kwargs": model_kwargs, "datasets": datasets, "test_writers": test_writers}
    meta.update(preprocess_s=round(t1 - t0, 1), embed_s=round(t2 - t1, 1), threads=torch.get_num_threads())
    write_features(Path(out), feats, kept, meta)
    print(
        json.dumps(
            {
                "out": str(out),
                "n": len(kept),
                "skipped": int((~ok).sum()),
                "preprocess_s": round(t1 - t0, 1),
                "embed_s": round(t2 - t1, 1),
            }
        ),
        flush=True,
    )
    return Path(out)


def write_features(path: Path, feats: np.ndarray, samples: list, meta: dict) -> None:
    """Pooled features of ``samples`` (``ml.data.Sample``) in this module's .npz format, written whole, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        features=feats.astype(np.float32),
        writer=np.array([s.writer for s in samples]),
        person=np.array([s.person for s in samples]),
        label=np.array([s.label for s in samples]),
        path=np.array([s.path for s in samples]),
        meta=json.dumps(meta),
    )
    os.replace(tmp, path)


def load_features(path: str) -> dict:
    z = np.load(path)
    return {
        "features": z["features"],
        "writer": z["writer"],
        "person": z["person"],
        "label": z["label"],
        "path": z["path"],
        "meta": json.loads(str(z["meta"])),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="../shared/data/signatures")
    ap.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS)
    ap.add_argument("--out", required=True)
    ap.add_argument("--canvas", type=int, nargs=2, default=[224, 320])
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    ap.add_argument("--no-invert", action="store_true")
    ap.add_argument("--test-writers", action="store_true", help="ONLY the test writers (final evaluation)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    cache_features(
        a.root,
        a.datasets,
        a.out,
        {"canvas": list(a.canvas), "precision": a.precision, "invert": not a.no_invert},
        a.test_writers,
        a.workers,
    )


if __name__ == "__main__":
    main()
