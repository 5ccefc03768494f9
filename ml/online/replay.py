"""Replay attacks: a query that repeats a stored reference's timed pen path.

A genuine signature is never drawn with the same timing twice: compared point for point in
time (no warping), two genuine samples drift apart, while a replayed reference (translated,
scaled, shifted in time, re-sampled by another device, with a little jitter) stays on its
path. ``replay_distance`` is that lockstep distance, the median over time frames of the
Euclidean distance between the per-signature normalised pen positions (``ml.online.features``:
channels x, y; both sequences start at their first point and step at the same rate, so a
time offset drops out); a duration off by more than ``MAX_DURATION_RATIO`` is no replay.
The tolerance below which a query counts as a replay is fixed on validation users
(``fit_tolerance``, ``benchmarks/online_replay_fit.py``) and stored in
``ml/online/params.json`` (``replay_tolerance``).

``replay_copy`` makes such a copy of stroke JSON, for the fit and the tests.
"""

from __future__ import annotations

import numpy as np

from ml.online.features import OnlineTemplate

MAX_DURATION_RATIO = 1.25
FAR = 99.0  # the distance reported when durations alone rule a replay out (JSON-safe, unlike inf)


def replay_distance(query: OnlineTemplate, ref: OnlineTemplate) -> float:
    if ref.duration_ms <= 0 or query.duration_ms <= 0:
        return FAR
    ratio = query.duration_ms / ref.duration_ms
    if not (1 / MAX_DURATION_RATIO <= ratio <= MAX_DURATION_RATIO):
        return FAR
    q, r = query.frames[:, :2].astype(np.float64), ref.frames[:, :2].astype(np.float64)
    n = min(len(q), len(r))  # both start at their first point and step at the same rate
    q, r = q[:n], r[:n]
    return float(np.median(np.sqrt(((q - r) ** 2).sum(1))))


def replay_copy(strokes, rng: np.random.Generator, jitter: float = 0.005, time_jitter_ms: float = 2.0,
                keep: float = 1.0) -> list[dict]:  # fmt: skip
    """A replay of stroke JSON: moved, scaled, shifted in time, position jitter of ``jitter``
    times the signature's size, time jitter in ms, and only a fraction ``keep`` of the points
    (another device's sampling rate)."""
    from ml.strokes import parse_strokes

    parsed = parse_strokes(strokes)
    allp = np.concatenate(parsed)
    size = float(max(np.ptp(allp[:, 0]), np.ptp(allp[:, 1]), 1.0))
    scale = float(rng.uniform(0.7, 1.4))
    dx, dy = rng.uniform(-200, 200, 2)
    t0 = float(rng.uniform(1e3, 1e6))
    out = []
    for a in parsed:
        n = len(a)
        idx = np.arange(n) if keep >= 1 else np.unique(np.round(np.linspace(0, n - 1, max(2, int(n * keep)))).astype(int))
        pts = []
        for i in idx:
            x, y, t, p = a[i]
            x = (x + rng.normal(0, jitter * size)) * scale + dx
            y = (y + rng.normal(0, jitter * size)) * scale + dy
            pt = {
                "x": round(float(x), 2),
                "y": round(float(y), 2),
                "time": round(float(t + t0 + rng.normal(0, time_jitter_ms)), 2),
            }
            if np.isfinite(p):
                pt["pressure"] = float(p)
            pts.append(pt)
        out.append({"points": pts})
    return out


def fit_tolerance(genuine_min: np.ndarray, replay: np.ndarray) -> dict:
    """The replay tolerance from validation distances: genuine queries' smallest distance to
    their references and replayed copies' distance to their source. The tolerance is the
    geometric middle between the largest replay distance and the smallest genuine one when
    they separate (else the value with the fewest errors); the report gives both error rates."""
    g = np.sort(np.asarray(genuine_min, float))
    r = np.sort(np.asarray(replay, float))
    hi_r, lo_g = float(r.max()), float(g.min())
    if hi_r < lo_g:
        tol = float(np.sqrt(max(hi_r, 1e-6) * lo_g))
    else:
        cands = np.unique(np.r_[g, r])
        errs = [(np.mean(g <= c) + np.mean(r > c), c) for c in cands]
        tol = float(min(errs)[1])
    return {
        "tolerance": tol,
        "genuine_flagged": float(np.mean(g <= tol)),
        "replays_missed": float(np.mean(r > tol)),
        "genuine_min_p01": float(np.percentile(g, 1)),
        "replay_max": hi_r,
    }
