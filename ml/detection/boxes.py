"""Box arithmetic for detection: IoU, non-maximum suppression, letterboxing (NumPy only).

Boxes are ``[x0, y0, x1, y1]`` floats in pixels, origin top-left, x1/y1 exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD_VALUE = 255  # letterbox bars are white paper


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) boxes -> (N, M) intersection over union (0 where a box is empty)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the kept boxes, best score first."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        if order.size == 1:
            break
        ious = iou_matrix(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


@dataclass(frozen=True)
class Letterbox:
    """How a page was scaled and padded into a square canvas (to map boxes back)."""

    scale: float
    pad_x: int
    pad_y: int
    width: int  # page size as read
    height: int

    def to_page(self, boxes: np.ndarray) -> np.ndarray:
        """Canvas boxes (N, 4) -> page pixels, clipped to the page."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
        b[:, [0, 2]] = (b[:, [0, 2]] - self.pad_x) / self.scale
        b[:, [1, 3]] = (b[:, [1, 3]] - self.pad_y) / self.scale
        b[:, [0, 2]] = b[:, [0, 2]].clip(0, self.width)
        b[:, [1, 3]] = b[:, [1, 3]].clip(0, self.height)
        return b


def letterbox(gray: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """An HxW uint8 page -> a size x size uint8 canvas (long side fitted, centred, white bars)."""
    import cv2

    h, w = gray.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(gray, (nw, nh), interpolation=interp)
    canvas = np.full((size, size), PAD_VALUE, dtype=np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    canvas[py : py + nh, px : px + nw] = resized
    return canvas, Letterbox(scale=scale, pad_x=px, pad_y=py, width=w, height=h)


def reduce(gray: np.ndarray, side: int) -> tuple[np.ndarray, int]:
    """An HxW uint8 page -> (itself, 1), or (the page reduced by a whole factor k, k) when its long
    side is at least twice ``side`` (area average of k x k pixels; the long side ends between
    ``side`` and twice that).

    A whole factor keeps the reduction cheap (OpenCV's integer-area path) and the mapping exact:
    reduced pixel i covers page pixels k*i .. k*(i+1). The last width % k columns and height % k
    rows (fewer than k) are left out.
    """
    import cv2

    h, w = gray.shape[:2]
    k = max(h, w) // side
    if k < 2:
        return gray, 1
    return cv2.resize(gray[: h // k * k, : w // k * k], (w // k, h // k), interpolation=cv2.INTER_AREA), k


def to_gray(image: np.ndarray) -> np.ndarray:
    """HxWx3 RGB (or HxW) uint8 -> HxW uint8 luminance (colour and greyscale scans look alike)."""
    import cv2

    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3], dtype=np.uint8), cv2.COLOR_RGB2GRAY)
