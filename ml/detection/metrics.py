"""Detection metrics: average precision at an IoU threshold (VOC/COCO-style all-point
interpolation) and recall, over a set of pages.

``average_precision(detections, truths, iou=0.5)``: ``detections`` is one list per page of
``(box, score)`` pairs (or dicts with ``box``/``score``), ``truths`` one (N, 4) array-like per
page. Detections of all pages are ranked by score; each is a true positive when its best
IoU with a not yet matched true box of its page is at least ``iou`` (greedy, best score
first; a second detection of a matched box is a false positive). AP is the area under the
precision envelope (precision made non-increasing from the right) summed at every recall
step. ``recall`` is the share of true boxes matched by any detection given.
"""

from __future__ import annotations

import numpy as np

from ml.detection.boxes import iou_matrix


def _pairs(page) -> tuple[np.ndarray, np.ndarray]:
    if not page:
        return np.zeros((0, 4)), np.zeros(0)
    if isinstance(page[0], dict):
        return np.asarray([d["box"] for d in page], float), np.asarray([d["score"] for d in page], float)
    return np.asarray([b for b, _ in page], float).reshape(-1, 4), np.asarray([s for _, s in page], float)


def match(detections: list, truths: list, iou: float = 0.5) -> tuple[np.ndarray, np.ndarray, int]:
    """-> (scores, true-positive flags) of every detection ranked best first, and the number of true boxes."""
    rows = []  # (score, page, index)
    per_page = []
    for p, page in enumerate(detections):
        boxes, scores = _pairs(page)
        per_page.append(boxes)
        rows.extend((float(s), p, i) for i, s in enumerate(scores))
    truths = [np.asarray(t, float).reshape(-1, 4) for t in truths]
    if len(truths) != len(detections):
        raise ValueError(f"{len(detections)} pages of detections but {len(truths)} pages of true boxes")
    rows.sort(key=lambda r: (-r[0], r[1], r[2]))
    used = [np.zeros(len(t), bool) for t in truths]
    tp = np.zeros(len(rows), bool)
    for k, (_, p, i) in enumerate(rows):
        if not len(truths[p]):
            continue
        ious = iou_matrix(per_page[p][i : i + 1], truths[p])[0]
        ious[used[p]] = -1.0
        j = int(np.argmax(ious))
        if ious[j] >= iou:
            used[p][j] = True
            tp[k] = True
    return np.asarray([r[0] for r in rows]), tp, int(sum(len(t) for t in truths))


def ap_from_matches(tp: np.ndarray, n_true: int) -> float:
    """All-point interpolated AP of a ranked list of true/false positives."""
    if n_true == 0:
        return float("nan")
    if tp.size == 0:
        return 0.0
    ctp = np.cumsum(tp)
    recall = ctp / n_true
    precision = ctp / np.arange(1, tp.size + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def average_precision(detections: list, truths: list, iou: float = 0.5) -> dict:
    scores, tp, n_true = match(detections, truths, iou)
    n_tp = int(tp.sum())
    return {
        "ap": ap_from_matches(tp, n_true),
        "recall": n_tp / n_true if n_true else float("nan"),
        "precision": n_tp / tp.size if tp.size else float("nan"),
        "true_boxes": n_true,
        "detections": int(tp.size),
        "true_positives": n_tp,
        "iou": iou,
    }
