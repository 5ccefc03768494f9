"""Writer-dependent decisions on top of writer-independent embeddings.

For one customer with references r_1..r_R (L2-normalised embeddings):

- a linear SVM (Hafemann's WD classifier) separates the references from a bank of other
  writers' genuine signatures (random-forgery negatives shipped in the checkpoint);
  with one reference this is an exemplar SVM;
- for a query q, the features are: mean and max cosine similarity to the references,
  the SVM margin, and the mean similarity minus the references' own mutual similarity
  (how q fits compared with how consistent this writer is; 0 with one reference);
- a logistic calibrator per reference-count bucket, fitted on *validation* writers,
  maps the features to a score in [0, 1]; one global threshold, also chosen on
  validation writers, makes the decision.

The protocol helpers at the bottom are the field's standard (see ``ml.evaluate``) and
are used both to fit calibrators on validation writers and to evaluate on test writers,
so evaluation scores exactly what the app scores.
"""

from __future__ import annotations

import zlib

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

FEATURES = ("cos_mean", "cos_max", "svm", "cos_rel")
BUCKETS = ((1, 1), (2, 4), (5, 10**9))


def bucket_name(n_refs: int) -> str:
    for lo, hi in BUCKETS:
        if lo <= n_refs <= hi:
            return f"{lo}-{hi}" if hi < 10**9 else f"{lo}+"
    raise ValueError(f"bad reference count {n_refs}")


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32, 2-D: a single vector becomes one row)."""
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[None]
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def fit_writer(references: np.ndarray, negatives: np.ndarray, C: float = 1.0) -> dict:
    """Writer-dependent parameters from (R, D) reference embeddings; JSON-serialisable."""
    refs = unit_rows(references)
    if len(refs) < 1:
        raise ValueError("at least one reference is needed")
    negs = unit_rows(negatives)
    X = np.concatenate([refs, negs])
    y = np.concatenate([np.ones(len(refs)), np.zeros(len(negs))])
    svm = LinearSVC(C=C, class_weight="balanced", max_iter=5000, dual="auto")
    svm.fit(X, y)
    return writer_params(refs, svm)


def writer_params(refs: np.ndarray, svm: LinearSVC) -> dict:
    """The stored writer-dependent parameters: unit references, the fitted SVM's hyperplane,
    and the references' mean pairwise cosine similarity (None with one reference)."""
    self_sim = None
    if len(refs) > 1:
        sims = refs @ refs.T
        self_sim = float((sims.sum() - np.trace(sims)) / (len(refs) * (len(refs) - 1)))
    return {
        "n_refs": int(len(refs)),
        "references": refs.round(6).tolist(),
        "svm_w": svm.coef_[0].astype(np.float32).round(6).tolist(),
        "svm_b": float(svm.intercept_[0]),
        "self_sim": self_sim,
    }


