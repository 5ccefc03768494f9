"""Handwritten-signature detection on document pages.

``Detector.load(path=None)`` reads a detector checkpoint (default ``ml/weights/detector.pt``);
``Detector.detect(image)`` takes an HxWx3 uint8 RGB page (any size or aspect; colour or
greyscale) and returns ``[{"box": [x0, y0, x1, y1], "score": s}, ...]`` best first, in
pixels of that page (origin top-left, x1/y1 exclusive). The page is converted to
greyscale, letterboxed to the checkpoint's input size and the boxes mapped back.
``crop(image, box, pad=...)`` cuts a detected signature out of its page.

A page at least twice ``WORK_SIDE`` long (``Detector.work_side``) is reduced by a whole factor
(``ml.detection.boxes.reduce``: its long side then lies between ``WORK_SIDE`` and twice that)
before either stage looks at it, and the boxes are mapped back to the page as given: the first
stage sees a 640-pixel page whatever the scan's resolution, and the refiner was trained on
640-pixel pages, so a 300 dpi scan gives them nothing that its half-size copy lacks, only more
pixels to convert, resize and cut. ``detect(image, size=(W, H))`` takes a page already decoded
smaller (``ml.documents.read_pages(..., reduce_to=WORK_SIDE)``) and returns boxes in pixels of
the W x H page it stands for.

A checkpoint with a ``refiner`` is a two-stage detector: the first stage's boxes (score at
least ``MIN_SCORE``: the ``REFINE_MAX`` best, and any other scoring at least
``REFINE_CONFIDENT``, ``REFINE_LIMIT`` in all) are refined from the page at its own
resolution, or from its reduced copy (``ml.detection.refine``), each scored by the geometric mean of the two stages'
scores, and duplicates are suppressed again; a two-stage detector returns no other boxes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ml.detection.boxes import letterbox, nms, reduce, to_gray
from ml.detection.model import DetectorNet, decode
from ml.detection.refine import RefinerHead, refine
from ml.errors import CheckpointError

KIND = "sigweb-detector"
FORMAT = 2
PREPROCESS = "gray-letterbox-white-v1"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "weights" / "detector.pt"
MIN_SCORE = 0.05
MAX_BOXES = 100
REFINE_MAX = 4  # first-stage boxes the second stage looks at, best first (bounds its CPU time per page) ...
REFINE_CONFIDENT = 0.3  # ... and any further box scoring at least this (pages signed by many people) ...
REFINE_LIMIT = 16  # ... up to this many in all
WORK_SIDE = 1280  # pages twice as long are reduced by a whole factor before both stages (twice the first stage's input)


def make_checkpoint(net: DetectorNet, *, width: int, fine_width: int, version: str, config: dict, metrics: dict) -> dict:
    return {
        "kind": KIND,
        "format": FORMAT,
        "version": version,
        "arch": "lite0-centernet",
        "arch_kwargs": {
            "size": net.size,
            "width": int(width),
            "fine_width": int(fine_width),
            **({"tuned_from": net.tuned_from} if net.tuned_from else {}),
            **({"extra_heads": len(net.members)} if len(net.members) else {}),
        },
        "input": {
            "size": net.size,
            "preprocess": PREPROCESS,
            "channels": "gray->3",
            "pad": 255,
            "mean": list(net.mean.flatten().tolist()),
            "std": list(net.std.flatten().tolist()),
        },  # fmt: skip
        "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "config": config,
        "metrics": metrics,
    }


class Detector:
    def __init__(self, net: DetectorNet, version: str, path: str = "", refiner=None, refine_passes: int = 2):
        self.net = net.eval()
        self.work_side = WORK_SIDE  # None: read every page whole (slower on large pages, same boxes)
        self.version = version
        self.size = net.size
        self.path = path
        self.refiner = refiner  # None, a RefinerHead or a list of them (an ensemble), in eval mode
        self.refine_passes = int(refine_passes)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Detector:
        path = Path(path) if path else DEFAULT_PATH
        if not path.is_file():
            raise CheckpointError(f"detector checkpoint not found: {path}")
        try:
            ck = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip or truncation errors: not a checkpoint of ours
            raise CheckpointError(f"{path} is not a SigWeb checkpoint ({type(exc).__name__})") from None
        if not isinstance(ck, dict) or ck.get("kind") != KIND:
            got = ck.get("kind") if isinstance(ck, dict) else type(ck).__name__
            raise CheckpointError(f"{path} is not a SigWeb detector checkpoint (kind={got})")
        if ck.get("format") != FORMAT or ck.get("input", {}).get("preprocess") != PREPROCESS:
            raise CheckpointError(f"{path} has detector format {ck.get('format')}, this code reads {FORMAT} ({PREPROCESS})")
        try:
            net = DetectorNet(**ck["arch_kwargs"])
            net.load_state_dict(ck["state_dict"], strict=True)
            refiner, passes = None, 2
            if ck.get("refiner"):
                refiner = []
                for state in ck["refiner"]["state_dicts"]:
                    head = RefinerHead(**ck["refiner"]["arch_kwargs"])
                    head.load_state_dict(state, strict=True)
                    refiner.append(head.eval())
                passes = int(ck["refiner"].get("passes", 2))
        except (KeyError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"{path} does not match the detector network: {exc}") from None
        net = net.to(memory_format=torch.channels_last)
        return cls(net, str(ck.get("version", "unknown")), str(path), refiner, passes)

    def prepare(self, image: np.ndarray):
        """Page -> (network input (1, 1, S, S), Letterbox)."""
        canvas, lb = letterbox(_gray_page(image), self.size)
        x = torch.from_numpy(canvas).float().div_(255.0)[None, None]
        return x, lb

    @torch.inference_mode()
    def detect(
        self, image: np.ndarray, *, min_score: float = MIN_SCORE, max_boxes: int = MAX_BOXES, size: tuple[int, int] | None = None
    ) -> list[dict]:
        """Boxes best first, in pixels of the page; ``size=(W, H)``: ``image`` is that page decoded smaller."""
        gray = _gray_page(image)
        width, height = size if size is not None else (gray.shape[1], gray.shape[0])
        fx, fy = width / gray.shape[1], height / gray.shape[0]  # image -> page pixels (1 unless decoded smaller)
        if self.work_side:
            gray, k = reduce(gray, self.work_side)
            fx, fy = fx * k, fy * k  # work page -> image pixels: k exactly
        x, lb = self.prepare(gray)
        heat, box = self.net(x)
        if self.refiner is None:
            boxes, scores = decode(heat, box, min_score=min_score, top_k=max(max_boxes, 1))[0]
            boxes = lb.to_page(boxes)
        else:  # the second stage looks at the first stage's best boxes and at every confident one
            boxes, scores = proposals(*decode(heat, box, min_score=MIN_SCORE, top_k=REFINE_LIMIT)[0])
            pairs = self.second_stage(gray, lb.to_page(boxes), scores)
            boxes = np.asarray([b for b, _ in pairs], dtype=np.float64).reshape(-1, 4)
            scores = np.asarray([s for _, s in pairs], dtype=np.float64)
            keep = scores >= min_score
            boxes, scores = boxes[keep], scores[keep]
        boxes = boxes * np.array([fx, fy, fx, fy])
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        out = []
        for b, s in zip(boxes, scores):
            if b[2] - b[0] <= 0 or b[3] - b[1] <= 0:  # wholly in the letterbox bars
                continue
            out.append({"box": [float(v) for v in b], "score": float(s)})
        return out[:max_boxes]

    def second_stage(self, gray: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> list:
        """First-stage page boxes and scores -> refined [(box, score)], best first, duplicates suppressed.

        The score is the geometric mean of the first stage's score and the refiner's
        signature probability; boxes that become duplicates after refinement are suppressed
        (IoU 0.5).
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if self.refiner is None or not len(boxes):
            return list(zip(boxes, scores))
        refined, prob = refine(self.net, self.refiner, gray, boxes, passes=self.refine_passes)
        score = np.sqrt(scores * prob)
        kept = nms(refined, score, 0.5)
        return [(refined[i], float(score[i])) for i in kept]


