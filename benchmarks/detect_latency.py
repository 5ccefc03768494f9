"""Signature detection latency per page on one CPU thread, decoding included.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/detect_latency.py --json

Page kinds, each timed from the file's bytes to the boxes (``ml.documents.read_pages`` then
``Detector.detect``, as ``python -m ml detect`` calls them): the validation pages of ``--data``
(640x640 JPEG, when present), generated A4 pages at 200 dpi (1654x2339 JPEG) and at 300 dpi
(2480x3508, PNG and JPEG). PDF rendering (``read_pages`` of a one-page PDF, 200 dpi) is
reported on its own. Thread CPU time is the figure that does not depend on other work sharing
the machine; wall clock is given beside it. PyTorch and OpenCV both run on one thread.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ml.detection import WORK_SIDE, Detector, synthpage
from ml.detection.data import list_pages, split
from ml.documents import read_pages


def _pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _encode(arr: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    kw = {"resolution": 200.0} if fmt == "PDF" else {}  # an A4 page at 200 dpi is an A4 PDF page
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _time(fn, blobs: list[bytes], iters: int) -> dict:
    cpu, wall = [], []
    for i in range(iters):
        data = blobs[i % len(blobs)]
        t0, c0 = time.perf_counter(), time.thread_time()
        fn(data)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return {"n": iters, "cpu_ms_p50": round(statistics.median(cpu), 1), "cpu_ms_p90": round(_pct(cpu, 0.9), 1),
            "wall_ms_p50": round(statistics.median(wall), 1), "wall_ms_p90": round(_pct(wall, 0.9), 1)}  # fmt: skip


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--model", help="detector checkpoint (default: the shipped one)")
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # one thread for resizing too: thread CPU time would not count a helper thread's work
    det = Detector.load(a.model)

    def detect(data: bytes):  # as `python -m ml detect` reads and detects
        for page in read_pages(data, reduce_to=WORK_SIDE):
            det.detect(page.image, size=page.size)

    kinds = {}
    if Path(a.data, "images").is_dir():
        kinds["validation pages 640x640 JPEG"] = [p.read_bytes() for p, _ in split(list_pages(a.data))[1]]
    a4 = [synthpage.page(s, width=1654, height=2339)[0] for s in range(3)]
    kinds["generated A4 200 dpi JPEG 1654x2339"] = [_encode(p, "JPEG") for p in a4]
    a4_300 = synthpage.page(9, width=2480, height=3508)[0]
    kinds["generated A4 300 dpi PNG 2480x3508"] = [_encode(a4_300, "PNG")]
    kinds["generated A4 300 dpi JPEG 2480x3508"] = [_encode(a4_300, "JPEG")]
    detect(kinds[next(iter(kinds))][0])  # warm-up
    res = {"model": det.version, "threads": torch.get_num_threads(), "work_side": WORK_SIDE, "detect": {}}
    for name, blobs in kinds.items():
        res["detect"][name] = _time(detect, blobs, a.iters if "640" in name else max(5, a.iters // 4))
    pdf = [_encode(a4[0], "PDF")]  # one A4 page, rendered back at 200 dpi to 1654x2339
    res["pdf_render_only A4 200 dpi"] = _time(read_pages, pdf, max(5, a.iters // 4))
    print(json.dumps(res, indent=2) if a.json else res)


if __name__ == "__main__":
    main()
