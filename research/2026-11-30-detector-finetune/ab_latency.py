"""Thread CPU time per page of two detectors, timed in turn in one process on the same pages.

    MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=268435456 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        PYTHONPATH=$PWD .venv/bin/python research/2026-11-30-detector-finetune/ab_latency.py \
        runs/shipped_two_stage.pt ml/weights/detector.pt --json docs/results/detector/latency_ab_heads.json

Pages: 40 validation pages (640x640 JPEG) and 10 generated A4 pages at 200 dpi (1654x2339
JPEG, ``ml.detection.synthpage``), each read by ``ml.documents.read_pages`` and detected by
``Detector.detect`` (as ``python -m ml detect`` does), the two detectors alternating page by
page so that the machine's changing load falls on both alike. PyTorch and OpenCV on one thread.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

import cv2
import torch
from PIL import Image

from ml.detection import WORK_SIDE, Detector, synthpage
from ml.detection.data import list_pages, split
from ml.documents import read_pages


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs=2)
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    dets = [Detector.load(m) for m in a.models]
    files = {"validation pages 640x640 JPEG": [p.read_bytes() for p, _ in split(list_pages(a.data))[1][:40]]}
    a4 = []
    for seed in range(10):
        image, _ = synthpage.page(seed, width=1654, height=2339)
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="JPEG", quality=90)
        a4.append(buf.getvalue())
    files["generated A4 200 dpi JPEG 1654x2339"] = a4
    res = {"models": [d.version for d in dets], "paths": a.models, "pages": {}}
    for kind, blobs in files.items():
        for det in dets:  # warm-up
            det.detect(read_pages(blobs[0], reduce_to=WORK_SIDE)[0].image)
        times = [[], []]
        for blob in blobs:
            for k, det in enumerate(dets):
                t = time.thread_time()
                page = read_pages(blob, reduce_to=WORK_SIDE)[0]
                det.detect(page.image, size=page.size)
                times[k].append((time.thread_time() - t) * 1000)
        res["pages"][kind] = {
            m: {"n": len(t), "cpu_ms_p50": round(statistics.median(t), 1), "cpu_ms_mean": round(statistics.mean(t), 1)}
            for m, t in zip(a.models, times)
        }
        print(kind, json.dumps(res["pages"][kind]), flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
