"""Choose the online parameters and fit the calibration and fusion on validation users.

``select(folders, grid, ...)`` scores every (resampling rate, DTW window) of ``grid`` on
validation writers by the skilled-forgery EER of the normalised minimum DTW distance;
``fit(folders, rate_hz, window, engine, ...)`` then fits, on the same writers, the online
logistic calibration, the fusion with the image engine's score, and each one's operating
point (the validation EER threshold); ``fit_buckets(folders, params, engine)`` then gives
those operating points per reference-count bucket. Test writers must never be passed in: callers give
validation folders only (``benchmarks/online_fit.py``).
"""

from __future__ import annotations

import numpy as np

from ml.metrics import eer
from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.fitting import eer_threshold, fit_logistic, negative_weights, validation_rows
from ml.online.verifier import PAD_BUCKET_REFS, OnlineParams, fused_score, online_score


def _rows(folders, params: OnlineParams, engine, references: int, seeds, cache: dict | None = None, random: int = 0,
          exact: bool = False) -> dict:  # fmt: skip
    out = []
    for f in folders:
        key = (str(f), params.rate_hz, params.window, params.channels, params.features, tuple(params.globals), engine is not None)
        scorer = cache.get(key) if cache is not None else None
        if scorer is None:
            samples, _ = scan_stroke_writers(f)
            scorer = StrokeScorer(samples, params, engine)
            if cache is not None:
                cache[key] = scorer
        out.append(validation_rows(scorer, references, seeds, random=random, exact=exact))
    return {k: np.concatenate([o[k] for o in out]) for k in out[0]}


def select(folders, grid, references: int = 5, seeds=range(5)) -> list[dict]:
    """Skilled EER of the raw normalised DTW minimum per (rate_hz, window), best first."""
    res = []
    for rate, window, channels in grid:
        rows = _rows(folders, OnlineParams(rate_hz=rate, window=window, channels=channels), None, references, seeds)
        g = rows["label"] > 0
        e_min = eer(-rows["feats"][g, 0], -rows["feats"][~g, 0])[0]
        e_mean = eer(-rows["feats"][g, 1], -rows["feats"][~g, 1])[0]
        res.append({"rate_hz": rate, "window": window, "channels": channels, "eer_min": e_min, "eer_mean": e_mean})
    return sorted(res, key=lambda r: min(r["eer_min"], r["eer_mean"]))


def fit(folders, rate_hz: float, window, engine, references: int = 5, seeds=range(5), fitted_on: str = "",
        channels: str = "full", features: str = "base", globals_=(), l2: float = 1e-3, random_weight: float = 0.0,
        random_per_writer: int = 60) -> tuple[OnlineParams, dict]:  # fmt: skip
    """Online calibration and image fusion on validation writers; returns (params, report).
    ``globals_``: the global feature names of the ``base+tnorm+global`` set; ``l2``: the
    logistic models' L2 penalty. With ``random_weight`` > 0, ``random_per_writer`` random
    forgeries per writer and seed (genuine signatures of the folder's other writers) are
    negatives too, weighing ``random_weight`` of the negatives (``negative_weights``). The
    operating points are the skilled-forgery EER thresholds either way."""
    p = OnlineParams(rate_hz=rate_hz, window=window, channels=channels, features=features, globals=list(globals_), fit_l2=l2,
                     fit_random_weight=random_weight)  # fmt: skip
    rows = _rows(folders, p, engine, references, seeds, random=random_per_writer if random_weight > 0 else 0)
    y, kind = rows["label"], rows["kind"]
    wts = negative_weights(kind, random_weight)
    g, sk, ra = kind == "genuine", kind == "skilled", kind == "random"
    p.online_w, p.online_b = fit_logistic(rows["feats"], y, l2=l2, weights=wts)
    s_on = online_score(p, rows["feats"])
    p.online_threshold = eer_threshold(s_on[g], s_on[sk])
    x = np.column_stack([np.log(np.clip(rows["image"], 1e-6, 1 - 1e-6) / np.clip(1 - rows["image"], 1e-6, 1)), rows["feats"]])
    p.fused_w, p.fused_b = fit_logistic(x, y, l2=l2, weights=wts)
    s_fu = fused_score(p, rows["image"], rows["feats"])
    p.fused_threshold = eer_threshold(s_fu[g], s_fu[sk])
    p.fitted_on = fitted_on
    scores = {"image": rows["image"], "online": s_on, "fused": s_fu}
    report = {
        "n_genuine": int(g.sum()),
        "n_skilled": int(sk.sum()),
        "n_random": int(ra.sum()),
        "validation_eer_skilled": {k: eer(v[g], v[sk])[0] for k, v in scores.items()},
    }
    if ra.any():
        report["validation_eer_random"] = {k: eer(v[g], v[ra])[0] for k, v in scores.items()}
        report["validation_far_random_at_threshold"] = {
            "online": float((s_on[ra] >= p.online_threshold).mean()),
            "fused": float((s_fu[ra] >= p.fused_threshold).mean()),
        }
    return p, report


