"""A small, deterministic stand-in for ``ml.engine.Engine`` with the same interface.

Used by unit tests so that services and the API are tested without a checkpoint. It
decodes images with Pillow like the real engine (so bad input fails the same way) and
embeds a 8x8 thumbnail of the ink, which makes jittered samples of one demo writer similar.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from verification.ml_engine import SignatureInputError, strokes_parse


@dataclass(frozen=True)
class FakePrepared:
    image: np.ndarray
    quality: dict
    kind: str


class FakeEngine:
    """Implements ``verification.ml_engine.SignatureEngine`` (tests/verification/test_fake_engine.py)."""

    embedding_dim = 64
    preprocess_version = "fake-pp-1"
    canvas = (16, 32)

    def __init__(self, path: str | None = None, threshold: float = 0.5):
        self.path = path or ""
        self.model_version = "fake-" + hashlib.sha256(self.path.encode()).hexdigest()[:8]
        self.threshold = threshold
        self.checkpoint = {"metrics": {"eer": 0.1}}
        self.calls = {"prepare": 0, "embed": 0, "verify": 0}

    # inputs
    def prepare(self, source):
        if isinstance(source, FakePrepared):
            return source
        self.calls["prepare"] += 1
        if isinstance(source, (bytes, bytearray)):
            try:
                with Image.open(io.BytesIO(source)) as im:
                    im.load()
                    gray = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
            except Exception:
                raise SignatureInputError("unreadable", "The file is not a readable image") from None
            ink = 1.0 - gray
            kind = "image"
        elif isinstance(source, list):
            strokes = [[(float(x), float(y)) for x, y in a[:, :2]] for a in strokes_parse(source)]
            canvas = Image.new("L", (600, 200), 0)
            draw = ImageDraw.Draw(canvas)
            for s in strokes:
                if len(s) > 1:
                    draw.line(s, fill=255, width=4)
            ink = np.asarray(canvas, dtype=np.float32) / 255.0
            kind = "strokes"
        else:
            raise SignatureInputError("unreadable", f"cannot read {type(source).__name__}")
        if ink.max() <= 0.1 or (ink > 0.3).sum() < 20:
            raise SignatureInputError("blank", "no ink found")
        ys, xs = np.nonzero(ink > 0.3)
        crop = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        img = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((32, 16)), dtype=np.float32) / 255.0
        quality = {"ink_fraction": float((ink > 0.3).mean()), "kind": kind}
        if kind == "image":  # like the real engine when its cleaner ran (the fake's cleaned view is the preview)
            quality["cleaned"] = True
        return FakePrepared(image=img, quality=quality, kind=kind)

    @staticmethod
    def preview_png(prepared) -> bytes:
        buf = io.BytesIO()
        Image.fromarray((prepared.image * 255).astype(np.uint8)).save(buf, format="PNG")
        return buf.getvalue()

    @classmethod
    def cleaned_png(cls, prepared) -> bytes | None:
        """The fake cleans nothing: an image's cleaned view is its preview, strokes have none."""
        return cls.preview_png(prepared) if prepared.kind == "image" else None

    def embed_images(self, images, batch_size=64):
        rows = []
        for image in np.asarray(images, np.float32):
            v = np.asarray(Image.fromarray((image * 255).astype(np.uint8)).resize((8, 8)), dtype=np.float32).reshape(-1)
            v = v - v.mean()
            rows.append(v / (np.linalg.norm(v) + 1e-6))
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 64), np.float32)

    def embed(self, items, batch_size=64):
        self.calls["embed"] += 1
        return self.embed_images(np.stack([self.prepare(item).image for item in items]))

    # decisions
    def fit_writer(self, reference_embeddings):
        refs = np.asarray(reference_embeddings, np.float32)
        if refs.ndim != 2 or len(refs) < 1:
            raise ValueError("need (R, D) references")
        return {"refs": refs.tolist(), "n_refs": int(len(refs)), "model_version": self.model_version}

    def score(self, wd, queries):
        refs = np.asarray(wd["refs"], np.float32)
        sims = np.asarray(queries, np.float32).reshape(-1, refs.shape[1]) @ refs.T
        return np.clip((sims.mean(axis=1) + 1) / 2, 0, 1), sims

    def threshold_for(self, n_refs: int) -> float:
        return self.threshold

    def verify(self, wd, query_embedding, threshold=None):
        self.calls["verify"] += 1
        t = self.threshold if threshold is None else float(threshold)
        scores, sims = self.score(wd, query_embedding)
        return {"score": float(scores[0]), "threshold": t, "similarities": [float(s) for s in sims[0]]}

    def identify(self, query_embedding, candidates, top_k=5, margin=None):
        """``ml.engine.Engine.identify``'s result; the outcome rule is ``ml.identify.decide``'s."""
        margin = 0.1 if margin is None else float(margin)
        ranked = sorted(
            ((k, self.verify(wd, query_embedding)["score"]) for k, wd in candidates.items()), key=lambda kv: kv[1], reverse=True
        )
        outcome = "none"
        if ranked and ranked[0][1] >= self.threshold:  # one threshold: the best passes whenever any does
            second = ranked[1][1] if len(ranked) > 1 else float("-inf")
            outcome = "match" if ranked[0][1] - second >= margin else "ambiguous"
        cands = [{"key": k, "score": s, "threshold": self.threshold, "passes": s >= self.threshold} for k, s in ranked[:top_k]]
        return {"outcome": outcome, "margin": margin, "candidates": cands}

    # consistency of a reference set (the interface of ml.engine.Engine.reference_consistency)
    consistency_threshold = 0.5

    def reference_consistency(self, reference_embeddings):
        """Leave-one-out: each reference's mean cosine similarity to the others.

        The set is consistent when every reference reaches ``consistency_threshold``;
        the score is the lowest of those means, and the outliers are the references below.
        Samples of one demo writer sit far above it and different demo writers far below,
        so tests build a mixed-writer set by taking samples of several writers.
        """
        e = np.asarray(reference_embeddings, np.float32)
        if e.ndim != 2 or len(e) < 2:
            raise ValueError("need (R, D) reference embeddings with R >= 2")
        e = e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-9)
        sims = e @ e.T
        n = len(e)
        loo = (sims.sum(axis=1) - np.diag(sims)) / (n - 1)
        t = float(self.consistency_threshold)
        outliers = [int(i) for i in np.nonzero(loo < t)[0]]
        return {"consistent": not outliers, "score": float(loo.min()), "threshold": t, "outliers": outliers}


