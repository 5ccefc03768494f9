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
        return FakePrepared(image=img, quality={"ink_fraction": float((ink > 0.3).mean()), "kind": kind}, kind=kind)

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

    def identify(self, query, candidates, top_k=5):
        ranked = [(k, self.verify(wd, query)["score"]) for k, wd in candidates.items()]
        ranked.sort(key=lambda kv: kv[1], reverse=True)
        return ranked[:top_k]

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
