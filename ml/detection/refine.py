"""Second-stage box refinement for the signature detector.

The first stage (``DetectorNet``) finds signature centres on a 640x640 letterboxed page at
stride 8; its boxes are loose for thin signatures (a 25-pixel-high signature is three
cells high). The refiner looks again at each proposed box, from the page at its own
resolution:

- ``window(box)``: a window around the proposal, twice its width (at least four times its
  height), half as high as wide, cut from the greyscale page (white beyond the page) and
  resized to ``CROP_H`` x ``CROP_W``.
- The detector's own frozen ImageNet trunk (``DetectorNet.features``) gives stride-8, -16
  and -32 features of the crop; ``RefinerHead`` fuses them at stride 8 and reads each edge
  of the box as a distribution over positions (side-aware boundaries): left and right edges
  over the 32 columns (maximum over rows), top and bottom over the 16 rows (maximum over
  columns), each edge the softmax expectation of bin centres, so sub-bin positions are
  reachable. A third output, ``signature``, is the probability that a true signature box
  overlaps the proposal with IoU at least ``MATCH_IOU`` (a refinable proposal).
- ``refine(net, head, gray, boxes)``: proposals -> refined boxes and signature
  probabilities; the detector multiplies the two scores (geometric mean) and suppresses
  duplicates again.

Trained by ``ml.detection.refine_train`` on jittered true boxes and on the first stage's
own proposals of training pages; the trunk stays frozen, so its features are cached.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.detection.model import conv_bn

CROP_H, CROP_W = 128, 256
MATCH_IOU = 0.3  # a proposal overlapping a true box this much is refinable


def _edge_reader(width: int) -> nn.Sequential:
    """A 1-D profile (B, width, n) -> logits of the two edges over its n positions (B, 2, n)."""
    return nn.Sequential(nn.Conv1d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv1d(width, 2, 3, padding=1))


def window(box, *, grow: float = 2.0, min_h_ratio: float = 4.0) -> np.ndarray:
    """A proposal box -> its crop window [x0, y0, x1, y1] (page pixels, aspect CROP_W:CROP_H)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    w = max(grow * bw, min_h_ratio * bh, 32.0)
    h = w * CROP_H / CROP_W
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float64)