def _rates(s: np.ndarray, kind: np.ndarray, t: float) -> dict:
    g, sk, ra = kind == "genuine", kind == "skilled", kind == "random"
    far_ra = float((s[ra] >= t).mean()) if ra.any() else None
    frr, far_sk = float((s[g] < t).mean()), float((s[sk] >= t).mean())
    return {"threshold": float(t), "frr": frr, "far_skilled": far_sk, "far_random": far_ra}


def fit_buckets(folders, params: OnlineParams, engine, seeds=range(5), random_per_writer: int = 60,
                pressure: bool = True) -> tuple[dict, dict]:  # fmt: skip
    """The online and fused operating points per reference-count bucket a pad enrollment can
    fall in (``PAD_BUCKET_REFS``): each the validation EER point, genuine against skilled, at the
    bucket's protocol count (writers with more genuine signatures than that count only), pooled
    over ``folders`` (validation users only). The fitted models (``params``) are unchanged.
    ``pressure`` False: ``folders`` hold signatures without pressure, and the points are
    ``no_pressure_thresholds`` ("before" is then the point such a comparison had until now).
    Returns (``bucket_thresholds`` for ``OnlineParams``, a report: per bucket and per folder,
    the skilled EER and the FRR / FAR at ``params``' thresholds before and at the new ones)."""
    thresholds, report, cache = {"online": {}, "fused": {}}, {}, {}
    for bucket, refs in PAD_BUCKET_REFS.items():
        each = {
            str(f): _rows([f], params, engine, refs, seeds, cache=cache, random=random_per_writer, exact=True) for f in folders
        }
        each = {f: rows for f, rows in each.items() if len(rows["kind"])}  # folders whose writers all have too few
        if not each:
            continue  # no writer has enough signatures for this count: the bucket keeps the 5-reference point
        pooled = {k: np.concatenate([r[k] for r in each.values()]) for k in next(iter(each.values()))}
        scores = {}
        for name, rows in [("pooled", pooled), *each.items()]:
            on, fu = online_score(params, rows["feats"]), fused_score(params, rows["image"], rows["feats"])
            scores[name] = {"online": on, "fused": fu}
        kind = pooled["kind"]
        if not ((kind == "genuine").any() and (kind == "skilled").any()):
            continue
        for path in ("online", "fused"):
            s = scores["pooled"][path]
            thresholds[path][bucket] = eer_threshold(s[kind == "genuine"], s[kind == "skilled"])
        report[bucket] = {"references": refs}
        for name, rows in [("pooled", pooled), *each.items()]:
            k = rows["kind"]
            report[bucket][name] = {
                path: {
                    "eer_skilled": eer(s[k == "genuine"], s[k == "skilled"])[0],
                    "before": _rates(s, k, params.threshold_for(path, refs, pressure)),
                    "after": _rates(s, k, thresholds[path][bucket]),
                }
                for path, s in scores[name].items()
            }
            report[bucket][name]["n"] = {x: int((k == x).sum()) for x in ("genuine", "skilled", "random")}
    return thresholds, report
