"""Fitting and measuring a rule on validation writers: sampled sets, refusal rates, thresholds."""

from __future__ import annotations

import numpy as np

from ml.consistency.rule import ConsistencyRule
from ml.consistency.statistic import MAX_FITTED_REFS, MIX_KINDS, weakest_split


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
