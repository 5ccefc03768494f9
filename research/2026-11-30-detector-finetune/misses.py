"""Which validation signatures two detectors find: the true boxes either of them misses at IoU 0.5.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python research/2026-11-30-detector-finetune/misses.py \
        runs/shipped_two_stage.pt ml/weights/detector.pt --json docs/results/detector/head_ensemble_misses.json

For every validation page (every 5th page of ``../shared/data/documents/train``) each
detector's boxes (``Detector.detect``, score >= 0.05) are matched to the true boxes as
``ml.detection.metrics`` matches them; a true box is missed when no box of its page reaches
IoU 0.5 with it. Listed: page file, true box, and per detector the best IoU reached and the
score of that box.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ml.detection import Detector
from ml.detection.boxes import iou_matrix
from ml.detection.data import list_pages, load_page, split
from ml.detection.metrics import match


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs=2)
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    dets = [Detector.load(m) for m in a.models]
    rows, found = [], {m: [] for m in a.models}
    pages = split(list_pages(a.data))[1]
    for ip, lp in pages:
        image, truths = load_page(ip, lp)
        per = []
        for m, det in zip(a.models, dets):
            out = det.detect(image)
            boxes = np.asarray([d["box"] for d in out]).reshape(-1, 4)
            scores = np.asarray([d["score"] for d in out])
            _, tp, _ = match([out], [truths])
            found[m].append(int(tp.sum()))
            ious = iou_matrix(truths, boxes) if len(boxes) else np.zeros((len(truths), 0))
            per.append((ious, scores))
        for k, t in enumerate(truths):
            cells = []
            for ious, scores in per:
                j = int(np.argmax(ious[k])) if ious.shape[1] else -1
                cells.append({"best_iou": float(ious[k, j]) if j >= 0 else 0.0, "score": float(scores[j]) if j >= 0 else 0.0})
            if min(c["best_iou"] for c in cells) < 0.5:
                rows.append({"page": ip.name, "true_box": [round(float(v), 1) for v in t], **dict(zip(a.models, cells))})
    for r in rows:
        print(json.dumps(r))
    print(json.dumps({m: sum(v) for m, v in found.items()}))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(
            json.dumps({"missed_by_either": rows, "found": {m: sum(v) for m, v in found.items()}}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
