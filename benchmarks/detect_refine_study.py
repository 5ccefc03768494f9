"""The detector's second stage on its validation pages: AP at IoU 0.5 and 0.7, recall and the
second stage's CPU time per page, for several two-stage checkpoints and numbers of passes.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/detect_refine_study.py \\
        runs/refiner_s0/detector.pt runs/refiner_s1/detector.pt ml/weights/detector.pt --passes 1 2 --json OUT

The first stage of the first checkpoint runs once per validation page (the checkpoints must
share it) and keeps the boxes it gives its second stage (``ml.detection.proposals``: its 4
best, and any other scoring at least 0.3); each checkpoint's refiner (one head or an
ensemble) then refines those boxes with ``Detector.second_stage``, as ``Detector.detect``
does. The first row is those first-stage boxes alone. Time is thread CPU time of the second stage, one thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ml.detection import Detector
from ml.detection.data import list_pages, split
from ml.detection.metrics import average_precision
from ml.detection.refine_train import first_stage


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="two-stage detector checkpoints")
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--passes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args()
    torch.set_num_threads(1)
    base = Detector.load(a.models[0])
    base.refiner = None
    cached = first_stage(base, split(list_pages(a.data))[1])
    truths = [c[3] for c in cached]

    def row(name: str, dets: list, ms: float | None, passes=None) -> dict:
        r = {"model": name, "passes": passes, "second_stage_cpu_ms_per_page": ms}
        for iou in (0.5, 0.7):
            m = average_precision(dets, truths, iou=iou)
            r[f"ap{int(iou * 100)}"] = round(m["ap"], 4)
            if iou == 0.5:
                r["recall"] = round(m["recall"], 4)
                r["detections"] = m["detections"]
        print(json.dumps(r), flush=True)
        return r

    rows = [row("first stage, the boxes it gives the second stage", [list(zip(b, s)) for _, b, s, _ in cached], None)]
    for path in a.models:
        det = Detector.load(path)
        if det.refiner is None:
            raise SystemExit(f"{path} has no second stage")
        for passes in a.passes:
            det.refine_passes = passes
            t0 = time.thread_time()
            dets = [det.second_stage(g, b, s) for g, b, s, _ in cached]
            ms = (time.thread_time() - t0) * 1000 / len(cached)
            name = f"{path} ({len(det.refiner)} head{'s' if len(det.refiner) > 1 else ''})"
            rows.append(row(name, dets, round(ms, 1), passes))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        out = {"pages": len(cached), "true_boxes": sum(map(len, truths)), "rows": rows}
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
