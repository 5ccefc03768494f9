"""Fitting the online scores on validation users: a logistic regression by Newton's method
(``fit_logistic``), the weights of genuine signatures, skilled and random forgeries in it
(``negative_weights``), the operating point (``eer_threshold``) and the validation rows they
are fitted on (``validation_rows``). Used by
``ml.online.calibrate``; the app only reads the fitted numbers (``ml.online.verifier``)."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

from ml.metrics import eer
from ml.online.verifier import _sigmoid

if TYPE_CHECKING:
    from ml.online.evaluate import StrokeScorer


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, weights: np.ndarray | None = None) -> tuple[list, float]:
    """Logistic regression by Newton's method with a small L2 penalty; classes balanced, or
    the per-row ``weights`` (``negative_weights``) where given."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    X = np.column_stack([x, np.ones(len(x))])
    if weights is None:
        wts = np.where(y > 0, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1)) * len(y)
    else:
        wts = np.asarray(weights, float) * len(y) / max(float(np.sum(weights)), 1e-12)
    beta = np.zeros(X.shape[1])
    for _ in range(50):
        p = _sigmoid(X @ beta)
        g = X.T @ (wts * (p - y)) + l2 * np.r_[beta[:-1], 0]
        H = (X * (wts * p * (1 - p))[:, None]).T @ X + l2 * np.eye(X.shape[1])
        step = np.linalg.solve(H, g)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return [float(v) for v in beta[:-1]], float(beta[-1])


def negative_weights(kind: np.ndarray, random_weight: float) -> np.ndarray:
    """Row weights for ``fit_logistic``: genuine rows (kind "genuine") weigh half in all, the
    negatives the other half, of which random forgeries (kind "random": other writers'
    genuine signatures) take ``random_weight`` and skilled forgeries the rest; within a kind
    every row weighs the same. Without random rows, skilled forgeries take the whole half."""
    kind = np.asarray(kind)
    share = {"genuine": 0.5, "skilled": 0.5 * (1 - random_weight), "random": 0.5 * random_weight}
    if not (kind == "random").any():
        share["skilled"] = 0.5
    if not (kind == "skilled").any():
        share["random"] = 0.5
    w = np.zeros(len(kind))
    for k, v in share.items():
        m = kind == k
        if m.any():
            w[m] = v / m.sum()
    return w


def eer_threshold(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """The score where FRR and FAR meet (the operating point fixed on validation users)."""
    return float(eer(np.asarray(genuine, float), np.asarray(impostor, float))[1])


def validation_rows(
    scorer: StrokeScorer, references: int, seeds, random: bool | int = True, groups: dict | None = None, exact: bool = False
) -> dict:
    """Per seed and writer, image scores and online features of genuine, skilled and random
    queries, for fitting the calibration and fusion (validation users only).

    ``random``: False, none; True, every other writer's genuine signatures (``ml.writer.protocol``);
    an int N, N of them drawn per writer and seed (``random_sample``), so that random forgeries
    can be fitted on without scoring every pair. ``groups`` (writer -> group) restricts a
    writer's random forgeries to writers of its own group (held-out folds stay apart). ``exact``:
    only writers with more than ``references`` genuine signatures, so that every row has exactly
    that many references (otherwise a writer with fewer gets all but one of its own)."""
    from ml.writer import protocol

    rows = {"image": [], "feats": [], "label": [], "kind": [], "writer": []}
    by = scorer.by_writer()
    sampled = random is not True and int(random) > 0

    def score(wd, q):
        f = scorer.features(wd, q)
        im = scorer.image_scores(wd, q) if scorer.engine is not None else np.full(len(q), np.nan)
        return np.column_stack([im, f])

    def add(w, kind, v):
        if not len(v):
            return
        rows["image"].append(v[:, 0])
        rows["feats"].append(v[:, 1:])
        rows["label"].append(np.full(len(v), kind == "genuine", float))
        rows["kind"].append(np.full(len(v), kind))
        rows["writer"].append(np.full(len(v), w))

    fitted = {}

    def fit(refs):
        fitted["wd"] = scorer.fit(refs)
        return fitted["wd"]

    for seed in seeds:
        groups_ = [by] if random is True else [{w: d} for w, d in sorted(by.items())]
        for w, used, s in (x for grp in groups_ for x in protocol(grp, references, seed, fit, score)):
            if exact and used < references:
                continue
            for kind, v in s.items():
                add(w, kind, v)
            q = random_sample(by, w, int(random), seed, groups) if sampled else ()
            if len(q):
                add(w, "random", score(fitted["wd"], q))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in rows.items()}


def random_sample(by: dict, writer: str, n: int, seed: int, groups: dict | None = None) -> np.ndarray:
    """``n`` genuine signatures of writers other than ``writer`` (of its group, when ``groups``
    is given), drawn without replacement with a generator fixed by ``seed`` and ``writer``."""
    pool = [by[o]["genuine"] for o in sorted(by) if o != writer and (groups is None or groups.get(o) == groups.get(writer))]
    pool = np.concatenate(pool) if pool else np.zeros(0, int)
    rng = np.random.default_rng([int(seed), zlib.crc32(writer.encode()), 1])
    return np.sort(rng.choice(pool, size=min(n, len(pool)), replace=False)) if len(pool) else pool
