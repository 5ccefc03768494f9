"""Test-time variants of the two-stage signature detector on its validation pages only.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python research/2026-11-30-detector-tta/tta_study.py \
        --json docs/results/detector/tta_study.json

The shipped ``ml/weights/detector.pt`` on the 67 validation pages (every 5th page of
``../shared/data/documents/train``, ``ml.detection.data.split``). The first stage's maps are
computed once per view (the page as shipped, mirrored, letterboxed to 800 or 512 instead of
640, contrast-stretched); each variant then picks the second stage's proposals
(``ml.detection.proposals``), refines them with the shipped refiner ensemble (one look) and
scores AP@0.5 (``ml.detection.metrics.average_precision``) as ``Detector.detect`` would.
Thread CPU seconds per page are given for each first-stage view and for each variant's
second stage.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from ml.detection import MIN_SCORE, REFINE_LIMIT, Detector, proposals
from ml.detection.boxes import iou_matrix, letterbox, nms, to_gray
from ml.detection.data import list_pages, load_page, split
from ml.detection.metrics import average_precision
from ml.detection.model import decode
from ml.detection.refine import crops_tensor, from_window, predict, window


def autolevel(g: np.ndarray) -> np.ndarray:
    """Paper (90th percentile) to white, darkest ink (0.5th percentile) to black."""
    lo, hi = np.percentile(g, [0.5, 90])
    if hi - lo < 32:
        return g
    return np.clip((g.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--model", help="detector checkpoint (default: the shipped one)")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    det = Detector.load(a.model)
    net, heads = det.net, det.refiner
    _, val = split(list_pages(a.data))
    pages = [load_page(*p) for p in val]
    truths = [b for _, b in pages]
    grays = [to_gray(img) for img, _ in pages]

    @torch.inference_mode()
    def maps(g, size, flip):
        canvas, lb = letterbox(g, size)
        if flip:
            canvas = np.ascontiguousarray(canvas[:, ::-1])
        heat, box = net(torch.from_numpy(canvas).float().div_(255.0)[None, None])
        if flip:  # back to the page's own frame: x offset within the cell mirrored, sizes unchanged
            heat, box = heat.flip(-1), box.flip(-1).clone()
            box[:, 0] = 1 - box[:, 0]
        return heat, box, lb

    views = {"page": (640, False, False), "mirrored": (640, True, False), "800": (800, False, False),
             "512": (512, False, False), "autolevel": (640, False, True)}  # fmt: skip
    cache, first_cpu = {}, {}
    for key, (size, flip, level) in views.items():
        t = time.thread_time()
        cache[key] = [maps(autolevel(g) if level else g, size, flip) for g in grays]
        first_cpu[key] = round((time.thread_time() - t) / len(grays), 3)
    print("first stage, thread CPU s per page:", first_cpu, flush=True)

    def boxes_of(key, i):
        heat, box, lb = cache[key][i]
        b, s = decode(heat, box, min_score=MIN_SCORE, top_k=REFINE_LIMIT)[0]
        return lb.to_page(b), s

    def averaged(keys, i):  # heat probabilities and box maps averaged over views of one canvas size
        got = [cache[k][i] for k in keys]
        prob = torch.stack([torch.sigmoid(h) for h, _, _ in got]).mean(0)
        heat, box = torch.logit(prob.clamp(1e-6, 1 - 1e-6)), torch.stack([b for _, b, _ in got]).mean(0)
        b, s = decode(heat, box, min_score=MIN_SCORE, top_k=REFINE_LIMIT)[0]
        return got[0][2].to_page(b), s

    def united(keys, i):  # every view's boxes, duplicates suppressed (IoU 0.5)
        b, s = (np.concatenate(x) for x in zip(*(boxes_of(k, i) for k in keys)))
        keep = nms(b, s, 0.5)[:REFINE_LIMIT]
        return b[keep], s[keep]

    @torch.inference_mode()
    def refined(g, boxes, mirrored):
        wins = [window(b) for b in boxes]
        crops = crops_tensor(g, wins)
        rel, p = (x.numpy().astype(np.float64) for x in predict(heads, net.features(crops)))
        if mirrored:  # the refiner also reads the mirrored crops; edges mirrored back and averaged
            relf, pf = (x.numpy().astype(np.float64) for x in predict(heads, net.features(crops.flip(-1))))
            rel = (rel + np.stack([1 - relf[:, 2], relf[:, 1], 1 - relf[:, 0], relf[:, 3]], 1)) / 2
            p = (p + pf) / 2
        out = np.asarray([from_window(r, w)[0] for r, w in zip(rel, wins)]).reshape(-1, 4)
        out[:, [0, 2]] = np.sort(out[:, [0, 2]], 1).clip(0, g.shape[1])
        out[:, [1, 3]] = np.sort(out[:, [1, 3]], 1).clip(0, g.shape[0])
        return out, p

    def wbf(boxes, scores, thr):  # weighted box fusion of refined boxes, score of the best member
        clusters = []
        for i in np.argsort(-scores):
            for c in clusters:
                if iou_matrix(boxes[i : i + 1], c["box"][None])[0, 0] > thr:
                    c["m"].append(i)
                    w = scores[c["m"]]
                    c["box"] = (boxes[c["m"]] * w[:, None]).sum(0) / w.sum()
                    break
            else:
                clusters.append({"box": boxes[i].copy(), "m": [i]})
        return [(c["box"], float(scores[c["m"][0]])) for c in clusters]

    res = {"first_stage_cpu_s_per_page": first_cpu, "variants": {}}

    def run(name, pick, *, mirrored=False, a=0.5, post="nms", post_iou=0.5, gray=lambda g: g):
        dets, t = [], time.thread_time()
        for i, g in enumerate(grays):
            b0, s0 = proposals(*pick(i))
            if not len(b0):
                dets.append([])
                continue
            rb, p = refined(gray(g), b0, mirrored)
            sc = s0**a * p ** (1 - a)  # shipped: geometric mean (a = 0.5)
            d = [(rb[k], float(sc[k])) for k in nms(rb, sc, post_iou)] if post == "nms" else wbf(rb, sc, post_iou)
            dets.append([x for x in d if x[1] >= MIN_SCORE])
        r, r7 = average_precision(dets, truths), average_precision(dets, truths, iou=0.7)
        row = {"ap": round(r["ap"], 4), "recall": round(r["recall"], 4), "ap_0.7": round(r7["ap"], 4),
               "true_positives": r["true_positives"], "detections": r["detections"],
               "second_stage_cpu_s_per_page": round((time.thread_time() - t) / len(grays), 3)}  # fmt: skip
        print(name, row, flush=True)
        res["variants"][name] = row

    run("shipped", lambda i: boxes_of("page", i))
    run("refiner reads mirrored crops too", lambda i: boxes_of("page", i), mirrored=True)
    run("first stage + mirrored page, maps averaged", lambda i: averaged(["page", "mirrored"], i))
    run(
        "first stage + mirrored page, maps averaged; refiner mirrored too",
        lambda i: averaged(["page", "mirrored"], i),
        mirrored=True,
    )
    run("first stage + mirrored page, boxes united", lambda i: united(["page", "mirrored"], i))
    run("first stage at 640 and 800, boxes united", lambda i: united(["page", "800"], i))
    run("first stage at 640 and 512, boxes united", lambda i: united(["page", "512"], i))
    run("first stage at 800 only", lambda i: boxes_of("800", i))
    run("contrast-stretched page, first stage", lambda i: boxes_of("autolevel", i))
    run("contrast-stretched page, both stages", lambda i: boxes_of("autolevel", i), gray=autolevel)
    run("page + contrast-stretched, boxes united", lambda i: united(["page", "autolevel"], i))
    for a_ in (0.0, 0.25, 0.75, 1.0):
        run(f"score = first^{a_} x refiner^{1 - a_}", lambda i: boxes_of("page", i), a=a_)
    for thr in (0.3, 0.4, 0.6, 0.7):
        run(f"NMS after refinement at IoU {thr}", lambda i: boxes_of("page", i), post_iou=thr)
    run("weighted box fusion after refinement (IoU 0.55)", lambda i: boxes_of("page", i), post="wbf", post_iou=0.55)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
