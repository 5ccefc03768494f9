"""Fitting the version-2 decision (``ml.decision``) on validation writers.

``base_decision`` assembles the parts shipped in a checkpoint (negatives, skilled
negatives, the writer-independent model), ``protocol_rows`` scores the evaluation
protocol for each reference-count bucket, ``fit_decision`` fits the per-bucket calibrators
and operating points, and ``cv_scores``/``summarize_cv`` give the writer-disjoint
cross-validated estimate that model selection reads.
"""

from __future__ import annotations

import numpy as np
import torch

from ml.decision import BUCKET_NAMES, BUCKET_PROTOCOL_REFS, BUCKETS, FEATURES, KIND, BucketCalibrator, Decision, bucket_name
from ml.metrics import eer
from ml.selection import person
from ml.writer import protocol


def base_decision(
    negatives: np.ndarray, skilled_negatives: np.ndarray, wi: dict, svm_c: float = 1.0, skilled_weight: float = 1.0
) -> dict:
    """A decision dict before calibration (no calibrator, no thresholds)."""
    return {
        "kind": KIND,
        "negatives": torch.from_numpy(np.asarray(negatives, np.float32).astype(np.float16)),
        "skilled_negatives": torch.from_numpy(np.asarray(skilled_negatives, np.float32).astype(np.float16)),
        "wi": wi,
        "svm_c": float(svm_c),
        "skilled_weight": float(skilled_weight),
        "features": list(FEATURES),
        "buckets": [[lo, hi] for lo, hi in BUCKETS],
    }


def protocol_rows(dec: Decision, emb: dict, refs=BUCKET_PROTOCOL_REFS, seeds=(0, 1)) -> list[dict]:
    """Decision features of every protocol row (writer, reference count, seed) of ``emb``."""
    rows = []
    for n_refs in refs:
        for seed in seeds:
            for w, r, f in protocol(emb, n_refs, seed, dec.fit_writer, lambda wd, q: dec.features(wd, q)[0]):
                rows.append({"writer": w, "refs": r, "protocol": n_refs, "seed": seed, **f})
    return rows


def fit_calibration(rows: list[dict], mode: str = "skilled_half") -> tuple[BucketCalibrator, dict[str, float], dict]:
    """Calibrator and per-bucket thresholds from protocol rows of validation writers.

    Each bucket's threshold is its EER point, genuine against skilled forgeries (random
    forgeries where the rows have no skilled ones), of the calibrated scores.
    Returns (calibrator, thresholds, report).
    """
    data: dict[str, dict[str, list]] = {}
    for r in rows:
        d = data.setdefault(bucket_name(r["refs"]), {"genuine": [], "skilled": [], "random": []})
        for k in d:
            d[k].append(r[k])
    cal = BucketCalibrator().fit({b: {k: np.concatenate(v) for k, v in d.items()} for b, d in data.items()}, mode=mode)
    thresholds, report = {}, {}
    for b in BUCKET_NAMES:
        rs = [r for r in rows if bucket_name(r["refs"]) == b]
        if not rs:
            continue
        g = np.concatenate([cal.score(r["genuine"], r["refs"]) for r in rs])
        s = np.concatenate([cal.score(r["skilled"], r["refs"]) for r in rs])
        rnd = np.concatenate([cal.score(r["random"], r["refs"]) for r in rs])
        e, t = eer(g, s if s.size else rnd)
        thresholds[b] = float(t)
        report[b] = {"eer": e, "threshold": float(t), "n_genuine": int(g.size), "n_skilled": int(s.size)}
    return cal, thresholds, report


def only_features(rows: list[dict], names) -> list[dict]:
    """Rows with every feature column not in ``names`` set to 0, so a calibrator fitted on
    them gives those columns no weight (their coefficients stay exactly 0)."""
    drop = [i for i, f in enumerate(FEATURES) if f not in set(names)]
    if not drop:
        return rows
    out = []
    for r in rows:
        r = dict(r)
        for k in ("genuine", "skilled", "random"):
            a = np.array(r[k], dtype=np.float64, copy=True)
            a[:, drop] = 0.0
            r[k] = a
        out.append(r)
    return out


