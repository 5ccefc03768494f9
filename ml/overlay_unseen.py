"""A second overlay style the cleaner never trained on: forms instead of cheques.

``overlay_unseen(gray, rng)`` puts the signature in a printed form field: a thin box whose
edges cut the signature's ends, a small label inside the box, a double rule or a dash-dot
rule under the signature, text in Pillow's own sans-serif face (no cv2 face at all), and
an oval or octagonal stamp with a band of text across it. Nothing here is drawn by
``ml.overlay``'s training material; ``python -m ml overlay --style unseen`` writes folders.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ml.overlay import INKS, STAMP_WORDS, WORDS, blank_sheet


def _color(rng, names) -> tuple:
    return tuple(int(v) for v in np.clip(np.array(INKS[names[int(rng.integers(len(names)))]]) + rng.normal(0, 10, 3), 0, 200))


def _pil_text(sheet: np.ndarray, text: str, xy, size: int, color) -> None:
    im = Image.fromarray(sheet)
    ImageDraw.Draw(im).text(xy, text, fill=color, font=ImageFont.load_default(size=max(6, size)))
    sheet[:] = np.minimum(sheet, np.asarray(im))


def _stamp(rng, size: int) -> np.ndarray:
    """Darkness in [0, 1] of an oval or octagonal stamp with a band of text, on a square."""
    m = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(m)
    c, rx, ry = size / 2, size * rng.uniform(0.4, 0.48), size * rng.uniform(0.25, 0.4)
    t = max(1, int(size * rng.uniform(0.015, 0.03)))
    if rng.random() < 0.5:
        d.ellipse([c - rx, c - ry, c + rx, c + ry], outline=255, width=t)
    else:
        a = np.arange(8) * np.pi / 4 + np.pi / 8
        d.polygon([(c + rx * np.cos(v), c + ry * np.sin(v)) for v in a], outline=255, width=t)
    d.rectangle([c - rx * 0.8, c - ry * 0.25, c + rx * 0.8, c + ry * 0.25], outline=255, width=max(1, t // 2))
    word = STAMP_WORDS[int(rng.integers(len(STAMP_WORDS)))]
    font = ImageFont.load_default(size=max(6, int(ry * 0.35)))
    d.text((c - rx * 0.7, c - ry * 0.2), word, fill=255, font=font)
    arr = np.asarray(m.rotate(float(rng.uniform(-40, 40)), resample=Image.BILINEAR), np.float32) / 255.0
    speckle = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 1.5)
    return arr * np.clip(speckle * 2.2, 0.2, 1.0) * rng.uniform(0.6, 1.0)


def overlay_unseen(gray: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(RGB sheet, the signature's ink mask on it), like ``ml.overlay.overlay``."""
    h, w = gray.shape
    top, bottom, left, right = (int(v) for v in (h * rng.uniform(0.2, 0.4), h * rng.uniform(0.2, 0.5),
                                                 w * rng.uniform(0.05, 0.25), w * rng.uniform(0.05, 0.25)))  # fmt: skip
    sheet, ink, (iy0, iy1, ix0, ix1) = blank_sheet(gray, top, bottom, left, right)
    H, W = ink.shape
    ih = iy1 - iy0 + 1
    gray_ink = ["black", "gray"]
    # the form field: a box slightly smaller than the signature, so its edges cut the ends
    bx0, bx1 = int(ix0 + (ix1 - ix0) * rng.uniform(0.0, 0.08)), int(ix1 - (ix1 - ix0) * rng.uniform(0.0, 0.08))
    by0, by1 = int(iy0 - ih * rng.uniform(0.0, 0.2)), int(iy1 - ih * rng.uniform(0.0, 0.15))
    cv2.rectangle(sheet, (bx0, by0), (bx1, by1), _color(rng, gray_ink), max(1, int(ih * 0.01)), cv2.LINE_AA)
    _pil_text(sheet, WORDS[int(rng.integers(len(WORDS)))].upper(), (bx0 + 4, by0 + 3), int(ih * 0.08), _color(rng, gray_ink))
    # a double rule or a dash-dot rule under the signature's middle
    y = int(iy0 + ih * rng.uniform(0.55, 0.9))
    col = _color(rng, gray_ink)
    if rng.random() < 0.5:
        for dy in (0, max(3, int(ih * 0.03))):
            cv2.line(sheet, (0, y + dy), (W - 1, y + dy), col, 1, cv2.LINE_AA)
    else:
        x, step = 0, max(8, int(ih * 0.08))
        while x < W:
            cv2.line(sheet, (x, y), (x + step, y), col, max(1, int(ih * 0.012)), cv2.LINE_AA)
            cv2.circle(sheet, (x + int(step * 1.5), y), max(1, int(ih * 0.008)), col, -1)
            x += 2 * step
    # printed text in Pillow's sans-serif face, above the box and across its top edge
    _pil_text(sheet, WORDS[int(rng.integers(len(WORDS)))] + " " + str(rng.integers(10000, 99999)),
              (int(ix0 + rng.uniform(-0.1, 0.3) * w), int(by0 - ih * rng.uniform(0.0, 0.15))), int(ih * rng.uniform(0.1, 0.18)),
              _color(rng, gray_ink))  # fmt: skip
    # the stamp
    size = int(ih * rng.uniform(0.8, 1.4))
    dark = _stamp(rng, size)
    color = np.array(_color(rng, list(INKS)), np.float32)
    cy, cx = int(iy0 + ih * rng.uniform(0.2, 0.8)), int(ix0 + (ix1 - ix0) * rng.uniform(0.1, 0.9))
    y0, x0 = max(0, cy - size // 2), max(0, cx - size // 2)
    sy, sx = y0 - (cy - size // 2), x0 - (cx - size // 2)
    hh, ww = min(size - sy, H - y0), min(size - sx, W - x0)
    if hh > 0 and ww > 0:
        layer = 255.0 - dark[sy : sy + hh, sx : sx + ww, None] * (255.0 - color)
        sheet[y0 : y0 + hh, x0 : x0 + ww] = np.minimum(sheet[y0 : y0 + hh, x0 : x0 + ww], layer.astype(np.uint8))
    sig = np.full((H, W), 255, np.uint8)
    sig[top : top + h, left : left + w] = gray
    return np.minimum(sheet, sig[..., None]), ink
