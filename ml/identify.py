"""1:N identification: re-score a short list of enrolled customers and name the outcome.

The vector index (``ml.index``) proposes a short list: the customers owning the reference
embeddings nearest the query. Each candidate is then scored by its own writer-dependent
decision (the calibrated verification score ``Engine.score`` gives, vectorised here over the
whole short list) and compared with its own operating point (``Engine.threshold_for``).

Ranking: by the ``rank`` of the model's entry in ``identify_margins.json`` (one entry per
model version, written by ``python -m ml identify --fit-margin``, which picks it on
validation writers): ``score``, the calibrated verification score, or ``svm``, the margin of
each candidate's writer-dependent SVM (it was trained to tell that writer from other
writers, which is the question identification asks). Models without an entry rank by
``score`` with ``DEFAULT_MARGIN``.

Outcome, with ``margin`` fixed on validation writers, on the ranking's scale:

- ``match``: the first-ranked candidate passes its operating point (its calibrated score
  reaches its threshold) and leads the second-ranked candidate (passing or not) by at least
  ``margin``;
- ``ambiguous``: some candidate passes but there is no match (two or more pass within the
  margin, a lone passing candidate leads by less, or only a lower-ranked candidate passes);
- ``none``: no candidate passes.

Leading the runner-up rather than only the other passing candidates was chosen on validation
writers: at equal match rates it named unenrolled writers less often.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from ml.writer import unit_rows

MARGINS_FILE = Path(__file__).with_name("identify_margins.json")
DEFAULT_MARGIN = 0.1  # for models without a fitted margin (ranked by "score")
OUTCOMES = ("match", "ambiguous", "none")
RANKERS = ("score", "svm")


@functools.lru_cache(maxsize=8)
def _margins(path: str, mtime_ns: int) -> dict:
    try:
        return json.loads(Path(path).read_text())["models"]
    except (OSError, ValueError, KeyError):
        return {}


def ranking_for(model_version: str, path: Path = MARGINS_FILE) -> tuple[str, float]:
    """(ranker, margin) fitted on validation writers for this model; ``("score",
    DEFAULT_MARGIN)`` without an entry."""
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError:
        return "score", DEFAULT_MARGIN
    entry = _margins(str(path), mtime).get(model_version)
    if not entry:
        return "score", DEFAULT_MARGIN
    ranker = entry.get("rank", "score")
    if ranker not in RANKERS:
        raise ValueError(f"unknown identification ranker {ranker!r} for {model_version}")
    return ranker, float(entry["margin"])


def margin_for(model_version: str, path: Path = MARGINS_FILE) -> float:
    """The margin fitted on validation writers for this model (``DEFAULT_MARGIN`` if none)."""
    return ranking_for(model_version, path)[1]


def candidate_features(engine, query: np.ndarray, wds: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, F), reference counts (N,)) of one query against N writers, the same values
    ``engine.score`` computes writer by writer, in a few array operations."""
    q = unit_rows(query)[0]
    n_refs = np.array([int(wd["n_refs"]) for wd in wds], np.int64)
    refs = np.concatenate([np.asarray(wd["references"], np.float32).reshape(-1, len(q)) for wd in wds])
    starts = np.concatenate([[0], np.cumsum(n_refs)[:-1]])
    sims = refs @ q
    cos_mean = np.add.reduceat(sims, starts) / n_refs
    cos_max = np.maximum.reduceat(sims, starts)
    w = np.stack([np.asarray(wd["svm_w"], np.float32) for wd in wds])
    svm = w @ q + np.array([wd["svm_b"] for wd in wds], np.float32)
    self_sim = np.array([np.nan if wd.get("self_sim") is None else wd["self_sim"] for wd in wds], np.float32)
    rel = np.where(np.isnan(self_sim), 0.0, cos_mean - self_sim).astype(np.float32)
    cols = [cos_mean, cos_max, svm, rel]
    if engine.decision is not None:  # v2: the WI model's log-odds per reference, mean and max
        d = engine.decision
        wi = np.abs(refs - q) @ d.wi_w + d.wi_b
        cols += [np.add.reduceat(wi, starts) / n_refs, np.maximum.reduceat(wi, starts)]
    return np.stack(cols, 1), n_refs


def score_candidates(engine, query: np.ndarray, wds: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated scores (N,), operating points (N,)) of one query against N writers."""
    scores, thresholds, _ = candidate_scores(engine, query, wds)
    return scores, thresholds


def candidate_scores(engine, query: np.ndarray, wds: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(calibrated scores, operating points, SVM margins), each (N,), of one query against N writers."""
    if not wds:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    feats, n_refs = candidate_features(engine, query, wds)
    calibrator = engine.decision.calibrator if engine.decision is not None else engine.calibrator
    scores = np.empty(len(wds))
    thresholds = np.empty(len(wds))
    for n in np.unique(n_refs):  # one calibrator row and one threshold per reference count
        rows = n_refs == n
        scores[rows] = calibrator.score(feats[rows], int(n))
        thresholds[rows] = engine.threshold_for(int(n))
    return scores, thresholds, feats[:, 2].astype(np.float64)


def decide(scores: np.ndarray, thresholds: np.ndarray, margin: float, ranks: np.ndarray | None = None) -> tuple[str, np.ndarray]:
    """(outcome, candidate order best first) from calibrated scores, each candidate's operating
    point and the values it is ranked by (``ranks``; the scores themselves when None)."""
    scores = np.asarray(scores, np.float64)
    ranks = scores if ranks is None else np.asarray(ranks, np.float64)
    order = np.argsort(-ranks, kind="stable")
    passes = scores >= np.asarray(thresholds)
    if not passes.any():
        return "none", order
    top = order[0]
    second = ranks[order[1]] if len(order) > 1 else -np.inf
    if passes[top] and ranks[top] - second >= margin:
        return "match", order
    return "ambiguous", order


def identify(engine, query: np.ndarray, candidates: dict, top_k: int = 5, margin: float | None = None) -> dict:
    """``{"outcome", "ranker", "margin", "candidates": [{"key", "score", "threshold", "passes",
    "rank"}, ...]}``, candidates best first (at most ``top_k``; ``rank`` is the value they are
    ordered by); ``candidates`` maps keys to writer parameters."""
    ranker, fitted = ranking_for(engine.model_version)
    margin = fitted if margin is None else float(margin)
    keys = list(candidates)
    scores, thresholds, svm = candidate_scores(engine, query, [candidates[k] for k in keys])
    ranks = svm if ranker == "svm" else scores
    outcome, order = decide(scores, thresholds, margin, ranks) if keys else ("none", np.zeros(0, int))
    ranked = [
        {
            "key": keys[i],
            "score": float(scores[i]),
            "threshold": float(thresholds[i]),
            "passes": bool(scores[i] >= thresholds[i]),
            "rank": float(ranks[i]),
        }
        for i in order[:top_k]
    ]
    return {"outcome": outcome, "ranker": ranker, "margin": margin, "candidates": ranked}
