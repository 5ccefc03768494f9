"""ml.detection.metrics: AP@0.5 and recall on hand-made boxes, checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.detection.metrics import ap_from_matches, average_precision

T = [0, 0, 10, 10]
U = [100, 100, 120, 110]


def test_perfect_detections_give_ap_one():
    res = average_precision([[(T, 0.9)], [(U, 0.8)]], [[T], [U]])
    assert res["ap"] == pytest.approx(1.0) and res["recall"] == 1.0 and res["true_positives"] == 2


def test_precision_envelope_interpolates_from_the_right():
    # ranking: FP (0.9), TP (0.8), TP (0.7): raw precision 1/2 at recall 1/2 and 2/3 at recall 1;
    # the envelope lifts the first step to 2/3, so AP = 2/3 (not 0.5 * 1/2 + 0.5 * 2/3)
    dets = [[(U, 0.9), (T, 0.8)], [(U, 0.7)]]
    res = average_precision(dets, [[T], [U]])
    assert res["ap"] == pytest.approx(2 / 3)
    assert res["precision"] == pytest.approx(2 / 3)
    # FP, TP, FP, TP: precision 1/2 at both recall steps -> AP 1/2
    dets = [[(U, 0.9), (T, 0.8)], [(T, 0.7), (U, 0.6)]]
    assert average_precision(dets, [[T], [U]])["ap"] == pytest.approx(0.5)


def test_iou_threshold_and_duplicates():
    shifted = [6, 0, 16, 10]  # IoU with T = 4*10 / (200 - 40) = 0.25 < 0.5
    assert average_precision([[(shifted, 0.9)]], [[T]])["ap"] == 0.0
    assert average_precision([[(shifted, 0.9)]], [[T]], iou=0.2)["ap"] == pytest.approx(1.0)
    dup = average_precision([[(T, 0.9), (T, 0.8)]], [[T]])  # the second hit on a matched box is a false positive
    assert dup["true_positives"] == 1 and dup["ap"] == pytest.approx(1.0) and dup["precision"] == 0.5


def test_missed_boxes_cap_recall_and_ap():
    res = average_precision([[{"box": T, "score": 0.5}], []], [[T], [U]])
    assert res["recall"] == 0.5 and res["ap"] == pytest.approx(0.5)


def test_pages_without_signatures_only_add_false_positives():
    res = average_precision([[(T, 0.9)], [(U, 0.95)]], [[T], np.zeros((0, 4))])
    assert res["ap"] == pytest.approx(0.5) and res["true_boxes"] == 1


def test_edge_cases():
    assert math.isnan(ap_from_matches(np.zeros(0, bool), 0))
    assert ap_from_matches(np.zeros(0, bool), 3) == 0.0
    with pytest.raises(ValueError):
        average_precision([[]], [[T], [U]])