def cut(gray: np.ndarray, win: np.ndarray) -> np.ndarray:
    """The window of a greyscale page (white beyond its edges), resized to CROP_H x CROP_W uint8."""
    h, w = gray.shape[:2]
    x0, y0 = int(np.floor(win[0])), int(np.floor(win[1]))
    x1, y1 = int(np.ceil(win[2])), int(np.ceil(win[3]))
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    region = np.full((max(y1 - y0, 1), max(x1 - x0, 1)), 255, np.uint8)
    if ix1 > ix0 and iy1 > iy0:
        region[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = gray[iy0:iy1, ix0:ix1]
    # the integer region is a little larger than the window: crop it to the window in the resize
    sx, sy = CROP_W / (win[2] - win[0]), CROP_H / (win[3] - win[1])
    m = np.array([[sx, 0, -(win[0] - x0) * sx], [0, sy, -(win[1] - y0) * sy]], dtype=np.float64)
    if sx < 1:  # shrinking: smooth first so thin strokes are averaged, not skipped
        k = 1.0 / sx
        region = cv2.GaussianBlur(region, (0, 0), sigmaX=max(0.5 * (k - 1), 0.01), sigmaY=max(0.5 * (k - 1), 0.01))
    return cv2.warpAffine(region, m, (CROP_W, CROP_H), flags=cv2.INTER_LINEAR, borderValue=255)


def to_window(boxes: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Page boxes -> coordinates relative to a window (0..1 across its width and height)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w, h = win[2] - win[0], win[3] - win[1]
    return np.stack([(b[:, 0] - win[0]) / w, (b[:, 1] - win[1]) / h, (b[:, 2] - win[0]) / w, (b[:, 3] - win[1]) / h], 1)


def from_window(rel: np.ndarray, win: np.ndarray) -> np.ndarray:
    rel = np.asarray(rel, dtype=np.float64).reshape(-1, 4)
    w, h = win[2] - win[0], win[3] - win[1]
    return np.stack([win[0] + rel[:, 0] * w, win[1] + rel[:, 1] * h, win[0] + rel[:, 2] * w, win[1] + rel[:, 3] * h], 1)


class RefinerHead(nn.Module):
    """Trunk features of a crop -> (edge logits x (B, 2, 32), edge logits y (B, 2, 16), signature logit (B,))."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.width = int(width)
        self.lat3 = conv_bn(40, width, 1)
        self.lat4 = conv_bn(112, width, 1)
        self.lat5 = conv_bn(320, width, 1)
        self.fuse = nn.Sequential(conv_bn(width, width, 3), conv_bn(width, width, 3))
        self.edges_x = _edge_reader(width)
        self.edges_y = _edge_reader(width)
        self.cls = nn.Sequential(nn.Linear(2 * width, width), nn.ReLU(inplace=True), nn.Linear(width, 1))

    def forward(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor):
        p = self.lat4(c4) + F.interpolate(self.lat5(c5), size=c4.shape[-2:], mode="nearest")
        q = self.lat3(c3) + F.interpolate(p, size=c3.shape[-2:], mode="nearest")
        q = self.fuse(q)
        ex = self.edges_x(q.amax(dim=2))
        ey = self.edges_y(q.amax(dim=3))
        g = torch.cat([q.mean(dim=(2, 3)), q.amax(dim=(2, 3))], dim=1)
        return ex, ey, self.cls(g).squeeze(1)


def edges(ex: torch.Tensor, ey: torch.Tensor) -> torch.Tensor:
    """Edge logits -> (B, 4) box [x0, y0, x1, y1] relative to the window (softmax expectation of bin centres)."""

    def expect(logits: torch.Tensor) -> torch.Tensor:
        n = logits.shape[-1]
        centres = (torch.arange(n, dtype=logits.dtype, device=logits.device) + 0.5) / n
        return (logits.softmax(dim=-1) * centres).sum(-1)

    x, y = expect(ex.float()), expect(ey.float())
    return torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], dim=1)


def crops_tensor(gray: np.ndarray, wins: list) -> torch.Tensor:
    return torch.from_numpy(np.stack([cut(gray, w) for w in wins])).float().div_(255.0)[:, None]


@torch.inference_mode()
def predict(heads, feats: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """Trunk features of crops -> (window-relative boxes (B, 4), signature probabilities (B,)), averaged over ``heads``."""
    heads = [heads] if isinstance(heads, RefinerHead) else list(heads)
    rels, probs = [], []
    for head in heads:
        ex, ey, logit = head(*feats)
        rels.append(edges(ex, ey))
        probs.append(torch.sigmoid(logit.float()))
    return torch.stack(rels).mean(0), torch.stack(probs).mean(0)


def refine(net, heads, gray: np.ndarray, boxes: np.ndarray, *, passes: int = 2, batch: int = 16):
    """Page proposals (N, 4) -> (refined boxes (N, 4), signature probabilities (N,)) in page pixels.

    ``heads``: one ``RefinerHead`` or several (an ensemble: boxes and probabilities averaged;
    the trunk's features of a crop are computed once for all of them).
    ``passes``: the refined box is refined again from its own window (the second look sees
    the signature centred at the scale it was trained on); the probability is the last pass's.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return boxes, np.zeros(0)
    prob = np.zeros(len(boxes))
    for _ in range(max(1, passes)):
        out = []
        for i in range(0, len(boxes), batch):
            wins = [window(b) for b in boxes[i : i + batch]]
            rel, p = predict(heads, net.features(crops_tensor(gray, wins)))
            out.extend(from_window(r, w)[0] for r, w in zip(rel.numpy().astype(np.float64), wins))
            prob[i : i + batch] = p.numpy()
        refined = np.asarray(out).reshape(-1, 4)
        refined[:, [0, 2]] = np.sort(refined[:, [0, 2]], axis=1)
        refined[:, [1, 3]] = np.sort(refined[:, [1, 3]], axis=1)
        boxes = refined
    h, w = gray.shape[:2]
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    return boxes, prob
