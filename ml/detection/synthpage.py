"""Synthetic document pages SigWeb generates itself: printed-looking text lines plus
synthetic signatures (``ml.synthetic``), with their boxes. Used by the always-run tests.

``page(seed, width=..., height=..., signatures=1, colour=False)`` -> (HxWx3 uint8 RGB,
boxes (N, 4) float [x0, y0, x1, y1], x1/y1 exclusive) where each box is the tight box of
a signature's ink.
"""

from __future__ import annotations

import cv2
import numpy as np

from ml.strokes import render_strokes
from ml.synthetic import genuine

_WORDS = "the of and to in for with this that letter company account agreement date dear sincerely payment".split()


def _text_lines(canvas: np.ndarray, rng: np.random.Generator, top: int, bottom: int) -> None:
    h, w = canvas.shape[:2]
    scale = w / 1600.0
    y = top
    step = max(12, int(42 * scale))
    while y < bottom:
        x = int(w * 0.08)
        line_end = int(w * rng.uniform(0.6, 0.92))
        while x < line_end:
            word = str(rng.choice(_WORDS))
            cv2.putText(
                canvas, word, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.9 * scale, (30, 30, 30), max(1, int(2 * scale)), cv2.LINE_AA
            )
            x += int((len(word) * 18 + 16) * scale)
        y += step


def page(seed: int, *, width: int = 1240, height: int = 1754, signatures: int = 1, colour: bool = False):
    rng = np.random.default_rng([seed, 7])
    paper = (255, 255, 255) if not colour else tuple(int(v) for v in rng.integers(225, 256, 3))
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = paper
    _text_lines(canvas, rng, top=int(height * 0.08), bottom=int(height * 0.55))
    boxes = []
    slot_h = (height * 0.4) / max(signatures, 1)
    for k in range(signatures):
        ink = render_strokes(genuine(seed * 31 + k, 0), size=int(width * rng.uniform(0.18, 0.3)))
        sh, sw = ink.shape
        x0 = int(rng.uniform(0.05, 0.9) * (width - sw))
        y0 = int(height * 0.57 + k * slot_h + rng.uniform(0, max(1.0, slot_h - sh)))
        y0 = min(y0, height - sh)
        colour_ink = np.array((20, 40, 150) if colour else (20, 20, 20), np.float32)
        alpha = (255.0 - ink.astype(np.float32)) / 235.0  # 0 on paper, 1 on full ink
        region = canvas[y0 : y0 + sh, x0 : x0 + sw].astype(np.float32)
        blended = region * (1 - alpha[..., None]) + colour_ink * alpha[..., None]
        canvas[y0 : y0 + sh, x0 : x0 + sw] = blended.round().clip(0, 255).astype(np.uint8)
        ys, xs = np.nonzero(ink < 200)
        boxes.append([x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1])
    return canvas, np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
