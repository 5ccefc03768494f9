"""Which detector score to offer as a signature candidate (``SIGWEB_DETECTION_MIN_SCORE``):
recall, precision and empty pages at several minimum scores, on the detector's
**validation pages** only (every 5th page of ``../shared/data/documents/train``, never
trained on; no test data is read).

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/detection_min_score.py --json

A box counts as found when it overlaps a true signature with IoU >= 0.5 (``ml.detection.metrics``).
"""

from __future__ import annotations

import argparse
import json

import torch

from ml.detection import Detector
from ml.detection.data import list_pages, load_page, split
from ml.detection.metrics import match

SCORES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--model", help="detector checkpoint (default: ml/weights/detector.pt)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    detector = Detector.load(a.model)
    _, val = split(list_pages(a.data))
    dets, truths = [], []
    for image_path, label_path in val:
        image, boxes = load_page(image_path, label_path)
        dets.append(detector.detect(image, min_score=min(SCORES)))
        truths.append(boxes)
    scores, tp, n_true = match(dets, truths, iou=0.5)
    rows = []
    for s in SCORES:
        kept = scores >= s
        signed = [i for i, t in enumerate(truths) if len(t)]
        rows.append(
            {
                "min_score": s,
                "recall": round(float(tp[kept].sum()) / n_true, 3),
                "precision": round(float(tp[kept].sum()) / max(1, int(kept.sum())), 3),
                "boxes_per_page": round(float(kept.sum()) / len(val), 2),
                "signed_pages_without_a_box": sum(not any(d["score"] >= s for d in dets[i]) for i in signed),
                "blank_pages_with_a_box": sum(any(d["score"] >= s for d in dets[i]) for i, t in enumerate(truths) if not len(t)),
            }
        )
    out = {"model": detector.version, "pages": len(val), "true_boxes": n_true, "rows": rows}
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{detector.version}: {len(val)} validation pages, {n_true} signatures")
        for r in rows:
            print("  " + "  ".join(f"{k} {v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
