"""ml.detection.refine: the second-stage box refiner (windows, crops, edge read-out, the
two-stage Detector and its checkpoint, and that training it on generated pages tightens boxes).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.checkpoint import save as save_checkpoint
from ml.detection import Detector, make_checkpoint, synthpage
from ml.detection.boxes import iou_matrix, to_gray
from ml.detection.model import DetectorNet
from ml.detection.refine import CROP_H, CROP_W, RefinerHead, cut, edges, from_window, refine, to_window, window
from ml.detection.refine_train import jitter_box, loss_fn, targets, with_refiner


def test_window_contains_the_box_with_the_crop_aspect():
    for box in ([100, 200, 300, 240], [10, 10, 30, 90], [5, 5, 6, 6]):
        win = window(box)
        w, h = win[2] - win[0], win[3] - win[1]
        assert w / h == pytest.approx(CROP_W / CROP_H)
        assert win[0] <= box[0] and win[1] <= box[1] and win[2] >= box[2] and win[3] >= box[3]
        assert (win[0] + win[2]) / 2 == pytest.approx((box[0] + box[2]) / 2)
    assert window([100, 200, 300, 240])[2] - window([100, 200, 300, 240])[0] == pytest.approx(400)  # twice the width


def test_cut_reads_the_page_and_is_white_beyond_it():
    rng = np.random.default_rng(0)
    page = rng.integers(0, 200, (400, 600), dtype=np.uint8)
    win = np.array([100.0, 50.0, 100.0 + CROP_W, 50.0 + CROP_H])  # scale 1: the crop is the page region
    assert np.array_equal(cut(page, win), page[50 : 50 + CROP_H, 100 : 100 + CROP_W])
    off = cut(page, np.array([-1000.0, -1000.0, -1000.0 + 2 * CROP_W, -1000.0 + 2 * CROP_H]))
    assert off.shape == (CROP_H, CROP_W) and (off == 255).all()
    half = cut(page, np.array([600.0 - CROP_W / 2, 0.0, 600.0 + CROP_W / 2, CROP_H]))
    assert (half[:, CROP_W // 2 + 2 :] == 255).all() and (half[:, : CROP_W // 2 - 2] < 255).any()


def test_window_coordinates_round_trip():
    win = window([120, 300, 360, 350])
    boxes = np.array([[130.0, 305.0, 350.0, 345.0], [0.0, 0.0, 10.0, 10.0]])
    assert np.allclose(from_window(to_window(boxes, win), win), boxes)
    rel = to_window(np.array([[120, 300, 360, 350]]), win)[0]
    assert rel[0] == pytest.approx(0.25) and rel[2] == pytest.approx(0.75)


def test_edges_are_the_expectation_of_bin_centres():
    ex = torch.full((1, 2, 32), -30.0)
    ey = torch.full((1, 2, 16), -30.0)
    ex[0, 0, 4], ex[0, 1, 27] = 30.0, 30.0
    ey[0, 0, 5], ey[0, 1, 10] = 30.0, 30.0
    box = edges(ex, ey)[0]
    assert box.tolist() == pytest.approx([4.5 / 32, 5.5 / 16, 27.5 / 32, 10.5 / 16], abs=1e-6)
    ex[0, 0, 5] = 30.0  # two equal bins: halfway between their centres
    assert float(edges(ex, ey)[0, 0]) == pytest.approx(5.0 / 32, abs=1e-6)


@pytest.fixture(scope="module")
def two_stage_path(tmp_path_factory):
    torch.manual_seed(0)
    net = DetectorNet(size=128, width=16, fine_width=8)
    torch.nn.init.zeros_(net.heat.bias)  # every cell about 0.5: the second stage gets proposals to refine
    first = make_checkpoint(net, width=16, fine_width=8, version="tiny-test", config={}, metrics={"val_ap50": 0.5})
    head = RefinerHead(width=8)
    ck = with_refiner(first, head, {"passes": 2}, {"val_ap50": 0.6})
    path = tmp_path_factory.mktemp("det2") / "two_stage.pt"
    save_checkpoint(ck, path)
    return path


def test_two_stage_checkpoint_loads_and_detects_in_page_pixels(two_stage_path):
    det = Detector.load(two_stage_path)
    assert len(det.refiner) == 1 and det.refine_passes == 2 and det.version == "tiny-test+refine"
    img, _ = synthpage.page(3, width=300, height=420, signatures=1)
    found = det.detect(img, min_score=0.0, max_boxes=10)
    assert 0 < len(found) <= 10
    scores = [d["score"] for d in found]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    for d in found:
        x0, y0, x1, y1 = d["box"]
        assert 0 <= x0 < x1 <= 300 and 0 <= y0 < y1 <= 420
    boxes = np.array([d["box"] for d in found])
    assert (iou_matrix(boxes, boxes)[np.triu_indices(len(boxes), 1)] <= 0.5).all()  # duplicates suppressed


def test_refiner_trained_on_generated_pages_tightens_jittered_boxes():
    """The frozen ImageNet trunk + a small head, trained on jittered boxes of generated pages,
    brings held-out jittered boxes closer to the true ones (mean IoU)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    net = DetectorNet(size=640, width=16, fine_width=8, pretrained=True).eval()

    def proposals(seeds, per_box):
        rows = []
        for s in seeds:
            img, truths = synthpage.page(s, width=500, height=650, signatures=1)
            gray = to_gray(img)
            for t in truths:
                for _ in range(per_box):
                    p = jitter_box(t, rng)
                    rel, iou, win = targets(p, truths)
                    rows.append((gray, p, t, rel, iou, win))
        return rows

    train_rows, test_rows = proposals(range(10), 16), proposals(range(100, 104), 8)
    from ml.detection.refine import crops_tensor

    with torch.no_grad():
        feats = [net.features(crops_tensor(r[0], [r[5]])) for r in train_rows]
    c3, c4, c5 = (torch.cat([f[i] for f in feats]) for i in range(3))
    rel = torch.tensor(np.stack([r[3] for r in train_rows]), dtype=torch.float32)
    iou = torch.tensor([r[4] for r in train_rows], dtype=torch.float32)
    head = RefinerHead(width=16)
    opt = torch.optim.AdamW(head.parameters(), lr=3e-3)
    for _ in range(30):
        for idx in torch.randperm(len(rel)).split(32):
            loss = loss_fn(head, (c3[idx], c4[idx], c5[idx], rel[idx], iou[idx]), 5.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval()
    before, after = [], []
    for gray, p, t, *_ in test_rows:
        refined, _ = refine(net, head, gray, p[None], passes=2)
        before.append(iou_matrix(p[None], t[None])[0, 0])
        after.append(iou_matrix(refined, t[None])[0, 0])
    assert np.mean(after) > np.mean(before) + 0.15, (np.mean(before), np.mean(after))


def test_a_new_refiner_replaces_the_old_one(two_stage_path):
    two = torch.load(two_stage_path, weights_only=True)
    again = with_refiner(two, RefinerHead(width=4), {"passes": 1}, {"val_ap50": 0.7})
    assert again["version"] == "tiny-test+refine" and again["refiner"]["arch_kwargs"] == {"width": 4}
    assert again["metrics"]["first_stage"] == {"val_ap50": 0.5} and again["metrics"]["val_ap50"] == 0.7


def test_merge_averages_refiners_of_one_first_stage(two_stage_path, tmp_path):
    """An ensemble's boxes are the mean of its heads' boxes; a different first stage is refused."""
    from ml.detection.refine import predict
    from ml.detection.refine_train import merge

    two = torch.load(two_stage_path, weights_only=True)
    torch.manual_seed(5)
    other = with_refiner(two, RefinerHead(width=8), {"passes": 2, "seed": 1}, {})
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    save_checkpoint({**two, "refiner": {**two["refiner"], "config": {"passes": 2, "seed": 0, "data": "x"}}}, a)
    save_checkpoint(other, b)
    heads = [Detector.load(p).refiner[0] for p in (a, b)]
    feats = (torch.rand(3, 40, 16, 32), torch.rand(3, 112, 8, 16), torch.rand(3, 320, 4, 8))
    (ra, pa), (rb, pb), (rm, pm) = predict(heads[0], feats), predict(heads[1], feats), predict(heads, feats)
    assert torch.allclose(rm, (ra + rb) / 2) and torch.allclose(pm, (pa + pb) / 2)
    bad = dict(other)
    bad["state_dict"] = {k: v + 1 if v.is_floating_point() else v for k, v in other["state_dict"].items()}
    save_checkpoint(bad, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="first stage"):
        merge([a, tmp_path / "bad.pt"], tmp_path / "m.pt")


def test_second_stage_takes_the_best_boxes_and_every_confident_one():
    from ml.detection import REFINE_CONFIDENT, REFINE_LIMIT, REFINE_MAX, proposals

    n = REFINE_LIMIT + 4
    boxes = np.array([[10.0 * i, 0.0, 10.0 * i + 8, 8.0] for i in range(n)])
    weak = np.linspace(0.2, 0.05, n)  # none confident: only the best few
    b, s = proposals(boxes, weak)
    assert len(b) == REFINE_MAX and np.array_equal(b, boxes[:REFINE_MAX])
    strong = np.linspace(0.9, REFINE_CONFIDENT, n)  # a page signed by many: all confident ones, up to the limit
    b, s = proposals(boxes, strong)
    assert len(b) == REFINE_LIMIT and np.array_equal(s, strong[:REFINE_LIMIT])


def test_many_confident_signatures_are_all_returned(two_stage_path):
    det = Detector.load(two_stage_path)  # its first stage scores every cell about 0.5
    img, _ = synthpage.page(4, width=600, height=800, signatures=3)
    assert len(det.detect(img, min_score=0.0)) > 4
