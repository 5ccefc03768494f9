"""Does reducing large pages to ``Detector.work_side`` before both stages change what the detector finds?

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python research/2026-11-30-detector-tta/work_side.py \
        --json docs/results/detector/work_side.json

AP@0.5 and recall of the shipped detector (``Detector.detect``) with the work side set to
several values, on two sets of large pages: the 67 validation pages (every 5th page of
``../shared/data/documents/train``) enlarged 4 times (2560x2560, bicubic; boxes likewise),
and 24 generated A4 pages at 300 dpi (2480x3508, ``ml.detection.synthpage``, seeds 100-123,
one or two signatures). "none" reads the page whole, as before the reduction; with a work side
S a page is reduced by the whole factor k = long side // S when k >= 2 (``ml.detection.boxes.reduce``):
S = 1280 (shipped) reads the enlarged validation pages at 1280 and the A4 pages at 1754
pixels, 850 at 853 and 877, 640 at 640 and 701.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import torch

from ml.detection import Detector, synthpage
from ml.detection.data import list_pages, load_page, split
from ml.detection.metrics import average_precision


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--sides", default="none,1280,850,640")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    det = Detector.load()
    _, val = split(list_pages(a.data))
    enlarged = []
    for image, boxes in (load_page(*p) for p in val):
        enlarged.append((cv2.resize(image, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC), boxes * 4))
    generated = [synthpage.page(s, width=2480, height=3508, signatures=1 + s % 2) for s in range(100, 124)]
    res = {}
    for side in a.sides.split(","):
        det.work_side = None if side == "none" else int(side)
        for name, pages in (("validation pages x4 (2560x2560)", enlarged), ("generated A4 300 dpi", generated)):
            t = time.thread_time()
            r = average_precision([det.detect(img) for img, _ in pages], [b for _, b in pages])
            row = {"ap": round(r["ap"], 4), "recall": round(r["recall"], 4),
                   "cpu_s_per_page": round((time.thread_time() - t) / len(pages), 3)}  # fmt: skip
            res[f"{name}, work side {side}"] = row
            print(name, side, row, flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
