"""How much of a signature the cleaner keeps, and how much printed material it leaves.

    .venv/bin/python benchmarks/cleaner_iou.py --data cache/splits/cedar_val cache/splits/bhsig_val \\
        [--weights cache/cleaner/candidate.pt] --seed 0 --json out.json

For every genuine and forged image of DATA (the ``<writer>/{genuine,forged}`` layout) it draws
the evaluation overlay of ``python -m ml overlay --seed S`` in memory (same sheets), cleans the
sheet with the cleaner (the default version, or the weights given), and compares ink masks
(pixels darker than 200 after flat-fielding) with the signature's own ink on the sheet:

- ``iou``: ink kept by the cleaner against the signature's ink;
- ``kept_signature``: share of the signature's ink kept;
- ``left_print``: dark pixels kept that are not the signature's, per signature ink pixel;
- ``box_iou``: the crop preprocessing takes (``ml.preprocess.clean_gray``) against the
  signature's own box; a leftover far from the signature widens the crop and shrinks the
  signature in the network's input;
- ``clean_iou`` and ``clean_passed``: the same on the clean image, and the share of clean
  images the gate passes unchanged.
``--generated N`` adds the last two for N generated signatures (``ml.synthetic``, writers
0..N-1) drawn as a file export of a pad drawing would look: solid black strokes of even width,
a style none of the datasets has. Means over images; one CPU thread.
"""

import argparse
import json
import os
import sys
import zlib
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np
import torch
from PIL import Image

from ml import cleaner as cleaning
from ml import overlay as ov
from ml import synthetic
from ml.data import scan_writers
from ml.detection.boxes import iou_matrix
from ml.preprocess import SignatureInputError, clean_gray, flat_field, render_strokes
from ml.selection import write_json


def _box(mask: np.ndarray) -> tuple:
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    return x, y, x + w, y + h


def _crop_box(gray: np.ndarray) -> tuple | None:
    """The crop preprocessing takes, in pixels of ``gray``; None when it finds no ink."""
    try:
        _, mask = clean_gray(gray)
    except SignatureInputError:
        return None
    s = gray.shape[1] / mask.shape[1]
    return tuple(round(v * s) for v in _box(mask))


def measure(cleaner, gray: np.ndarray, rng, material: ov.Material) -> dict:
    sheet, sig = ov.overlay(gray, rng, material)
    g = cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY)
    out = cleaner(g, sheet)
    dark = flat_field(g) < 200
    kept = dark if out is g else flat_field(out) < 200
    sig_ink = sig & dark
    n = max(1, int(sig_ink.sum()))
    crop = _crop_box(out)
    row = {
        "iou": float((kept & sig_ink).sum() / max(1, (kept | sig_ink).sum())),
        "kept_signature": float((kept & sig_ink).sum() / n),
        "left_print": float((kept & ~sig).sum() / n),
        "box_iou": float(iou_matrix(crop, _box(sig_ink))[0, 0]) if crop else 0.0,
    }
    return {**row, **measure_clean(cleaner, gray)}


def measure_clean(cleaner, gray: np.ndarray) -> dict:
    """``clean_iou`` and ``clean_passed`` of one clean image."""
    clean = cleaner(gray)
    ink = flat_field(gray) < 200
    ck = flat_field(clean) < 200
    return {"clean_iou": float((ck & ink).sum() / max(1, (ck | ink).sum())), "clean_passed": float(clean is gray)}


def generated(cleaner, n: int) -> dict:
    """``measure_clean`` on ``n`` generated signatures rendered as image files, averaged."""
    rows = [measure_clean(cleaner, render_strokes(synthetic.genuine(seed, 0), size=600)) for seed in range(n)]
    return {"images": n, **_means(rows)}


def _means(rows: list[dict]) -> dict:
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="*", default=[], help="folders of clean signatures to overlay and clean")
    ap.add_argument("--weights", help="candidate cleaner weights (default: the shipped cleaner)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gate", type=float, help="override the cleaner's gate (0: clean every image)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many images per folder (0: all)")
    ap.add_argument("--generated", type=int, default=0, help="also this many generated signatures drawn as image files")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    version = cleaning.register(a.weights) if a.weights else cleaning.DEFAULT_CLEANER
    cleaner = cleaning.get(version)
    if a.gate is not None:
        cleaner.gate = a.gate
    material = ov.load_pages(ov.Material(ov.EVAL.name, ov.EVAL.fonts))  # as `python -m ml overlay` does
    result = {
        "cleaner": version,
        "weights": a.weights or str(cleaning.weights_path(version)),
        "gate": cleaner.gate,
        "seed": a.seed,
        "sets": {},
    }
    for data in a.data:
        samples = scan_writers(Path(data))
        if a.limit:
            samples = samples[:: max(1, len(samples) // a.limit)][: a.limit]
        rows = []
        for s in samples:
            rel = Path(s.path).relative_to(Path(data))
            gray = np.asarray(Image.open(s.path).convert("L"))
            rng = np.random.default_rng([a.seed, zlib.crc32(str(rel).encode())])  # the sheet `ml overlay` draws
            rows.append(measure(cleaner, gray, rng, material))
        result["sets"][data] = {"images": len(rows), **_means(rows)}
        print(json.dumps({data: result["sets"][data]}), file=sys.stderr, flush=True)
    if a.generated:
        result["generated"] = generated(cleaner, a.generated)
        print(json.dumps({"generated": result["generated"]}), file=sys.stderr, flush=True)
    print(write_json(result, a.json))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