def _gray_page(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"expected an HxWx3 page image, got shape {image.shape}")
    return to_gray(image)


def proposals(boxes: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-stage boxes, best first -> those the second stage refines: the ``REFINE_MAX`` best
    and any other scoring at least ``REFINE_CONFIDENT``, ``REFINE_LIMIT`` in all."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[:REFINE_LIMIT]
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)[:REFINE_LIMIT]
    keep = (np.arange(len(scores)) < REFINE_MAX) | (scores >= REFINE_CONFIDENT)
    return boxes[keep], scores[keep]


def crop(image: np.ndarray, box, pad: float = 0.1) -> np.ndarray:
    """The page region of ``box`` grown by ``pad`` of its size on every side (clipped to the page)."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    px, py = (x1 - x0) * pad, (y1 - y0) * pad
    ix0, iy0 = max(0, int(np.floor(x0 - px))), max(0, int(np.floor(y0 - py)))
    ix1, iy1 = min(w, int(np.ceil(x1 + px))), min(h, int(np.ceil(y1 + py)))
    if ix1 <= ix0 or iy1 <= iy0:
        raise ValueError(f"box {list(box)} lies outside the {w}x{h} page")
    return np.ascontiguousarray(image[iy0:iy1, ix0:ix1])


__all__ = ["Detector", "crop", "DEFAULT_PATH", "MIN_SCORE", "MAX_BOXES", "WORK_SIDE"]
