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

from ml.metrics import eer
from ml.writer import Calibrator, _unit, protocol

KIND = "wd-svm+wi/bucketed-v2"
FEATURES = ("cos_mean", "cos_max", "svm", "cos_rel", "wi_mean", "wi_max")
BUCKETS = ((1, 1), (2, 4), (5, 9), (10, None))
BUCKET_PROTOCOL_REFS = (1, 3, 5, 10)  # one protocol reference count inside each bucket


def bucket_name(n_refs: int) -> str:
    n = int(n_refs)
    for lo, hi in BUCKETS:
        if n >= lo and (hi is None or n <= hi):
            return f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}")
    raise ValueError(f"bad reference count {n_refs}")


BUCKET_NAMES = tuple(bucket_name(lo) for lo, _ in BUCKETS)


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
        g = _unit(emb[w]["genuine"])
        f = _unit(emb[w]["forged"]) if len(emb[w]["forged"]) else None
        n = pairs_per_writer
        i, j = rng.integers(0, len(g), n), rng.integers(0, len(g), n)
        keep = i != j
        X.append(np.abs(g[i[keep]] - g[j[keep]]))
        y.append(np.ones(keep.sum()))
        wt.append(np.full(keep.sum(), 1.0))
        others = [o for o in writers if o != w]
        o = rng.choice(others, n)
        og = np.stack([_unit(emb[x]["genuine"])[rng.integers(0, len(emb[x]["genuine"]))] for x in o])
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
        as_np = lambda t: t.float().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, np.float32)  # noqa: E731
        self.negatives = _unit(as_np(decision["negatives"]))
        sk = decision.get("skilled_negatives")
        self.skilled_negatives = _unit(as_np(sk)) if sk is not None and len(sk) else self.negatives[:0]
        self.svm_c = float(decision.get("svm_c", 1.0))
        self.skilled_weight = float(decision.get("skilled_weight", 1.0))
        wi = decision["wi"]
        self.wi_w = np.asarray(wi["w"], np.float32)
        self.wi_b = float(wi["b"])
        self.calibrator = BucketCalibrator(decision.get("calibrator"))
        self.thresholds = {str(k): float(v) for k, v in (decision.get("thresholds") or {}).items()}
        self.threshold = float(decision.get("threshold", 0.5))

    def threshold_for(self, n_refs: int) -> float:
        return self.thresholds.get(bucket_name(n_refs), self.threshold)

    def fit_writer(self, references: np.ndarray) -> dict:
        refs = _unit(references)
        if len(refs) < 1:
            raise ValueError("at least one reference is needed")
        negs = np.concatenate([self.negatives, self.skilled_negatives])
        X = np.concatenate([refs, negs])
        y = np.concatenate([np.ones(len(refs)), np.zeros(len(negs))])
        # each negative kind weighs as much as the other, the references as much as all negatives
        w = np.concatenate([np.full(len(refs), 0.5 / len(refs)),
                            np.full(len(self.negatives), 0.5 / (1 + self.skilled_weight) / max(1, len(self.negatives))),
                            np.full(len(self.skilled_negatives),
                                    0.5 * self.skilled_weight / (1 + self.skilled_weight) / max(1, len(self.skilled_negatives)))])
        svm = LinearSVC(C=self.svm_c, max_iter=5000, dual="auto")
        svm.fit(X, y, sample_weight=w * len(X))
        self_sim = None
        if len(refs) > 1:
            s = refs @ refs.T
            self_sim = float((s.sum() - np.trace(s)) / (len(refs) * (len(refs) - 1)))
        return {"n_refs": int(len(refs)), "references": refs.round(6).tolist(),
                "svm_w": svm.coef_[0].astype(np.float32).round(6).tolist(), "svm_b": float(svm.intercept_[0]),
                "self_sim": self_sim}

    def features(self, wd: dict, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features (Q, 6), cosine similarities (Q, R)) of queries against one writer."""
        q = _unit(queries)
        refs = np.asarray(wd["references"], np.float32)
        sims = q @ refs.T
        cos_mean = sims.mean(1)
        svm = q @ np.asarray(wd["svm_w"], np.float32) + wd["svm_b"]
        rel = cos_mean - wd["self_sim"] if wd.get("self_sim") is not None else np.zeros_like(cos_mean)
        wi = _pair_features(q, refs) @ self.wi_w + self.wi_b  # (Q, R)
        return np.stack([cos_mean, sims.max(1), svm, rel, wi.mean(1), wi.max(1)], 1), sims

    def score(self, wd: dict, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, sims = self.features(wd, queries)
        return self.calibrator.score(f, wd["n_refs"]), sims


def base_decision(negatives: np.ndarray, skilled_negatives: np.ndarray, wi: dict, svm_c: float = 1.0,
                  skilled_weight: float = 1.0) -> dict:
    """A decision dict before calibration (no calibrator, no thresholds)."""
    return {"kind": KIND, "negatives": torch.from_numpy(np.asarray(negatives, np.float32).astype(np.float16)),
            "skilled_negatives": torch.from_numpy(np.asarray(skilled_negatives, np.float32).astype(np.float16)),
            "wi": wi, "svm_c": float(svm_c), "skilled_weight": float(skilled_weight), "features": list(FEATURES),
            "buckets": [[lo, hi] for lo, hi in BUCKETS]}


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


def fit_decision(base: dict, val_emb: dict, mode: str = "skilled_half", default_bucket: str = "5-9",
                 seeds=(0, 1), use_features=FEATURES) -> tuple[dict, dict]:
    """Calibrate ``base`` on validation writers: returns (decision dict, report).
    ``use_features``: the decision features the calibrator may weigh (the rest get 0)."""
    unknown = set(use_features) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown decision features {sorted(unknown)}; known: {FEATURES}")
    dec = Decision(base)
    rows = only_features(protocol_rows(dec, val_emb, seeds=seeds), use_features)
    cal, thresholds, report = fit_calibration(rows, mode)
    out = dict(base)
    out.update({
        "calibrator": cal.params,
        "thresholds": thresholds,
        "threshold": thresholds.get(default_bucket, next(iter(thresholds.values()))),
        "operating_point": "validation-writer EER per reference-count bucket (genuine vs skilled forgeries); "
                           f"`threshold` is the {default_bucket} bucket's",
        "calibration_mode": mode,
        "calibration_features": list(use_features),
    })
    return out, report


# --------------------------------------------------------------------------- validation

def _person(identity: str) -> str:
    return "/".join(identity.split("/")[:2])


def cv_scores(rows: list[dict], folds: int = 4, mode: str = "skilled_half", fold_seed: int = 0,
              eval_seed: int = 0) -> list[dict]:
    """Writer-disjoint cross-validated scores of protocol rows (validation writers only).

    Writers are dealt into ``folds`` folds; each fold's rows (protocol seed ``eval_seed``)
    are scored by the calibrator and per-bucket thresholds fitted on the other folds, so
    no score or threshold comes from a fit that saw its writer.
    """
    persons = sorted({_person(r["writer"]) for r in rows})
    fold_of = {p: i % folds for i, p in enumerate(np.random.default_rng(fold_seed).permutation(persons))}
    out = []
    for k in range(folds):
        fit_rows = [r for r in rows if fold_of[_person(r["writer"])] != k]
        test_rows = [r for r in rows if fold_of[_person(r["writer"])] == k and r["seed"] == eval_seed]
        if not test_rows or not fit_rows:
            continue
        cal, thresholds, _ = fit_calibration(fit_rows, mode)
        for r in test_rows:
            b = bucket_name(r["refs"])
            out.append({"writer": r["writer"], "refs": r["refs"], "protocol": r["protocol"],
                        "threshold": thresholds.get(b, next(iter(thresholds.values()))),
                        **{kind: cal.score(r[kind], r["refs"]) for kind in ("genuine", "skilled", "random")}})
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
            "eer_skilled": eer(g, s)[0] if s.size else None, "eer_random": eer(g, rnd)[0] if rnd.size else None,
            "frr": rate("genuine", False), "far_skilled": rate("skilled", True), "far_random": rate("random", True),
            "writers": len(rs), "n_genuine": int(g.size), "n_skilled": int(s.size)}
    return out
