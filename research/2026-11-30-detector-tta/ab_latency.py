"""Detection latency before and after a change, timed page by page in one process (interleaved).

    git archive 6d51b27 ml | tar -x -C /tmp/before    # the tree to compare with (its ml/ package)
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python \
        research/2026-11-30-detector-tta/ab_latency.py --before /tmp/before --json docs/results/detector/latency_ab.json

On a machine shared with other work, one benchmark run after another can differ by 30% in
thread CPU time; timing both versions on the same page one right after the other cancels that
drift. Both read the page from its bytes (``read_pages``) and detect as ``python -m ml detect``
does in its version (reading and detecting timed apart, and together), with the same shipped
checkpoint, one PyTorch and one OpenCV thread. Pages as in ``benchmarks/detect_latency.py``:
the validation pages, generated A4 at 200 dpi (JPEG) and at 300 dpi (PNG and JPEG).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import torch
from PIL import Image


def _load_ml(root: str):
    """(read_pages, Detector, WORK_SIDE or None) of the ``ml`` package under ``root``."""
    for name in [m for m in sys.modules if m == "ml" or m.startswith("ml.")]:
        del sys.modules[name]
    sys.path.insert(0, root)
    try:
        import ml.detection as det
        import ml.documents as docs
    finally:
        sys.path.remove(root)
    return docs.read_pages, det.Detector, getattr(det, "WORK_SIDE", None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="a folder holding the earlier ml/ package")
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--iters", type=int, default=24)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    weights = str(Path(__file__).resolve().parents[2] / "ml" / "weights" / "detector.pt")
    read_b, det_b, _ = _load_ml(str(Path(a.before).resolve()))
    before = det_b.load(weights)
    read_a, det_a, side = _load_ml(str(Path(__file__).resolve().parents[2]))
    after = det_a.load(weights)
    from ml.detection import synthpage
    from ml.detection.data import list_pages, split

    def run_before(data):  # -> (read ms, detect ms), thread CPU
        c0 = time.thread_time()
        pages = read_b(data)
        c1 = time.thread_time()
        for page in pages:
            before.detect(page.image)
        return (c1 - c0) * 1000, (time.thread_time() - c1) * 1000

    def run_after(data):
        c0 = time.thread_time()
        pages = read_a(data, reduce_to=side)
        c1 = time.thread_time()
        for page in pages:
            after.detect(page.image, size=page.size)
        return (c1 - c0) * 1000, (time.thread_time() - c1) * 1000

    def enc(arr, fmt):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format=fmt)
        return buf.getvalue()

    kinds = {}
    if Path(a.data, "images").is_dir():
        kinds["validation pages 640x640 JPEG"] = [p.read_bytes() for p, _ in split(list_pages(a.data))[1]]
    kinds["generated A4 200 dpi JPEG 1654x2339"] = [enc(synthpage.page(s, width=1654, height=2339)[0], "JPEG") for s in range(3)]
    a4 = synthpage.page(9, width=2480, height=3508)[0]
    kinds["generated A4 300 dpi PNG 2480x3508"] = [enc(a4, "PNG")]
    kinds["generated A4 300 dpi JPEG 2480x3508"] = [enc(a4, "JPEG")]
    run_before(kinds[next(iter(kinds))][0])
    run_after(kinds[next(iter(kinds))][0])
    res = {"work_side": side, "iters": a.iters, "kinds": {}}
    for name, blobs in kinds.items():
        ms = {(v, part): [] for v in ("before", "after") for part in ("read", "detect", "total")}
        for i in range(a.iters):
            order = (("before", run_before), ("after", run_after))
            for label, fn in order if i % 2 == 0 else order[::-1]:  # each goes first half the time
                read, detect = fn(blobs[i % len(blobs)])
                for part, value in (("read", read), ("detect", detect), ("total", read + detect)):
                    ms[label, part].append(value)
        row = {}
        for part in ("read", "detect", "total"):
            b, f = ms["before", part], ms["after", part]
            row[part] = {"before_p50": round(statistics.median(b), 1), "after_p50": round(statistics.median(f), 1),
                         "saved_p50_of_pairs": round(statistics.median([x - y for x, y in zip(b, f)]), 1)}  # fmt: skip
        res["kinds"][name] = row
        print(name, row, flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
