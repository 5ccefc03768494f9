"""Where the overlaid EER comes from: signature ink the cleaner loses, or print it leaves.

    PYTHONPATH=$PWD .venv/bin/python research/2026-11-30-cleaner-errors/variants.py \\
        --data cache/splits/cedar_val --out cache/cleaner_errors/cedar_val [--weights W] [--seed 0]

For every image of DATA it draws the evaluation overlay of ``python -m ml overlay --seed S``
(same sheets), cleans it as ``ml.preprocess.prepare`` does, and writes four folders under OUT
(the ``<writer>/{genuine,forged}`` layout), each to be scored with ``python -m ml evaluate
--cleaner none``:

- ``cleaned``: the cleaner's output (what the product scores);
- ``no_print``: the same with every pixel that is not the signature's ink made paper
  (print left removed, signature ink lost stays lost);
- ``full_ink``: the cleaner's output with the signature's own ink put back (signature loss
  undone, print left stays);
- ``print_far``: ``no_print`` plus the print left *outside* the signature's box (what
  widens the crop), nothing inside it;
- ``pure``: the signature alone on the sheet at the working size (the floor: no print, no loss).
"""

import argparse
import os
import zlib
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np
import torch
from PIL import Image

from ml import cleaner as cleaning
from ml import overlay as ov
from ml.data import scan_writers
from ml.preprocess import _maybe_downscale


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    version = cleaning.register(a.weights) if a.weights else cleaning.DEFAULT_CLEANER
    cleaner = cleaning.get(version)
    material = ov.load_pages(ov.Material(ov.EVAL.name, ov.EVAL.fonts))
    data, out = Path(a.data), Path(a.out)
    for s in scan_writers(data):
        rel = Path(s.path).relative_to(data)
        gray = np.asarray(Image.open(s.path).convert("L"))
        rng = np.random.default_rng([a.seed, zlib.crc32(str(rel).encode())])
        sheet, sig = ov.overlay(gray, rng, material)
        g = _maybe_downscale(cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY))
        h, w = g.shape
        # the signature's own grey layer on the sheet, at the working size
        layer = _signature_layer(gray, sig)
        layer = cv2.resize(layer, (w, h), interpolation=cv2.INTER_AREA) if layer.shape != g.shape else layer
        inside = cv2.resize(sig.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        cleaned = cleaner(g, None)
        variants = {"cleaned": cleaned}
        c = cleaned.copy()
        c[~inside] = 255
        variants["no_print"] = c
        variants["full_ink"] = np.minimum(cleaned, layer)
        x, y, bw, bh = cv2.boundingRect(inside.astype(np.uint8))
        far = cleaned.copy()
        far[y : y + bh, x : x + bw] = c[y : y + bh, x : x + bw]
        variants["print_far"] = far
        variants["pure"] = layer  # the signature alone on the sheet, at the working size: no print, no loss
        for name, img in variants.items():
            dst = (out / name / rel).with_suffix(".png")
            dst.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img, "L").save(dst)
    return 0


def _signature_layer(gray: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """The signature alone on a white sheet the size of ``sig`` (its ink where ``sig`` marks it)."""
    ys, xs = np.nonzero(sig)
    gy, gx = np.nonzero(gray < 250)  # the same pixels in the signature's own image
    top, left = ys.min() - gy.min(), xs.min() - gx.min()
    layer = np.full(sig.shape, 255, np.uint8)
    h, w = gray.shape
    layer[top : top + h, left : left + w] = gray
    return layer


if __name__ == "__main__":
    raise SystemExit(main())
