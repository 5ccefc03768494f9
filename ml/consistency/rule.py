"""The rule: a per-set-size threshold on the statistic, where it comes from, and the check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.consistency import transform as wccn
from ml.consistency.statistic import DEFAULT_THRESHOLD, STATISTIC, THRESHOLDS_PATH, unit_rows, weakest_split


@dataclass
class ConsistencyRule:
    """Thresholds per reference count, where they came from, and the transform (``ml.consistency.transform``)
    applied to embeddings before the statistic: None, or (mean, matrix); ``details["transform"]`` names it."""

    thresholds: dict[int, float]
    source: str
    details: dict = field(default_factory=dict)
    transform: tuple | None = None

    def threshold(self, n_refs: int) -> float:
        if not self.thresholds:
            return DEFAULT_THRESHOLD
        keys = sorted(self.thresholds)
        usable = [k for k in keys if k <= max(n_refs, keys[0])]
        return float(self.thresholds[usable[-1]])

    def to_json(self) -> dict:
        return {
            "statistic": STATISTIC,
            "thresholds": {str(k): v for k, v in sorted(self.thresholds.items())},
            "source": self.source,
            **self.details,
        }


def check(reference_embeddings: np.ndarray, rule: ConsistencyRule) -> dict:
    """The engine's answer for (R, D) reference embeddings (see the module docstring)."""
    refs = np.asarray(reference_embeddings, np.float64)
    if refs.ndim != 2 or len(refs) < 1:
        raise ValueError(f"references must be (R >= 1, D) embeddings, got shape {refs.shape}")
    if not np.isfinite(refs).all():
        raise ValueError("reference embeddings must be finite")
    refs = wccn.apply(rule.transform, refs)
    r = len(refs)
    t = rule.threshold(max(r, 2))
    if r == 1:
        return {"consistent": True, "score": 1.0, "threshold": t, "outliers": []}
    score, side = weakest_split(refs)
    consistent = bool(score >= t)
    return {"consistent": consistent, "score": score, "threshold": t, "outliers": [] if consistent else outliers_of(refs, rule)}


def outliers_of(refs: np.ndarray, rule: ConsistencyRule) -> list[int]:
    """References outside the largest consistent majority found by peeling weakest splits.

    While the remaining set is refused, drop the smaller side of its weakest split; stop
    when the rest passes (its threshold is that of its own size). Nothing is reported when
    the sides are equal or the rest would no longer be a majority of the whole set."""
    r = len(refs)
    keep = np.arange(r)
    while True:
        score, side = weakest_split(refs[keep])
        if score >= rule.threshold(max(len(keep), 2)):
            return [int(i) for i in np.setdiff1d(np.arange(r), keep)]
        n_side = int(side.sum())
        if 2 * n_side == len(keep):
            return []
        small = side if 2 * n_side < len(keep) else ~side
        keep = keep[~small]
        if 2 * len(keep) <= r:
            return []


def fallback_rule(negatives: np.ndarray | None) -> ConsistencyRule:
    """A conservative rule for a checkpoint without fitted thresholds (see the docstring)."""
    neg = np.zeros((0, 1)) if negatives is None else np.asarray(negatives, np.float64)
    if neg.ndim != 2 or len(neg) < 2 or not np.isfinite(neg).all():
        return ConsistencyRule({}, "default (no negatives bank)")
    n = unit_rows(neg[:1000])
    sims = (n @ n.T)[np.triu_indices(len(n), 1)]
    t = float(np.median(sims))
    return ConsistencyRule({2: t}, "fallback: median cosine between negatives-bank signatures", {"negatives": int(len(n))})


def load_rules(path: str | Path = THRESHOLDS_PATH) -> dict:
    path = Path(path)
    if not path.is_file():
        return {}
    return json.loads(path.read_text()).get("models", {})


def rule_for(
    model_version: str, negatives: np.ndarray | None, path: str | Path = THRESHOLDS_PATH, transforms_dir=wccn.TRANSFORMS_DIR
) -> ConsistencyRule:
    """The fitted rule of ``model_version`` if the thresholds file has one (with its transform,
    when the entry names one and its file is there), else the fallback."""
    entry = load_rules(path).get(model_version)
    if entry and entry.get("statistic") == STATISTIC and entry.get("thresholds"):
        details = {k: v for k, v in entry.items() if k not in ("statistic", "thresholds", "source")}
        transform = None
        if details.get("transform"):
            transform = wccn.load_transform(model_version, transforms_dir)
            if transform is None:  # thresholds fitted on transformed embeddings mean nothing without it
                return fallback_rule(negatives)
        return ConsistencyRule(
            {int(k): float(v) for k, v in entry["thresholds"].items()},
            entry.get("source", f"fitted for {model_version}"),
            details,
            transform,
        )
    return fallback_rule(negatives)


def save_rule(model_version: str, rule: ConsistencyRule, path: str | Path = THRESHOLDS_PATH) -> None:
    path = Path(path)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.setdefault("models", {})[model_version] = rule.to_json()
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