def features(wd: dict, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features (Q, 4), similarities (Q, R)) for query embeddings against one writer."""
    q = unit_rows(queries)
    refs = np.asarray(wd["references"], np.float32)
    sims = q @ refs.T
    cos_mean = sims.mean(1)
    svm = q @ np.asarray(wd["svm_w"], np.float32) + wd["svm_b"]
    rel = cos_mean - wd["self_sim"] if wd.get("self_sim") is not None else np.zeros_like(cos_mean)
    return np.stack([cos_mean, sims.max(1), svm, rel], 1), sims


CALIBRATION_MODES = ("balanced", "skilled_half", "skilled_only")


class Calibrator:
    """Logistic calibration per reference-count bucket: features -> probability genuine.

    ``fit`` takes, per bucket, the features of genuine queries, skilled forgeries and
    random forgeries. How the negatives are weighted (``mode``):

    - ``balanced``: genuine against all forgeries pooled, classes balanced. Random
      forgeries far outnumber skilled ones, so the fit mostly separates other people's
      signatures, and genuine signatures and skilled forgeries both end up near 1.
    - ``skilled_half`` (default): genuine weighs as much as all forgeries, and skilled and
      random forgeries weigh half each, however many of each there are. Where a set has
      no skilled forgeries, random forgeries take the whole negative weight.
    - ``skilled_only``: genuine against skilled forgeries alone (random where none).
    """

    def __init__(self, params: dict | None = None):
        self.params = params or {}

    def fit(self, feats_by_bucket: dict[str, dict[str, np.ndarray]], mode: str = "skilled_half", C: float = 1.0):
        if mode not in CALIBRATION_MODES:
            raise ValueError(f"unknown calibration mode {mode!r}; one of {CALIBRATION_MODES}")
        for name, parts in feats_by_bucket.items():
            arrays = [np.asarray(parts.get(k, ()), np.float64) for k in ("genuine", "skilled", "random")]
            # as many features as the data has (FEATURES unless a study passes others); a missing part is empty
            width = next((x.shape[1] for x in arrays if x.ndim == 2), len(FEATURES))
            g, s, r = (x.reshape(-1, width) for x in arrays)
            if mode == "balanced":
                neg = [(np.concatenate([s, r]), 1.0)]
            elif mode == "skilled_only":
                neg = [(s, 1.0)] if len(s) else [(r, 1.0)]
            else:
                neg = [(s, 0.5), (r, 0.5)] if len(s) else [(r, 1.0)]
            neg = [(x, share) for x, share in neg if len(x)]
            if not len(g) or not neg:
                continue
            X = np.concatenate([g] + [x for x, _ in neg])
            y = np.concatenate([np.ones(len(g))] + [np.zeros(len(x)) for x, _ in neg])
            # genuine carries half the total weight, each negative kind its share of the rest
            w = np.concatenate([np.full(len(g), 0.5 / len(g))] + [np.full(len(x), 0.5 * sh / len(x)) for x, sh in neg])
            lr = LogisticRegression(C=C, max_iter=2000)
            lr.fit(X, y, sample_weight=w * len(X))
            self.params[name] = {"coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]), "mode": mode}
        return self

    def score(self, feats: np.ndarray, n_refs: int) -> np.ndarray:
        p = self.params.get(bucket_name(n_refs))
        if p is None:  # fall back on the nearest fitted bucket
            p = next(iter(self.params.values()), {"coef": [8.0, 0, 0, 0], "intercept": -6.0})
        z = feats @ np.asarray(p["coef"]) + p["intercept"]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


# --------------------------------------------------------------------------- protocol


def writer_rng(seed: int, writer: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(writer.encode())])


def protocol(emb: dict[str, dict[str, np.ndarray]], n_refs: int, seed: int, fit, score):
    """Run the standard protocol on embedded writers.

    ``emb[writer] = {"genuine": (G, D), "forged": (F, D)}``. For each writer: shuffle its
    genuine signatures with ``seed``, the first ``n_refs`` are references (fewer if it has
    fewer, keeping at least one query), the rest are genuine queries; all its forgeries are
    skilled forgeries; all genuine signatures of the other writers are random forgeries.
    ``fit(refs) -> wd`` and ``score(wd, queries) -> values`` are the decision under test.
    Yields (writer, references used, {"genuine": ..., "skilled": ..., "random": ...}).
    """
    writers = sorted(emb)
    for w in writers:
        g = emb[w]["genuine"]
        if len(g) < 2:
            continue
        order = writer_rng(seed, w).permutation(len(g))
        r = min(n_refs, len(g) - 1)
        wd = fit(g[order[:r]])
        others = [emb[o]["genuine"] for o in writers if o != w and len(emb[o]["genuine"])]
        sets = {
            "genuine": g[order[r:]],
            "skilled": emb[w].get("forged", g[:0]),
            "random": np.concatenate(others) if others else g[:0],
        }
        yield w, r, {k: (score(wd, v) if len(v) else np.zeros((0,) + np.shape(score(wd, g[:1]))[1:])) for k, v in sets.items()}


def protocol_features(emb, n_refs: int, seed: int, negatives: np.ndarray, C: float = 1.0):
    """``protocol`` with the raw decision features (for fitting calibrators)."""
    return protocol(emb, n_refs, seed, lambda refs: fit_writer(refs, negatives, C=C), lambda wd, q: features(wd, q)[0])
