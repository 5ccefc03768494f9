"""detect-train and detect-eval on a small YOLO-labelled folder of generated pages."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ml.cli import main
from ml.detection import Detector, synthpage
from ml.detection.data import list_pages, read_labels, split, targets, variant
from ml.detection.model import STRIDE


@pytest.fixture(scope="module")
def yolo_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    (root / "images").mkdir()
    (root / "labels").mkdir()
    for i in range(10):
        img, boxes = synthpage.page(i, width=240, height=320, signatures=1 if i % 3 else 0)
        Image.fromarray(img).save(root / "images" / f"p{i:02d}.jpg")
        lines = [f"0 {(b[0] + b[2]) / 480} {(b[1] + b[3]) / 640} {(b[2] - b[0]) / 240} {(b[3] - b[1]) / 320}" for b in boxes]
        (root / "labels" / f"p{i:02d}.txt").write_text("\n".join(lines))
    return root


def test_split_labels_and_targets(yolo_folder):
    pages = list_pages(yolo_folder)
    train, val = split(pages)
    assert [p.name for p, _ in val] == ["p00.jpg", "p05.jpg"] and len(train) == 8
    boxes = read_labels(yolo_folder / "labels" / "p01.txt", 240, 320)
    _, truth = synthpage.page(1, width=240, height=320)
    np.testing.assert_allclose(boxes, truth, atol=1e-6)
    assert read_labels(yolo_folder / "labels" / "absent.txt", 10, 10).shape == (0, 4)
    # a 128 x 64 box centred at (128, 64): STRIDE-cell centre, log size in cells
    heat, reg, weight = targets(np.array([[64.0, 32.0, 192.0, 96.0]]), 256)
    iy, ix = np.unravel_index(np.argmax(heat), heat.shape)
    assert heat.max() == 1.0 and (iy, ix) == (64 // STRIDE, 128 // STRIDE)
    np.testing.assert_allclose(reg[:, iy, ix], [0.0, 0.0, np.log(128 / STRIDE), np.log(64 / STRIDE)], atol=1e-6)
    assert weight[iy, ix] == 1.0
    # a neighbour cell inside the Gaussian's core regresses the same box from its own corner
    assert 0.5 <= weight[iy, ix + 1] < 1.0 and weight[iy, ix + 6] == 0.0
    np.testing.assert_allclose(reg[:, iy, ix + 1], [-1.0, 0.0, np.log(128 / STRIDE), np.log(64 / STRIDE)], atol=1e-6)
    # a tiny box only regresses at its centre cell
    _, _, weight = targets(np.array([[100.0, 100.0, 100.0 + STRIDE, 100.0 + STRIDE]]), 256)
    assert weight.sum() == 1.0


@pytest.mark.parametrize("kind", ["plain", "flip", "shrink", "zoom"])
def test_variants_keep_boxes_on_the_ink(kind):
    img, boxes = synthpage.page(5, width=300, height=420)
    canvas, b = variant(img, boxes, 128, kind, np.random.default_rng(1))
    assert canvas.shape == (128, 128) and canvas.dtype == np.uint8
    for x0, y0, x1, y1 in b:
        inside = canvas[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))]
        assert inside.min() < canvas.max() - 60  # the box holds ink


def test_train_then_eval_commands(yolo_folder, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["detect-train", f"data={yolo_folder}", f"out={out}", "size=128", "width=16", "fine_width=8", "epochs=2",
            "eval_every=1", "variants=[plain]", "batch=4"]  # fmt: skip
    assert main(args) == 0
    best = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["model"]
    det = Detector.load(best)
    assert det.size == 128 and det.version.startswith("detector-")
    assert json.loads((out / "config.json").read_text())["epochs"] == 2
    assert main(["detect-eval", "--data", str(yolo_folder), "--model", best, "--json", str(tmp_path / "e.json")]) == 0
    res = json.loads((tmp_path / "e.json").read_text())
    assert res["pages"] == 2 and res["true_boxes"] == 1 and 0.0 <= res["ap"] <= 1.0
    assert main(["detect-train", "nonsense=1"]) == 2
    assert main(["detect-train", f"data={tmp_path / 'nowhere'}"]) == 2


def test_refine_command_writes_a_two_stage_detector(yolo_folder, tmp_path, capsys):
    first = tmp_path / "first"
    args = ["detect-train", f"data={yolo_folder}", f"out={first}", "size=128", "width=16", "fine_width=8", "epochs=1",
            "variants=[plain]", "batch=4"]  # fmt: skip
    assert main(args) == 0
    model = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["model"]
    out = tmp_path / "refiner"
    args = ["detect-refine", f"data={yolo_folder}", f"model={model}", f"out={out}", "width=8", "jitter=2", "epochs=2",
            "eval_every=1", "batch=8", f"cache={tmp_path / 'cache.pt'}"]  # fmt: skip
    assert main(args) == 0
    path = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["model"]
    det = Detector.load(path)
    assert det.refiner is not None and det.version == Detector.load(model).version + "+refine"
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, "average of 2..2"] and all("val_ap50" in r for r in history)
    assert (tmp_path / "cache.pt").is_file()
    assert main(["detect-eval", "--data", str(yolo_folder), "--model", path, "--json", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["true_boxes"] == 1
    assert main(["detect-refine", "nonsense=1"]) == 2


def test_averaged_heads_of_two_seeds_merge_into_one_detector(yolo_folder, tmp_path, capsys):
    outs = []
    for seed in (0, 1):
        out = tmp_path / f"h{seed}"
        args = ["detect-train", f"data={yolo_folder}", f"out={out}", "size=128", "width=16", "fine_width=8", "epochs=2",
                "eval_every=1", "variants=[plain]", "batch=4", f"seed={seed}", "view_seed=0", "average=true",
                f"cache_dir={tmp_path / 'cache'}"]  # fmt: skip
        assert main(args) == 0
        outs.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["model"])
        history = json.loads((out / "history.json").read_text())
        assert outs[-1].endswith("average.pt") and history[-1]["epoch"] == "average of 2..2"
    assert len(list((tmp_path / "cache").glob("train-*.pt"))) == 1  # both seeds read the same cached views
    merged = tmp_path / "merged.pt"
    assert main(["detect-merge-heads", str(merged), *outs, "--data", str(yolo_folder)]) == 0
    det = Detector.load(merged)
    assert len(det.net.members) == 1 and det.version.endswith("-x2")
    metrics = torch.load(merged, weights_only=True)["metrics"]
    assert metrics["val_pages"] == 2 and 0.0 <= metrics["val_ap50"] <= 1.0
