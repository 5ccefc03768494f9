"""Does a set of reference signatures plausibly come from one writer?

An enrollment whose references mix two people (an attacker adding their own signature to
a customer's, or a clerk's mistake) would later accept both. ``check`` answers before
enrolling::

    check(reference_embeddings, rule)
    # {"consistent": bool, "score": float, "threshold": float, "outliers": [int, ...]}

**The statistic: the weakest split.** References are L2-normalised and compared by cosine
similarity. For every way of splitting the set into two non-empty groups A and B, take the
mean similarity between the groups (all |A| x |B| cross pairs); the score is the lowest of
these means. One writer's references have no split that separates them much, so every
cross mean stays high. A set mixing writers has a split along the writers whose cross pairs
are all between different people, so its mean falls to what strangers share: that covers
4 + 1 (the split {intruder} | rest: a leave-one-out mean), 3 + 2 (the two groups: six
cross pairs, all foreign, where a per-reference statistic is diluted by the intruders'
similarity to each other) and sets of five different writers. Averaging over the cross
pairs makes the score steadier than the single least similar pair. Up to
``EXACT_MAX_REFS`` references every split is tried; above that, candidate splits are the
singletons, the pairs (up to ``PAIR_SPLITS_MAX_REFS``) and the cuts along the Fiedler vector
of the similarity graph.

``outliers`` (only when the set is refused): the enrollee's references are presumed to be
the majority, so the smaller side of the weakest split is set aside and the rest checked
again, until what remains passes; the references set aside are the outliers (3 + 2: the
two intruders, even when the weakest split isolated only one of them). When the sides are
equal, or no majority of the set passes, nothing says which group is the customer's, and
the list is empty.

**The threshold** depends on the number of references R (more references, more splits, a
lower minimum), so a rule holds one threshold per R from 2 to ``MAX_FITTED_REFS`` (larger
sets use the last). ``fit_thresholds`` picks, for each R, the highest threshold that
refuses at most ``max_refusal`` (1%) of genuine single-writer sets of validation writers,
each dataset weighing the same. Where they live:

- ``ml/consistency_thresholds.json``, keyed by the model version (architecture and the
  first 8 hex digits of the checkpoint file's SHA-256, ``Engine.model_version``): the
  hash names exactly the weights the thresholds were measured with, and the checkpoint
  itself is never rewritten (its hash is its version). Written by
  ``benchmarks/consistency_rates.py --write-thresholds``.
- For any other checkpoint (a newly trained or unsaved model), ``fallback_rule`` derives a
  conservative threshold from the checkpoint's own negatives bank (genuine signatures of
  many other writers): the median cosine similarity between two of them. A set is then
  refused only when it splits into groups no more alike than two strangers typically are:
  few genuine sets are refused, and the clear mixes (five different writers, most
  4 + 1 sets) still are. Without a negatives bank, ``DEFAULT_THRESHOLD``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

THRESHOLDS_PATH = Path(__file__).resolve().parent / "consistency_thresholds.json"
EXACT_MAX_REFS = 12  # 2^11 - 1 = 2047 splits: exact and fast
PAIR_SPLITS_MAX_REFS = 64  # above: singletons and Fiedler cuts only, so 200 references stay fast
MAX_FITTED_REFS = 10
DEFAULT_THRESHOLD = 0.0  # no negatives bank: refuse only sets whose groups are unrelated or opposite
STATISTIC = "weakest_split_mean_cosine"
# mixed sets of R references: (R-1) + 1 intruder, (R-2) + 2 from one other person, R different people
# (at R = 5: 4 + 1, 3 + 2 and 5 writers)
MIX_KINDS = ("one_intruder", "two_intruders", "all_different")


# --------------------------------------------------------------------------- the statistic


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


_SPLITS: dict[int, np.ndarray] = {}


def _exact_splits(r: int) -> np.ndarray:
    """(S, R) boolean: every split into two non-empty groups once (reference 0 never in A)."""
    if r not in _SPLITS:
        rows = [m for k in range(1, r) for m in itertools.combinations(range(1, r), k)]
        masks = np.zeros((len(rows), r), bool)
        for i, m in enumerate(rows):
            masks[i, list(m)] = True
        _SPLITS[r] = masks
    return _SPLITS[r]


def _candidate_splits(sim: np.ndarray) -> np.ndarray:
    """Splits worth trying for a large set: singletons, pairs, Fiedler-vector cuts."""
    r = len(sim)
    rows = []
    for i in range(r):
        m = np.zeros(r, bool)
        m[i] = True
        rows.append(m)
    for i, j in itertools.combinations(range(r), 2) if r <= PAIR_SPLITS_MAX_REFS else ():
        m = np.zeros(r, bool)
        m[[i, j]] = True
        rows.append(m)
    w = np.clip(sim, 0, None)
    np.fill_diagonal(w, 0)
    lap = np.diag(w.sum(1)) - w
    order = np.argsort(np.linalg.eigh(lap)[1][:, 1])
    for k in range(1, r):
        m = np.zeros(r, bool)
        m[order[:k]] = True
        rows.append(m)
    return np.array(rows)


def weakest_split(embeddings: np.ndarray) -> tuple[float, np.ndarray | None]:
    """(score, mask of one side of the weakest split) for (R >= 2, D) embeddings.

    The score is the lowest mean cross-group cosine similarity over two-group splits."""
    e = unit_rows(embeddings)
    r = len(e)
    if r < 2:
        return 1.0, None
    sim = e @ e.T
    masks = _exact_splits(r) if r <= EXACT_MAX_REFS else _candidate_splits(sim)
    a = masks.astype(np.float64)
    cross = ((a @ sim) * (1.0 - a)).sum(1)
    sizes = a.sum(1) * (r - a.sum(1))
    means = cross / sizes
    i = int(np.argmin(means))
    return float(means[i]), masks[i]


# --------------------------------------------------------------------------- the rule


@dataclass
class ConsistencyRule:
    """Thresholds per reference count, and where they came from."""

    thresholds: dict[int, float]
    source: str
    details: dict = field(default_factory=dict)

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


def rule_for(model_version: str, negatives: np.ndarray | None, path: str | Path = THRESHOLDS_PATH) -> ConsistencyRule:
    """The fitted rule of ``model_version`` if the thresholds file has one, else the fallback."""
    entry = load_rules(path).get(model_version)
    if entry and entry.get("statistic") == STATISTIC and entry.get("thresholds"):
        details = {k: v for k, v in entry.items() if k not in ("statistic", "thresholds", "source")}
        return ConsistencyRule(
            {int(k): float(v) for k, v in entry["thresholds"].items()},
            entry.get("source", f"fitted for {model_version}"),
            details,
        )
    return fallback_rule(negatives)


def save_rule(model_version: str, rule: ConsistencyRule, path: str | Path = THRESHOLDS_PATH) -> None:
    path = Path(path)
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.setdefault("models", {})[model_version] = rule.to_json()
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- fitting and measuring


def sample_sets(
    writers: dict[str, dict], n_refs: int, per_writer: int, seed: int = 0, anchor_datasets=None, anchors=None
) -> dict[str, list[np.ndarray]]:
    """Reference sets of ``n_refs`` from embedded writers, genuine and mixed.

    ``writers[identity] = {"person": ..., "dataset": ..., "genuine": (G, D)}``. For each
    identity with at least ``n_refs`` genuine signatures, ``per_writer`` sets of each kind:
    ``genuine`` (all its own), ``one_intruder`` ((R-1) of its own, then one of another
    person's), ``two_intruders`` ((R-2), then two of one other person's; R >= 4) and
    ``all_different`` (R different people, one signature each). Intruders come last, from
    the same dataset (the hard case: the same script and scanner) and, for
    ``all_different`` only when it has too few people, from
    the others. Only identities of ``anchor_datasets`` (or in ``anchors``) anchor sets when
    given; every writer can be an intruder. Returns ``{kind: [(R, D) embedding arrays]}``; seeded, so repeatable.
    """
    rng = np.random.default_rng(seed)
    ids = sorted(writers)
    out: dict[str, list[np.ndarray]] = {"genuine": [], **{k: [] for k in MIX_KINDS}}
    for w in ids:
        own = writers[w]["genuine"]
        if anchor_datasets is not None and writers[w]["dataset"] not in anchor_datasets:
            continue
        if anchors is not None and w not in anchors:
            continue
        if len(own) < n_refs:
            continue
        me, ds = writers[w]["person"], writers[w]["dataset"]
        same = [o for o in ids if writers[o]["dataset"] == ds and writers[o]["person"] != me and len(writers[o]["genuine"])]
        far = [o for o in ids if writers[o]["dataset"] != ds and len(writers[o]["genuine"])]
        if not same:
            continue
        for _ in range(per_writer):
            out["genuine"].append(own[rng.choice(len(own), n_refs, replace=False)])
            for kind, k in (("one_intruder", 1), ("two_intruders", 2)):
                if n_refs - k < k:
                    continue
                donors = [o for o in same if len(writers[o]["genuine"]) >= k]
                if not donors:
                    continue
                o = donors[rng.integers(len(donors))]
                other = writers[o]["genuine"]
                out[kind].append(
                    np.concatenate(
                        [own[rng.choice(len(own), n_refs - k, replace=False)], other[rng.choice(len(other), k, replace=False)]]
                    )
                )
            people = [me]
            picks = [own[rng.integers(len(own))]]
            for pool in (same, far):
                for o in rng.permutation(pool):
                    if len(picks) == n_refs:
                        break
                    if writers[o]["person"] not in people:
                        people.append(writers[o]["person"])
                        g = writers[o]["genuine"]
                        picks.append(g[rng.integers(len(g))])
            if len(picks) == n_refs:
                out["all_different"].append(np.stack(picks))
    return out


def scores_of(sets: list[np.ndarray]) -> np.ndarray:
    return np.array([weakest_split(s)[0] for s in sets], np.float64)


def refusal_rate(scores: np.ndarray, threshold: float) -> float:
    return float((np.asarray(scores) < threshold).mean()) if len(scores) else float("nan")


def fit_threshold(genuine_by_dataset: dict[str, np.ndarray], max_refusal: float = 0.01) -> float:
    """The highest threshold refusing at most ``max_refusal`` of genuine sets, each dataset
    weighing the same (a dataset with more writers does not set the rule alone)."""
    parts = [np.sort(np.asarray(v, np.float64)) for v in genuine_by_dataset.values() if len(v)]
    if not parts:
        raise ValueError("no genuine sets to fit a threshold on")
    cands = np.unique(np.concatenate(parts))  # refusing below a candidate spares the candidate itself
    refused = np.mean([np.searchsorted(p, cands, side="left") / len(p) for p in parts], axis=0)
    ok = np.flatnonzero(refused <= max_refusal + 1e-12)
    return float(cands[ok[-1]])


def fit_rule(
    writers: dict[str, dict],
    fit_datasets,
    per_writer: int = 100,
    seed: int = 0,
    max_refusal: float = 0.01,
    refs=range(2, MAX_FITTED_REFS + 1),
    source: str = "fitted",
):
    """Fit a rule on embedded writers (``sample_sets``' format) and keep what it was fitted on.

    For each reference count R, sets of every kind are sampled with anchors from each
    dataset in turn (seed ``seed + R``), scored, and the threshold fitted on the genuine
    sets of ``fit_datasets`` (``fit_threshold``). Returns the rule and
    ``{R: {dataset: {kind: (scores, sets)}}}`` for measuring it."""
    datasets = sorted({d["dataset"] for d in writers.values()})
    fit_datasets = [d for d in fit_datasets if d in datasets]
    thresholds, scored = {}, {}
    for r in refs:
        by_ds = {}
        for ds in datasets:
            sets = sample_sets(writers, r, per_writer, seed + r, anchor_datasets={ds})
            by_ds[ds] = {kind: (scores_of(v), v) for kind, v in sets.items()}
        fit = {ds: by_ds[ds]["genuine"][0] for ds in fit_datasets if len(by_ds[ds]["genuine"][0])}
        if not fit:
            continue
        thresholds[r] = fit_threshold(fit, max_refusal)
        scored[r] = by_ds
    details = {"fit_datasets": list(fit_datasets), "max_genuine_refusal": max_refusal}
    return ConsistencyRule(thresholds, source, details), scored
