"""Cleaned overlays of the training writers' signatures, as the evaluation path would see them.

    PYTHONPATH=$PWD .venv/bin/python research/2026-12-01-overlay-robust/variants.py \
        --config configs/sigfast_d512_lightaug_f4_seed2.yaml --out cache/overlay_robust/variants.npz [--seed 11]

For every training signature of the config (its validation writers are left out, and test
writers never appear: ``ml.data.training_writers``), one sheet of ``ml.overlay.overlay`` with
the TRAIN material (fonts and document pages the evaluation overlay never uses), encoded as a
PNG and read back, then ``ml.preprocess.preprocess_gray`` with the shipped cleaner
(``sigweb-clean-1``, its gate included): what a scanned page of that signature becomes before
the network. Writes ``paths`` (str) and ``images`` (uint8, N x 150 x 220); ``ok`` is False where
the file could not be read.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import time
import zlib
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from PIL import Image

from ml.config import resolve_config
from ml.data import _prep_one, training_writers
from ml.overlay import TRAIN, Material, load_pages, overlay
from ml.preprocess import CANVAS
from ml.validation import split_images

_MATERIAL = None


def _init():
    global _MATERIAL
    torch.set_num_threads(1)
    _MATERIAL = load_pages(Material(TRAIN.name, TRAIN.fonts))


def _one(args):
    path, seed = args
    try:
        gray = np.asarray(Image.open(path).convert("L"))
    except OSError:
        return None
    rng = np.random.default_rng([seed, zlib.crc32(str(path).encode())])
    sheet, _ = overlay(gray, rng, _MATERIAL)
    buf = io.BytesIO()
    Image.fromarray(sheet, "RGB").save(buf, format="PNG")
    return _prep_one(buf.getvalue(), CANVAS, "sigweb-clean-1")  # the evaluation's own read, clean and preprocess


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/sigfast_d512_lightaug_f4_seed2.yaml")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    cfg = resolve_config(a.config, [])
    (_, train_s), _ = split_images(training_writers(cfg["data"]["root"], cfg["data"]["datasets"]), cfg)
    paths = [str(s.path) for s in train_s]
    images = np.zeros((len(paths), *CANVAS), np.uint8)
    ok = np.zeros(len(paths), bool)
    t0 = time.time()
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(a.workers, mp_context=ctx, initializer=_init) as ex:
        for i, img in enumerate(ex.map(_one, [(p, a.seed) for p in paths], chunksize=16)):
            if img is not None:
                images[i], ok[i] = img, True
            if i % 500 == 0:
                print(f"{i}/{len(paths)} {time.time() - t0:.0f}s", flush=True)
    np.savez_compressed(a.out, paths=np.array(paths), images=images, ok=ok)
    print(f"{int(ok.sum())}/{len(paths)} written to {a.out} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
