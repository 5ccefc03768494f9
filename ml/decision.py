"""The writer-dependent decision, version 2: WD SVM + WI dissimilarity, fused and calibrated,
with one operating point per reference-count bucket.

For one customer with references r_1..r_R (L2-normalised embeddings):

- **WD SVM** (``ml.writer`` style): a linear SVM separates the references from other
  writers' genuine signatures (random-forgery negatives) *and* from training writers'
  skilled forgeries (``skilled_negatives``), both shipped in the checkpoint;
- **WI dissimilarity**: one logistic model, fitted on training writers' pairs, maps the
  element-wise distance |q - r| of a query and a reference to the log-odds that both are
  genuine signatures of the same writer (``fit_wi``); a query gets the mean and the
  maximum over its references;
- **fusion and calibration**: a logistic calibrator per reference-count bucket (``BUCKETS``:
  1, 2-4, 5-9, 10+) maps [cos_mean, cos_max, svm, cos_rel, wi_mean, wi_max] to a score in
  [0, 1]; it is fitted on *validation* writers;
- **operating points per bucket**: each bucket has its own threshold, chosen on validation
  writers (``fit_decision``); ``Engine.threshold_for(n_refs)`` reads it.

A decision dict with ``kind == KIND`` selects this module in ``ml.engine``; older
checkpoints keep ``ml.writer``'s decision.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from ml.buckets import BUCKET_NAMES, BUCKET_PROTOCOL_REFS, BUCKETS, bucket_name  # noqa: F401  (re-exported)
from ml.writer import Calibrator, unit_rows, writer_params
from ml.writer import features as writer_features

KIND = "wd-svm+wi/bucketed-v2"
FEATURES = ("cos_mean", "cos_max", "svm", "cos_rel", "wi_mean", "wi_max")


class BucketCalibrator(Calibrator):
    """``ml.writer.Calibrator`` over this module's buckets (1, 2-4, 5-9, 10+)."""

    def score(self, feats: np.ndarray, n_refs: int) -> np.ndarray:
        name = bucket_name(n_refs)
        p = self.params.get(name)
        if p is None:  # nearest fitted bucket by reference count
            order = sorted(self.params, key=lambda b: abs(BUCKET_NAMES.index(b) - BUCKET_NAMES.index(name)))
            if not order:
                raise ValueError("the calibrator has no fitted bucket")
            p = self.params[order[0]]
        z = np.asarray(feats, np.float64) @ np.asarray(p["coef"]) + p["intercept"]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


# --------------------------------------------------------------------------- WI model


def _pair_features(q: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """(Q, R, D) element-wise |q - r| of unit embeddings."""
    return np.abs(q[:, None, :] - refs[None, :, :])


def fit_wi(emb: dict[str, dict[str, np.ndarray]], seed: int = 0, pairs_per_writer: int = 60, C: float = 1.0) -> dict:
    """Writer-independent model on training writers: |a - b| -> same genuine writer?

    Positives: two genuine signatures of one writer; negatives, equally many of each kind:
    a genuine signature and one of its skilled forgeries, and genuine signatures of two
    different writers. Returns ``{"w": [...], "b": float}`` (log-odds of "same writer").
    """
    rng = np.random.default_rng(seed)
    writers = sorted(w for w, d in emb.items() if len(d["genuine"]) >= 2)
    X, y, wt = [], [], []
    for w in writers:
        g = unit_rows(emb[w]["genuine"])
        f = unit_rows(emb[w]["forged"]) if len(emb[w]["forged"]) else None
        n = pairs_per_writer
        i, j = rng.integers(0, len(g), n), rng.integers(0, len(g), n)
        keep = i != j
        X.append(np.abs(g[i[keep]] - g[j[keep]]))
        y.append(np.ones(keep.sum()))
        wt.append(np.full(keep.sum(), 1.0))
        others = [o for o in writers if o != w]
        o = rng.choice(others, n)
        og = np.stack([unit_rows(emb[x]["genuine"])[rng.integers(0, len(emb[x]["genuine"]))] for x in o])
        X.append(np.abs(g[rng.integers(0, len(g), n)] - og))
        y.append(np.zeros(n))
        wt.append(np.full(n, 0.5 if f is not None else 1.0))
        if f is not None:
            X.append(np.abs(g[rng.integers(0, len(g), n)] - f[rng.integers(0, len(f), n)]))
            y.append(np.zeros(n))
            wt.append(np.full(n, 0.5))
    X, y, wt = np.concatenate(X), np.concatenate(y), np.concatenate(wt)
    lr = LogisticRegression(C=C, max_iter=3000)
    lr.fit(X, y, sample_weight=wt / wt.mean())
    return {"w": lr.coef_[0].astype(np.float32).tolist(), "b": float(lr.intercept_[0])}


# --------------------------------------------------------------------------- decision


class Decision:
    """Fit writers and compute fused features from a v2 decision dict."""

    def __init__(self, decision: dict):
        if decision.get("kind") != KIND:
            raise ValueError(f"not a {KIND} decision: {decision.get('kind')!r}")
        as_np = lambda t: t.float().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, np.float32)
        self.negatives = unit_rows(as_np(decision["negatives"]))
        sk = decision.get("skilled_negatives")
        self.skilled_negatives = unit_rows(as_np(sk)) if sk is not None and len(sk) else self.negatives[:0]
        self.svm_c = float(decision.get("svm_c", 1.0))
        self.skilled_weight = float(decision.get("skilled_weight", 1.0))
        wi = decision["wi"]
        self.wi_w = np.asarray(wi["w"], np.float32)
        self.wi_b = float(wi["b"])
        self.calibrator = BucketCalibrator(decision.get("calibrator"))

    def fit_writer(self, references: np.ndarray) -> dict:
        refs = unit_rows(references)
        if len(refs) < 1:
            raise ValueError("at least one reference is needed")
        negs = np.concatenate([self.negatives, self.skilled_negatives])
        X = np.concatenate([refs, negs])
        y = np.concatenate([np.ones(len(refs)), np.zeros(len(negs))])
        # each negative kind weighs as much as the other, the references as much as all negatives
        w = np.concatenate(
            [
                np.full(len(refs), 0.5 / len(refs)),
                np.full(len(self.negatives), 0.5 / (1 + self.skilled_weight) / max(1, len(self.negatives))),
                np.full(
                    len(self.skilled_negatives),
                    0.5 * self.skilled_weight / (1 + self.skilled_weight) / max(1, len(self.skilled_negatives)),
                ),
            ]
        )
        svm = LinearSVC(C=self.svm_c, max_iter=5000, dual="auto")
        svm.fit(X, y, sample_weight=w * len(X))
        return writer_params(refs, svm)

    def features(self, wd: dict, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features (Q, 6), cosine similarities (Q, R)) of queries against one writer."""
        base, sims = writer_features(wd, queries)  # the v1 features: cosine mean and max, SVM margin, relative
        refs = np.asarray(wd["references"], np.float32)
        wi = _pair_features(unit_rows(queries), refs) @ self.wi_w + self.wi_b  # (Q, R)
        return np.concatenate([base, np.stack([wi.mean(1), wi.max(1)], 1)], 1), sims

    def score(self, wd: dict, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, sims = self.features(wd, queries)
        return self.calibrator.score(f, wd["n_refs"]), sims
