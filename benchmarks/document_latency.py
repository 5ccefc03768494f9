"""Per-page latency of the document path: read the page, detect its signatures, crop them,
verify the best one against the customer it was signed by, on pages SigWeb generates.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/document_latency.py --pages 20 --json

The pages are ``verification.demo_pages.demo_page`` (A4 at 150 dpi, PNG) carrying a demo
writer's signature (``verification.demo``); each writer is enrolled with five pad samples
on the shipped engine (``ml/weights/sigweb.pt``). Each stage runs through the web app's
facade (``verification.ml_engine``), as the detection job and the verification job run it:
``document_pages`` (decode), the JPEG the upload stores and the job decodes (store),
``signatures_detect`` (the detector, ``ml/weights/detector.pt`` or ``--detector``), crop +
PNG (what a candidate stores), then the engine's prepare, embed and score of the best
candidate. One thread, CPU. Reports p50/p95/max per stage in ms (crop, verify and
``total_with_a_candidate`` over the pages where a box was found), the number of pages
where a box was found, where one box matches the signature's ink (IoU at
least 0.5), the mean number of boxes per page, and the decisions on the signer's own
enrollment.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigweb.settings")
os.environ.setdefault("SIGWEB_TORCH_THREADS", "1")


def _pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--detector", default="", help="detector checkpoint (default: ml/weights/detector.pt)")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.detector:
        os.environ["SIGWEB_DETECTOR_PATH"] = a.detector

    import django

    django.setup()
    import numpy as np
    import torch
    from PIL import Image

    from verification import ml_engine
    from verification.decisions import decision_for, detection_min_score
    from verification.demo import demo_strokes
    from verification.demo_pages import demo_page
    from verification.services.documents import page_jpeg

    def page_image_decode(jpeg: bytes):
        with Image.open(io.BytesIO(jpeg)) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)

    torch.set_num_threads(1)
    try:
        detector = ml_engine.detector_get()
    except Exception as exc:
        sys.exit(f"error: {exc}")
    engine = ml_engine.engine_get(None)
    writers = [f"DEMO-{i + 1:04d}" for i in range(a.writers)]
    params = {w: engine.fit_writer(engine.embed([demo_strokes(w, i) for i in range(5)])) for w in writers}
    stages = {"read": [], "store": [], "detect": [], "crop": [], "verify": [], "total": [], "total_with_a_candidate": []}
    found, hits, n_boxes, decisions = 0, 0, [], {}
    for i in range(a.pages):
        writer = writers[i % len(writers)]
        data = demo_page(writer=writer, sample=200 + i, seed=i)
        t0 = time.perf_counter()
        (page,) = ml_engine.document_pages(data, name="page.png")
        t1 = time.perf_counter()
        image = page_image_decode(page_jpeg(page.image))  # the upload stores JPEG, the job decodes it
        t1s = time.perf_counter()
        boxes = ml_engine.signatures_detect(detector, image, min_score=detection_min_score())
        t2 = time.perf_counter()
        crops = []
        for d in boxes:
            buf = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(detector.crop(image, d["box"]))).save(buf, format="PNG")
            crops.append(buf.getvalue())
        t3 = time.perf_counter()
        if crops:
            found += 1
            wd = params[writer]
            threshold = engine.threshold_for(int(wd["n_refs"]))
            try:
                query = engine.embed([engine.prepare(crops[0])])[0]
                score = float(engine.verify(wd, query, threshold=threshold)["score"])
                decision = str(decision_for(score=score, threshold=threshold))
            except ml_engine.SignatureInputError as exc:  # the product answers 400 with this code
                decision = f"refused ({exc.code})"
            decisions[decision] = decisions.get(decision, 0) + 1
        t4 = time.perf_counter()
        # outside the timed stages: the signature's true box, and whether a box matches it
        ink = np.nonzero(page.image.max(axis=2) < 110)  # the demo page's only dark ink is the signature
        truth = [ink[1].min(), ink[0].min(), ink[1].max() + 1, ink[0].max() + 1]
        hits += any(_iou(d["box"], truth) >= 0.5 for d in boxes)
        n_boxes.append(len(boxes))
        timed = {"read": t1 - t0, "store": t1s - t1, "detect": t2 - t1s, "total": t4 - t0}
        if crops:  # crop and verify only exist on pages where a box was found
            timed.update({"crop": t3 - t2, "verify": t4 - t3, "total_with_a_candidate": t4 - t0})
        for key, value in timed.items():
            stages[key].append(value * 1000)
    out = {
        "pages": a.pages,
        "page_size": list(page.image.shape[1::-1]),
        "detector": detector.version,
        "model": engine.model_version,
        "min_score": detection_min_score(),
        "pages_with_a_box": found,
        "pages_with_the_signature_boxed_iou_0_5": hits,
        "boxes_per_page_mean": round(float(np.mean(n_boxes)), 2),
        "decisions_on_own_enrollment": decisions,
        "ms": {
            k: {"p50": round(statistics.median(v), 1), "p95": round(_pct(v, 0.95), 1), "max": round(max(v), 1)}
            for k, v in stages.items()
            if v
        },
    }
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"{a.pages} pages {out['page_size']}, detector {out['detector']}, {found} with a box, "
            f"{hits} with the signature boxed (IoU >= 0.5), {out['boxes_per_page_mean']} boxes per page, decisions {decisions}"
        )
        for k, v in out["ms"].items():
            print(f"  {k:22s} p50 {v['p50']:8.1f} ms  p95 {v['p95']:8.1f} ms  max {v['max']:8.1f} ms")


if __name__ == "__main__":
    main()