class FakeDetector:
    """Implements ``verification.ml_engine.SignatureDetector``: each blob of dark ink (every
    channel below 110, joined when within three 24-pixel cells) is one box, scored 0.9; grey print is ignored."""

    version = "fake-detector-1"
    cell = 24

    def __init__(self, path: str | None = None):
        self.path = path or ""
        self.calls = 0

    def detect(self, image, *, min_score=0.05, max_boxes=100):
        self.calls += 1
        ink = (np.asarray(image)[..., :3].max(axis=2) < 110).astype(np.uint8)
        h, w = ink.shape
        c = self.cell
        grid = np.zeros(((h + c - 1) // c, (w + c - 1) // c), bool)
        ys, xs = np.nonzero(ink)
        grid[ys // c, xs // c] = True
        seen = np.zeros_like(grid)
        boxes = []
        for gy, gx in zip(*np.nonzero(grid), strict=True):
            if seen[gy, gx]:
                continue
            stack, cells = [(gy, gx)], []
            seen[gy, gx] = True
            while stack:
                y, x = stack.pop()
                cells.append((y, x))
                for ny in range(max(0, y - 3), min(grid.shape[0], y + 4)):
                    for nx in range(max(0, x - 3), min(grid.shape[1], x + 4)):
                        if grid[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            stack.append((ny, nx))
            if len(cells) < 3:
                continue
            cy, cx = np.array(cells).T
            sub = ink[cy.min() * c : (cy.max() + 1) * c, cx.min() * c : (cx.max() + 1) * c]
            sy, sx = np.nonzero(sub)
            x0, y0 = cx.min() * c + sx.min(), cy.min() * c + sy.min()
            boxes.append({"box": [float(x0), float(y0), float(cx.min() * c + sx.max() + 1), float(cy.min() * c + sy.max() + 1)]})
        boxes.sort(key=lambda b: -(b["box"][2] - b["box"][0]) * (b["box"][3] - b["box"][1]))
        out = [{**b, "score": 0.9 - 0.01 * i} for i, b in enumerate(boxes)]
        return [b for b in out if b["score"] >= min_score][:max_boxes]

    @staticmethod
    def crop(image, box, pad: float = 0.1):
        x0, y0, x1, y1 = box
        px, py = (x1 - x0) * pad, (y1 - y0) * pad
        h, w = np.asarray(image).shape[:2]
        return np.asarray(image)[max(0, int(y0 - py)) : min(h, int(y1 + py) + 1), max(0, int(x0 - px)) : min(w, int(x1 + px) + 1)]
