"""The interface the web app uses: prepare, embed, enroll (fit), verify, identify.

    engine = Engine.load()                      # shipped model, no network
    refs = engine.embed([png_bytes, strokes, ...])
    wd = engine.fit_writer(refs)                # JSON-serialisable, store per enrollment
    result = engine.verify(wd, engine.embed([query])[0])
    # {"score": 0.93, "threshold": 0.5, "similarities": [...]}  (the app decides accept, review or reject)

Scores are calibrated probabilities in [0, 1] (see ``ml.writer``); ``engine.threshold``
was fixed on validation writers at the operating point recorded in the checkpoint.
Checkpoints with a v2 decision (``ml.decision``), and v1 checkpoints calibrated with
``decision["thresholds"]`` (``ml.calibration.operating_points``), carry one operating point per
reference-count bucket (1, 2-4, 5-9, 10+): ``engine.threshold_for(n_refs)`` is the one
``verify`` uses, and ``engine.threshold`` stays the default (fitted at 5 references).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import torch

from ml import checkpoint as ckpt
from ml import cleaner as cleaning
from ml import consistency
from ml import decision as decision_v2
from ml import identify as identification
from ml.errors import CheckpointError
from ml.preprocess import PREPROCESS_VERSION, Prepared, prepare, to_png
from ml.writer import Calibrator, features, fit_writer


@torch.inference_mode()
def embed_batches(model: torch.nn.Module, images: np.ndarray, device, batch_size: int = 64) -> np.ndarray:
    """(N, H, W) uint8 or float32-in-[0, 1] preprocessed images -> (N, D) float32 embeddings.

    Channels-last: about 1.8x faster for one signature on one CPU thread (docs/BENCHMARKS.md).
    """
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.as_tensor(np.asarray(images[i : i + batch_size]))
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        x = x.unsqueeze(1).to(device).contiguous(memory_format=torch.channels_last)
        out.append(model(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.embedding_dim), np.float32)


class Engine:
    def __init__(self, ck: dict, device: str = "cpu", model: torch.nn.Module | None = None, cleaner: str | None = None):
        self.checkpoint = ck
        self.device = torch.device(device)
        # channels-last: about 1.8x faster for one signature on one CPU thread (docs/BENCHMARKS.md)
        self.model = (model or ckpt.build_model(ck)).to(self.device, memory_format=torch.channels_last).eval()
        self.arch = ck["arch"]
        self.canvas = tuple(ck["preprocess"]["canvas"])
        self.embedding_dim = int(self.model.embedding_dim)
        decision = ck.get("decision") or {}
        self.calibrator = Calibrator(decision.get("calibrator"))
        neg = decision.get("negatives")
        self.negatives = neg.float().numpy() if isinstance(neg, torch.Tensor) else np.zeros((0, self.embedding_dim), np.float32)
        self.svm_c = float(decision.get("svm_c", 1.0))
        self.threshold = float(decision.get("threshold", 0.5))
        # one operating point per reference-count bucket (ml.decision.bucket_name), where calibrated
        self.thresholds = {str(k): float(v) for k, v in (decision.get("thresholds") or {}).items()}
        self.operating_point = decision.get("operating_point", "uncalibrated")
        # v2 decisions (ml.decision): WD SVM + WI score, one operating point per reference-count bucket
        self.decision = decision_v2.Decision(decision) if decision.get("kind") == decision_v2.KIND else None
        path = ck.get("_path")
        self.model_version = f"{self.arch}-{ckpt.file_hash(path)[:8]}" if path else f"{self.arch}-unsaved"
        self.preprocess_version = PREPROCESS_VERSION
        # cleaning (ml.cleaner): the checkpoint's preprocess["cleaner"], DEFAULT_CLEANER when absent; "none": off
        self.cleaner_version = cleaner or ck.get("preprocess", {}).get("cleaner", cleaning.DEFAULT_CLEANER)
        self.cleaner = cleaning.get(self.cleaner_version)
        self._lock = threading.Lock()
        self._consistency_rule = None

    @classmethod
    def load(cls, path=None, device: str = "cpu", cleaner: str | None = None) -> Engine:
        ck = ckpt.load(path)
        if "decision" not in ck:
            raise CheckpointError(f"{ck['_path']} is a training checkpoint without a calibrated decision")
        return cls(ck, device, cleaner=cleaner)

    # ---------------------------------------------------------------- inputs

    def prepare(self, source) -> Prepared:
        if isinstance(source, Prepared):
            return source
        return prepare(source, self.canvas, cleaner=self.cleaner)

    @staticmethod
    def preview_png(prepared: Prepared) -> bytes:
        return to_png(prepared.image)

    @staticmethod
    def cleaned_png(prepared: Prepared) -> bytes | None:
        """The query after cleaning, before preprocessing (ink dark on white), or None when not cleaned."""
        return None if prepared.cleaned is None else to_png(prepared.cleaned)

    def embed_images(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, H, W) float32 in [0, 1] or uint8 preprocessed images -> (N, D) float32."""
        with self._lock:  # BatchNorm in eval mode is stateless, but keep one batch at a time
            return embed_batches(self.model, images, self.device, batch_size)

    def embed(self, items: Iterable, batch_size: int = 64) -> np.ndarray:
        prepared = [self.prepare(s) for s in items]
        return self.embed_images(np.stack([p.image for p in prepared]) if prepared else np.zeros((0, *self.canvas)), batch_size)

    # ---------------------------------------------------------------- decisions

    def fit_writer(self, reference_embeddings: np.ndarray) -> dict:
        refs = np.asarray(reference_embeddings, np.float32)
        if refs.ndim != 2 or len(refs) < 1 or refs.shape[1] != self.embedding_dim:
            raise ValueError(f"references must be (R >= 1, {self.embedding_dim}) embeddings, got {refs.shape}")
        wd = self.decision.fit_writer(refs) if self.decision else fit_writer(refs, self.negatives, C=self.svm_c)
        wd["model_version"] = self.model_version
        return wd

    def score(self, wd: dict, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores (Q,), similarities (Q, R)) for query embeddings against one writer."""
        if self.decision:
            return self.decision.score(wd, queries)
        f, sims = features(wd, queries)
        return self.calibrator.score(f, wd["n_refs"]), sims

    def threshold_for(self, n_refs: int) -> float:
        """The checkpoint's operating point for an enrollment with ``n_refs`` references:
        its reference-count bucket's threshold where the checkpoint has them (v1 and v2 decisions
        store them alike), else ``self.threshold``."""
        return self.thresholds.get(decision_v2.bucket_name(n_refs), self.threshold)

    def verify(self, wd: dict, query_embedding: np.ndarray, threshold: float | None = None) -> dict:
        """``threshold`` (a customer's own, set by an admin) overrides the checkpoint's
        operating point for the enrollment's reference count (``threshold_for``)."""
        t = self.threshold_for(int(wd["n_refs"])) if threshold is None else float(threshold)
        scores, sims = self.score(wd, np.asarray(query_embedding, np.float32).reshape(1, -1))
        s = float(scores[0])
        return {"score": s, "threshold": t, "similarities": [float(v) for v in sims[0]]}

    @property
    def consistency_rule(self) -> consistency.ConsistencyRule:
        """This model's thresholds for ``reference_consistency`` (``ml.consistency.rule_for``)."""
        if self._consistency_rule is None:
            self._consistency_rule = consistency.rule_for(self.model_version, self.negatives)
        return self._consistency_rule

    def reference_consistency(self, reference_embeddings: np.ndarray) -> dict:
        """Do these references plausibly come from one writer? (``ml.consistency``)

        ``{"consistent": bool, "score": float, "threshold": float, "outliers": [int, ...]}``;
        ``outliers`` are indices of references that look like another writer's (may be
        empty). One reference is trivially consistent."""
        refs = np.asarray(reference_embeddings, np.float32)
        if refs.ndim != 2 or len(refs) < 1 or refs.shape[1] != self.embedding_dim:
            raise ValueError(f"references must be (R >= 1, {self.embedding_dim}) embeddings, got {refs.shape}")
        return consistency.check(refs, self.consistency_rule)

    def identify(self, query_embedding: np.ndarray, candidates: dict, top_k: int = 5, margin: float | None = None) -> dict:
        """1:N: re-score a short list ``{key: writer parameters}`` (from the vector index,
        ``ml.index``) and name the outcome, ``match``, ``ambiguous`` or ``none`` (``ml.identify``):
        ``{"outcome", "margin", "candidates": [{"key", "score", "threshold", "passes"}, ...]}``."""
        return identification.identify(self, query_embedding, candidates, top_k=top_k, margin=margin)
