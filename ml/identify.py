"""1:N identification: re-score a short list of enrolled customers and name the outcome.

The vector index (``ml.index``) proposes a short list: the customers owning the reference
embeddings nearest the query. Each candidate is then scored by its own writer-dependent
decision (the calibrated verification score ``Engine.score`` gives, vectorised here over the
whole short list) and compared with its own operating point (``Engine.threshold_for``).

Outcome, with ``margin`` fixed on validation writers (``identify_margins.json``, one entry
per model version, written by ``python -m ml identify --fit-margin``; a pad query decided by
the fused score takes the margin fitted on validation pad users, ``margin_for(v, decision="fused")``):

- ``match``: the best-scoring candidate passes its operating point and its score leads the
  second-ranked candidate's (passing or not) by at least ``margin``;
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
DEFAULT_MARGIN = 0.1  # for models without a fitted margin
OUTCOMES = ("match", "ambiguous", "none")
PATHS = ("image", "online", "fused")  # the decision paths of a candidate (ml.online.evaluate.StrokeScorer.path_for)


@functools.lru_cache(maxsize=8)
def _margins(path: str, mtime_ns: int) -> dict:
    try:
        return json.loads(Path(path).read_text())["models"]
    except (OSError, ValueError, KeyError):
        return {}


def margin_for(model_version: str, path: Path = MARGINS_FILE, decision: str = "image") -> float:
    """The score margin fitted on validation writers for this model and decision path: the
    image margin, or ``entry["pad"][decision]`` for a pad query decided by the online or fused
    score (``DEFAULT_MARGIN`` where none was fitted)."""
    if decision not in PATHS:
        raise ValueError(f"no identification margin for the {decision!r} path")
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError:
        return DEFAULT_MARGIN
    entry = _margins(str(path), mtime).get(model_version) or {}
    if decision != "image":
        entry = entry.get("pad", {}).get(decision) or {}
    return float(entry["margin"]) if "margin" in entry else DEFAULT_MARGIN


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
    if not wds:
        return np.zeros(0), np.zeros(0)
    feats, n_refs = candidate_features(engine, query, wds)
    calibrator = engine.decision.calibrator if engine.decision is not None else engine.calibrator
    scores = np.empty(len(wds))
    thresholds = np.empty(len(wds))
    for n in np.unique(n_refs):  # one calibrator row and one threshold per reference count
        rows = n_refs == n
        scores[rows] = calibrator.score(feats[rows], int(n))
        thresholds[rows] = engine.threshold_for(int(n))
    return scores, thresholds


def decide(scores: np.ndarray, thresholds: np.ndarray, margin: float) -> tuple[str, np.ndarray]:
    """(outcome, candidate order best first) from scores and each candidate's operating point."""
    scores = np.asarray(scores, np.float64)
    order = np.argsort(-scores, kind="stable")
    passes = scores >= np.asarray(thresholds)
    if not passes.any():
        return "none", order
    top = order[0]
    second = scores[order[1]] if len(order) > 1 else -np.inf
    if passes[top] and scores[top] - second >= margin:
        return "match", order
    return "ambiguous", order


def identify(engine, query: np.ndarray, candidates: dict, top_k: int = 5, margin: float | None = None) -> dict:
    """``{"outcome", "margin", "candidates": [{"key", "score", "threshold", "passes"}, ...]}``,
    candidates best first (at most ``top_k``); ``candidates`` maps keys to writer parameters."""
    margin = margin_for(engine.model_version) if margin is None else float(margin)
    keys = list(candidates)
    scores, thresholds = score_candidates(engine, query, [candidates[k] for k in keys])
    outcome, order = decide(scores, thresholds, margin) if keys else ("none", np.zeros(0, int))
    ranked = [
        {"key": keys[i], "score": float(scores[i]), "threshold": float(thresholds[i]), "passes": bool(scores[i] >= thresholds[i])}
        for i in order[:top_k]
    ]
    return {"outcome": outcome, "margin": margin, "candidates": ranked}