def fit_decision(
    base: dict, val_emb: dict, mode: str = "skilled_half", default_bucket: str = "5-9", seeds=(0, 1), use_features=FEATURES
) -> tuple[dict, dict]:
    """Calibrate ``base`` on validation writers: returns (decision dict, report).
    ``use_features``: the decision features the calibrator may weigh (the rest get 0)."""
    unknown = set(use_features) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown decision features {sorted(unknown)}; known: {FEATURES}")
    dec = Decision(base)
    rows = only_features(protocol_rows(dec, val_emb, seeds=seeds), use_features)
    cal, thresholds, report = fit_calibration(rows, mode)
    out = dict(base)
    out.update(
        {
            "calibrator": cal.params,
            "thresholds": thresholds,
            "threshold": thresholds.get(default_bucket, next(iter(thresholds.values()))),
            "operating_point": "validation-writer EER per reference-count bucket (genuine vs skilled forgeries); "
            f"`threshold` is the {default_bucket} bucket's",
            "calibration_mode": mode,
            "calibration_features": list(use_features),
        }
    )
    return out, report


# --------------------------------------------------------------------------- validation


def cv_scores(rows: list[dict], folds: int = 4, mode: str = "skilled_half", fold_seed: int = 0, eval_seed: int = 0) -> list[dict]:
    """Writer-disjoint cross-validated scores of protocol rows (validation writers only).

    Writers are dealt into ``folds`` folds; each fold's rows (protocol seed ``eval_seed``)
    are scored by the calibrator and per-bucket thresholds fitted on the other folds, so
    no score or threshold comes from a fit that saw its writer.
    """
    persons = sorted({person(r["writer"]) for r in rows})
    fold_of = {p: i % folds for i, p in enumerate(np.random.default_rng(fold_seed).permutation(persons))}
    out = []
    for k in range(folds):
        fit_rows = [r for r in rows if fold_of[person(r["writer"])] != k]
        test_rows = [r for r in rows if fold_of[person(r["writer"])] == k and r["seed"] == eval_seed]
        if not test_rows or not fit_rows:
            continue
        cal, thresholds, _ = fit_calibration(fit_rows, mode)
        for r in test_rows:
            b = bucket_name(r["refs"])
            out.append(
                {
                    "writer": r["writer"],
                    "refs": r["refs"],
                    "protocol": r["protocol"],
                    "threshold": thresholds.get(b, next(iter(thresholds.values()))),
                    **{kind: cal.score(r[kind], r["refs"]) for kind in ("genuine", "skilled", "random")},
                }
            )
    return out


def summarize_cv(scored: list[dict]) -> dict:
    """Per dataset and protocol reference count: global EER (skilled, random) and FRR /
    skilled FAR / random FAR at the per-bucket thresholds of the fitting folds."""
    out: dict = {}
    groups: dict = {}
    for r in scored:
        groups.setdefault((r["writer"].split("/", 1)[0], r["protocol"]), []).append(r)
    for (ds, p), rs in sorted(groups.items()):
        g, s, rnd = (np.concatenate([r[k] for r in rs]) for k in ("genuine", "skilled", "random"))

        def rate(k, acc, rs=rs):
            if not sum(len(r[k]) for r in rs):
                return None
            return float(np.mean(np.concatenate([(r[k] >= r["threshold"]) if acc else (r[k] < r["threshold"]) for r in rs])))

        out.setdefault(ds, {})[f"r{p}"] = {
            "eer_skilled": eer(g, s)[0] if s.size else None,
            "eer_random": eer(g, rnd)[0] if rnd.size else None,
            "frr": rate("genuine", False),
            "far_skilled": rate("skilled", True),
            "far_random": rate("random", True),
            "writers": len(rs),
            "n_genuine": int(g.size),
            "n_skilled": int(s.size),
        }
    return out
