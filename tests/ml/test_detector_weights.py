"""The shipped detector (ml/weights/detector.pt): boxes follow the page through scaling,
PDF rendering and EXIF rotation (generated pages, always run), and its AP@0.5 on
validation pages does not regress (only where ../shared/data is present)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from ml.cli import main
from ml.detection import DEFAULT_PATH, Detector, synthpage
from ml.detection.boxes import iou_matrix
from ml.detection.data import list_pages, load_page, split
from ml.detection.metrics import average_precision

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "documents" / "train"


@pytest.fixture(scope="module")
def detector():
    torch.set_num_threads(1)
    return Detector.load()


@pytest.fixture(scope="module")
def page():
    return synthpage.page(1, width=1240, height=1754)[0]


def _top(found: list[dict], k: int = 3) -> np.ndarray:
    return np.array([d["box"] for d in found[:k]]).reshape(-1, 4)


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) > 0 and len(b) > 0 and float(iou_matrix(a[:1], b).max()) >= 0.8


def test_shipped_checkpoint_records_its_input(detector):
    ck = torch.load(DEFAULT_PATH, map_location="cpu", weights_only=True)
    assert ck["kind"] == "sigweb-detector" and ck["input"]["size"] == detector.size == 640
    assert detector.version == ck["version"] and DEFAULT_PATH.stat().st_size < 30_000_000


def test_boxes_follow_the_page_scale(detector, page):
    small = detector.detect(page, min_score=0.0)
    big = detector.detect(cv2.resize(page, (2480, 3508), interpolation=cv2.INTER_CUBIC), min_score=0.0)
    assert _agree(_top(small) * 2, _top(big))
    assert all(0 <= d["box"][0] < d["box"][2] <= 1240 and 0 <= d["box"][1] < d["box"][3] <= 1754 for d in small)


def test_pdf_and_exif_rotated_jpeg_give_the_same_boxes(detector, page, tmp_path):
    pdf = tmp_path / "doc.pdf"  # 1240x1754 at 150 dpi, rendered at 200 dpi: 4/3 bigger
    Image.fromarray(page).save(
        pdf, format="PDF", resolution=150.0, save_all=True, append_images=[Image.fromarray(np.full_like(page, 255))]
    )
    rot = tmp_path / "rot.jpg"
    im = Image.fromarray(np.ascontiguousarray(np.rot90(page, k=1)))  # stored sideways; EXIF 6 turns it upright
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(rot, format="JPEG", exif=exif.tobytes(), quality=95)
    out = tmp_path / "out.json"
    assert main(["detect", str(pdf), str(rot), "--json", str(out), "--min-score", "0"]) == 0
    res = json.loads(out.read_text())
    assert list(res) == [f"{pdf}#1", f"{pdf}#2", str(rot)]
    ref = _top(detector.detect(page, min_score=0.0))
    assert _agree(ref * (200 / 150), _top(res[f"{pdf}#1"]))
    assert _agree(ref, _top(res[str(rot)]))
    assert all(d["score"] < 0.3 for d in res[f"{pdf}#2"])  # a blank page: nothing confident


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/documents/train not present")
def test_validation_pages_ap_does_not_regress(detector):
    _, val = split(list_pages(DATA))
    pages = [load_page(*p) for p in val[:25]]
    res = average_precision([detector.detect(img) for img, _ in pages], [b for _, b in pages])
    assert res["ap"] >= 0.65, res


@pytest.mark.parametrize("width,height,seed", [(2480, 3508, 11), (3508, 2480, 12)])
def test_large_scan_boxes_land_on_the_signature_in_page_pixels(detector, tmp_path, width, height, seed):
    image, truth = synthpage.page(seed, width=width, height=height)  # read at 1280 pixels, boxed in scan pixels
    path = tmp_path / "scan.jpg"
    Image.fromarray(image).save(path, format="JPEG", quality=92)
    out = tmp_path / "out.json"
    assert main(["detect", str(path), "--json", str(out)]) == 0
    found = json.loads(out.read_text())[str(path)]
    assert found and all(0 <= d["box"][0] < d["box"][2] <= width and 0 <= d["box"][1] < d["box"][3] <= height for d in found)
    assert float(iou_matrix(_top(found, 1), truth).max()) >= 0.5
    assert _agree(_top(found, 1), _top(detector.detect(image)))  # the decoded-whole page gives the same box
