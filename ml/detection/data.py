"""Detection training data: YOLO-labelled pages, the validation split, augmented variants
and CenterNet targets.

Layout: ``<root>/images/*.jpg|png`` and ``<root>/labels/<stem>.txt`` with lines
``0 cx cy w h`` (normalised). Pages are taken in sorted file order; every page whose index
is a multiple of ``VAL_EVERY`` is a validation page (never trained on).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ml.detection.boxes import PAD_VALUE, letterbox, to_gray
from ml.detection.model import STRIDE
from ml.documents import read_pages

VAL_EVERY = 5
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
GAUSS_ALPHA = 0.54  # Gaussian spread as a share of the box size (TTFNet)


def list_pages(root: str | Path) -> list[tuple[Path, Path]]:
    root = Path(root)
    images = sorted(p for p in (root / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f"no page images in {root / 'images'}")
    return [(p, root / "labels" / (p.stem + ".txt")) for p in images]


def split(pages: list, every: int = VAL_EVERY) -> tuple[list, list]:
    """(train, validation): validation pages are those whose sorted index is a multiple of ``every``."""
    return [p for i, p in enumerate(pages) if i % every], [p for i, p in enumerate(pages) if i % every == 0]


def read_labels(path: Path, width: int, height: int) -> np.ndarray:
    """YOLO lines -> (N, 4) page-pixel boxes [x0, y0, x1, y1]; a missing file means no signature."""
    rows = []
    if path.is_file():
        for line in path.read_text().split("\n"):
            parts = line.split()
            if len(parts) >= 5:
                cx, cy, w, h = (float(v) for v in parts[1:5])
                rows.append([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def load_page(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """-> (HxWx3 RGB page as the detector reads it, true boxes in its pixels)."""
    (page,) = read_pages(image_path.read_bytes(), name=str(image_path))[:1]
    h, w = page.image.shape[:2]
    return page.image, read_labels(label_path, w, h)


def _photometric(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scan-like changes: grey paper, weaker contrast, gamma, noise, blur."""
    g = gray.astype(np.float32) / 255.0
    g = g ** rng.uniform(0.7, 1.4)
    paper, ink = rng.uniform(0.75, 1.0), rng.uniform(0.0, 0.25)
    g = ink + (paper - ink) * g
    if rng.random() < 0.5:
        g = cv2.GaussianBlur(g, (3, 3), rng.uniform(0.3, 1.0))
    g = g + rng.normal(0, rng.uniform(0, 0.03), g.shape).astype(np.float32)
    return (g.clip(0, 1) * 255).round().astype(np.uint8)


def variant(image: np.ndarray, boxes: np.ndarray, size: int, kind: str, rng: np.random.Generator):
    """One training view of a page -> (size x size uint8 canvas, canvas boxes).

    ``kind``: ``plain`` (letterboxed), ``flip`` (mirrored), ``shrink`` (page scaled down
    onto white paper at a random place, scan-like photometry), ``zoom`` (a random window
    enlarged, keeping boxes that stay mostly inside).
    """
    canvas, lb = letterbox(to_gray(image), size)
    b = boxes.copy()
    b[:, [0, 2]] = b[:, [0, 2]] * lb.scale + lb.pad_x
    b[:, [1, 3]] = b[:, [1, 3]] * lb.scale + lb.pad_y
    if kind in ("flip", "shrink", "zoom") and (kind == "flip" or rng.random() < 0.5):
        canvas = canvas[:, ::-1].copy()
        b[:, [0, 2]] = size - b[:, [2, 0]]
    if kind == "shrink":
        s = rng.uniform(0.45, 0.85)
        n = max(8, round(size * s))
        small = cv2.resize(canvas, (n, n), interpolation=cv2.INTER_AREA)
        ox, oy = (int(rng.integers(0, size - n + 1)) for _ in range(2))
        canvas = np.full((size, size), PAD_VALUE, np.uint8)
        canvas[oy : oy + n, ox : ox + n] = small
        b = b * (n / size) + np.array([ox, oy, ox, oy])
        canvas = _photometric(canvas, rng)
    elif kind == "zoom":
        s = rng.uniform(1.2, 1.7)
        n = round(size / s)
        ox, oy = (int(rng.integers(0, size - n + 1)) for _ in range(2))
        canvas = cv2.resize(canvas[oy : oy + n, ox : ox + n], (size, size), interpolation=cv2.INTER_LINEAR)
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        b = (b - np.array([ox, oy, ox, oy])) * (size / n)
        b = b.clip(0, size)
        kept = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) >= 0.6 * area * (size / n) ** 2
        b = b[kept]
        if rng.random() < 0.5:
            canvas = _photometric(canvas, rng)
    return np.ascontiguousarray(canvas), b


def targets(boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canvas boxes -> (heat (h, w), box regression (4, h, w), weight (h, w)) at ``STRIDE``.

    Heat: an elliptical Gaussian per box (peak 1 at the centre cell). Regression targets
    (centre offset from the cell's corner in cells, log width and log height in cells) are
    set where the heat is at least 0.5, weighted by it, the nearest box winning.
    """
    g = size // STRIDE
    heat = np.zeros((g, g), np.float32)
    reg = np.zeros((4, g, g), np.float32)
    weight = np.zeros((g, g), np.float32)
    ys, xs = np.mgrid[0:g, 0:g].astype(np.float32)
    order = np.argsort(-((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))) if len(boxes) else []
    for k in order:  # large boxes first: small ones drawn later win shared cells
        x0, y0, x1, y1 = boxes[k] / STRIDE
        w, h = x1 - x0, y1 - y0
        if w <= 0.05 or h <= 0.05:
            continue
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ix, iy = min(int(cx), g - 1), min(int(cy), g - 1)
        sx, sy = max(0.4, GAUSS_ALPHA * w / 6), max(0.4, GAUSS_ALPHA * h / 6)
        gauss = np.exp(-((xs - ix) ** 2 / (2 * sx**2) + (ys - iy) ** 2 / (2 * sy**2)))
        gauss[iy, ix] = 1.0
        heat = np.maximum(heat, gauss)
        near = gauss >= 0.5
        reg[0][near] = cx - xs[near]
        reg[1][near] = cy - ys[near]
        reg[2][near] = np.log(w)
        reg[3][near] = np.log(h)
        weight[near] = gauss[near]
    return heat, reg, weight
