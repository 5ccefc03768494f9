"""Online scores: DTW with per-writer normalisation, a logistic calibration, and fusion.

A writer's references give its own DTW scale: the mean pairwise DTW distance between its
references (``fit_online``). A query's DTW distances to the references, divided by that
scale, give two features, minimum and mean (``online_features``); ``base+tnorm`` adds the
same two divided by each reference's own scale, and ``base+tnorm+global`` adds how far the
query's whole-signature values (duration, pen-down share, speed, path, aspect ratio,
pressure: ``ml.online.features.global_features``) are from the references' mean;
``base+tnorm+global+path`` adds 9 columns from the same DTW (``path_columns``): the maximum
distance and the distance to the template reference (Kholmatov and Yanikoglu's minimum,
maximum and template distances, each also over the references' own average of it), and how
much the best warping paths bend (share of non-diagonal steps, largest time deviation), raw and
over the references' own average. A
logistic model fitted on validation users turns them into a score in [0, 1]
(``OnlineParams``). Fusion is a second logistic model over the image score's logit and the
same features.

Pressure is compared only when both signatures have it: otherwise the channel is dropped
for that pair, so a mouse (no pressure) and a stylus still compare.

Parameters live in ``ml/online/params.json``, keyed by image model version (fusion uses
the image score of that model) with a ``"default"`` entry for the online-only part;
``load_params(model_version)`` resolves them. ``ml/weights/sigweb.pt`` is not touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.buckets import BUCKET_REFS, bucket_name
from ml.online.dtw import dtw_batch, dtw_batch_paths
from ml.online.features import DEFAULT_RATE_HZ, GLOBAL_NAMES, PRESSURE, OnlineTemplate, global_features
from ml.online.paths import (  # callers import these from here too
    PATH_NAMES,
    path_columns,
    per_reference_scale,
    reference_path_stats,
    uses_paths,
)

PARAMS_PATH = Path(__file__).with_name("params.json")
MIN_PAD_REFERENCES = 3  # fewer pad references: the image path decides
# the reference-count buckets (ml.buckets) a pad enrollment can fall in -> the count each point is fitted at
PAD_BUCKET_REFS = {b: n for b, n in BUCKET_REFS.items() if n >= MIN_PAD_REFERENCES}


@dataclass
class OnlineParams:
    rate_hz: float = DEFAULT_RATE_HZ
    window: float | None = 0.2
    channels: str = "full"  # "full": every channel of ml.online.features.CHANNELS; "xyv": x, y, vx, vy (+ pressure)
    # "base": min and mean distance / the writer's scale; "base+tnorm" adds min and mean of each
    # distance / that reference's own mean distance to the other references (FEATURE_SETS)
    features: str = "base"
    # "base+tnorm+global" adds, per name of ``globals`` (ml.online.features.GLOBAL_NAMES), how far
    # the query's whole-signature value is from the references' mean (``global_columns``)
    globals: list = field(default_factory=list)
    fit_l2: float = 1e-3  # L2 penalty the logistic models were fitted with (``fit_logistic``)
    fit_random_weight: float = 0.0  # share of random forgeries among their negatives (``negative_weights``)
    online_w: list = field(default_factory=lambda: [-4.0, 0.0])
    online_b: float = 6.0
    online_threshold: float = 0.5
    fused_w: list | None = None  # [image logit, the online features]
    fused_b: float = 0.0
    fused_threshold: float = 0.5
    # per reference-count bucket (ml.buckets; fitted at its protocol count on validation users):
    # {"online": {"2-4": t, ...}, "fused": {...}}; a bucket not there takes the threshold above (5 references)
    bucket_thresholds: dict = field(default_factory=dict)
    # the same, for a comparison without pressure (the query or a pad reference has none: a mouse,
    # a finger), fitted with the same models on pressure-free copies of the validation users;
    # empty: the points above serve every comparison
    no_pressure_thresholds: dict = field(default_factory=dict)
    fitted_on: str = "uncalibrated"
    # replay and pace rules of the app (ml.online.replay, ml.online.pad), fixed on validation users
    replay_tolerance: float = 0.0
    pace_duration: list = field(default_factory=lambda: [0.0, float("inf")])
    pace_speed: list = field(default_factory=lambda: [0.0, float("inf")])

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def threshold_for(self, path: str, n_refs: int, pressure: bool = True) -> float:
        """The operating point of the ``online`` or ``fused`` score for an enrollment of ``n_refs``
        pad references; ``pressure`` False: for a comparison without pressure (``compared_with_pressure``),
        from ``no_pressure_thresholds`` where it has the path (a missing bucket takes its 5-9 point)."""
        if path not in ("online", "fused"):
            raise ValueError(f"no online operating point for the {path!r} path")
        single = self.fused_threshold if path == "fused" else self.online_threshold
        bucket = bucket_name(n_refs)
        table = {} if pressure else self.no_pressure_thresholds.get(path, {})
        if table:
            return float(table.get(bucket, table.get("5-9", single)))
        return float(self.bucket_thresholds.get(path, {}).get(bucket, single))

    def operating_points(self, path: str, pressure: bool = True) -> dict[str, float]:
        """``threshold_for`` of every bucket in ``PAD_BUCKET_REFS``: ``{"2-4": .., "5-9": .., "10+": ..}``."""
        return {b: self.threshold_for(path, n, pressure) for b, n in PAD_BUCKET_REFS.items()}


def compared_with_pressure(query: OnlineTemplate, refs: list[OnlineTemplate]) -> bool:
    """Whether the query and every reference carry a varying pressure: only then does the DTW
    compare it (``pair_distances``) and the pressure operating points apply (``threshold_for``)."""
    return bool(query.has_pressure and refs and all(r.has_pressure for r in refs))


def feature_count(params: OnlineParams) -> int:
    """How many online features ``params.features`` gives (the length of ``online_w``)."""
    n = {"base": 2, "base+tnorm": 4}.get(params.features, 4 + 2 * len(params.globals))
    return n + (len(PATH_NAMES) if uses_paths(params.features) else 0)


def load_params(model_version: str | None = None, path=PARAMS_PATH) -> OnlineParams:
    """The stored parameters for ``model_version`` (fusion included), else ``"default"``."""
    p = Path(path)
    table = json.loads(p.read_text()) if p.is_file() else {}
    entry = table.get(model_version or "") or table.get("default") or {}
    return OnlineParams(**entry)


# DTW channel sets (columns of ml.online.features.CHANNELS; pressure is added where both have it).
# "xyv" is shipped; the others were compared on validation users (research/2026-11-30-online-*)
CHANNEL_SETS = {
    "full": list(range(10)),
    "xyv": [0, 1, 2, 3],
    "dyn": [6, 7, 8],  # speed, direction
    "angle": [7, 8],
    "xya": [0, 1, 4, 5],
    "xyvs": [0, 1, 2, 3, 6],
}


def _select(t: OnlineTemplate, with_pressure: bool, channels: str) -> np.ndarray:
    cols = CHANNEL_SETS[channels] + (PRESSURE[:1] if with_pressure else [])
    return t.frames[:, cols]


def pair_distances(
    queries: list[OnlineTemplate], refs: list[OnlineTemplate], window: float | None, channels: str = "full",
    paths: bool = False,
) -> np.ndarray:  # fmt: skip
    """DTW distance of each (query, ref) pair; pressure only where both have it. With ``paths``,
    (3, pairs): the distances, then the non-diagonal share and the largest time deviation of
    each pair's best warping path (``ml.online.dtw.dtw_batch_paths``)."""
    qa, ra = [], []
    for q, r in zip(queries, refs):
        both = q.has_pressure and r.has_pressure
        qa.append(_select(q, both, channels))
        ra.append(_select(r, both, channels))
    # group by channel count so each DTW batch is homogeneous
    out = np.empty((3, len(qa)) if paths else len(qa))
    widths = np.array([a.shape[1] for a in qa])
    for c in np.unique(widths):
        idx = np.nonzero(widths == c)[0]
        if paths:
            out[:, idx] = np.stack(dtw_batch_paths([qa[i] for i in idx], [ra[i] for i in idx], window))
        else:
            out[idx] = dtw_batch([qa[i] for i in idx], [ra[i] for i in idx], window)
    return out


FEATURE_SETS = ("base", "base+tnorm", "base+tnorm+global", "base+tnorm+global+path")


def reference_globals(refs: list[OnlineTemplate], rate_hz: float) -> list[float]:
    """The references' mean of each ``GLOBAL_NAMES`` value (NaN where none of them has it)."""
    g = np.array([global_features(r, rate_hz) for r in refs]) if refs else np.full((1, len(GLOBAL_NAMES)), np.nan)
    ok = np.isfinite(g)
    mean = np.where(ok, g, 0.0).sum(0) / np.maximum(ok.sum(0), 1)
    return [float(v) if k else float("nan") for v, k in zip(mean, ok.any(0))]


GLOBAL_CLIP = 20.0  # a deviation this large says all it can; bounds what odd input can do to the score


def global_columns(queries: list[OnlineTemplate], ref_mean, names, rate_hz: float) -> np.ndarray:
    """(Q, 2 len(names)): for each named global feature, |query value - references' mean|, then
    the signed difference (so that slower and faster, longer and shorter weigh differently);
    0 where either side lacks the value (a mouse has no pressure)."""
    idx = [GLOBAL_NAMES.index(n) for n in names]
    g = np.array([global_features(q, rate_hz)[idx] for q in queries]).reshape(len(queries), len(idx))
    d = g - np.asarray(ref_mean, float)[idx][None, :]
    d = np.clip(np.where(np.isfinite(d), d, 0.0), -GLOBAL_CLIP, GLOBAL_CLIP)
    return np.column_stack([np.abs(d), d])


def fit_online(
    refs: list[OnlineTemplate], window: float | None, channels: str = "full", rate_hz: float | None = None,
    paths: bool = False,
) -> dict:  # fmt: skip
    """A writer's online decision data: its DTW scale (mean pairwise reference distance),
    each reference's own scale (``per_ref``, for the ``base+tnorm`` features), given the
    templates' ``rate_hz``, the references' mean global features (``globals``) and, with
    ``paths``, what the ``+path`` columns divide by (``path_stats``: ``reference_path_stats``)."""
    pairs = [(i, j) for i in range(len(refs)) for j in range(i + 1, len(refs))]
    n = len(refs)
    mats = np.zeros((3, n, n))
    if pairs:
        d = pair_distances([refs[i] for i, _ in pairs], [refs[j] for _, j in pairs], window, channels, paths=paths)
        d = d if paths else d[None, :]
        for k, (i, j) in enumerate(pairs):
            mats[: len(d), i, j] = mats[: len(d), j, i] = d[:, k]
        scale = float(np.mean(d[0]))
        per_ref = per_reference_scale(mats[0])
    else:
        scale, per_ref = float("nan"), [float("nan")] * n
    out = {"n_refs": n, "scale": scale, "per_ref": per_ref}
    if rate_hz is not None:
        out["globals"] = reference_globals(refs, rate_hz)
    if paths:
        out["path_stats"] = reference_path_stats(*mats)
    return out


def features_from_distances(dist: np.ndarray, scale: float, fallback_scale: float = 1.0, per_ref=None) -> np.ndarray:
    """(Q, R) query-to-reference distances -> (Q, 2) [min, mean] divided by the writer's scale;
    with ``per_ref`` (the ``base+tnorm`` set), (Q, 4): also [min, mean] of each distance
    divided by that reference's own scale."""
    s = scale if np.isfinite(scale) and scale > 1e-9 else fallback_scale
    raw = np.asarray(dist, float).reshape(len(dist), -1)
    dist = raw / s
    cols = [dist.min(1), dist.mean(1)]
    if per_ref is not None:
        pr = np.asarray(per_ref, float)
        pr = np.where(np.isfinite(pr) & (pr > 1e-9), pr, s)
        t = raw / pr[None, :]
        cols += [t.min(1), t.mean(1)]
    return np.column_stack(cols)


def online_features(
    wd: dict, refs: list[OnlineTemplate], queries: list[OnlineTemplate], window: float | None, channels: str = "full",
    features: str = "base", globals_=(), rate_hz: float | None = None,
) -> np.ndarray:  # fmt: skip
    """The feature set ``features`` of each query; ``base+tnorm+global`` needs ``globals_`` (names),
    the templates' ``rate_hz`` and ``wd["globals"]`` (``fit_online`` with ``rate_hz``);
    ``+path`` needs ``wd["path_stats"]`` (``fit_online`` with ``paths=True``)."""
    qs = [q for q in queries for _ in refs]
    rs = [r for _ in queries for r in refs]
    paths = uses_paths(features)
    out = pair_distances(qs, rs, window, channels, paths=paths).reshape(3 if paths else 1, len(queries), len(refs))
    return feature_columns(out, queries, wd, features, globals_, rate_hz)


def feature_columns(dist, queries: list[OnlineTemplate], wd: dict, features: str, globals_=(), rate_hz=None) -> np.ndarray:
    """(1, Q, R) query-to-reference DTW distances, or (3, Q, R) with the paths' bends and shifts for
    ``+path`` -> the columns of the set ``features`` (``online_features``, and evaluation's cached pairs)."""
    d = dist[0]
    f = features_from_distances(d, wd["scale"], per_ref=wd.get("per_ref") if features != "base" else None)
    if features.startswith("base+tnorm+global"):
        f = np.column_stack([f, global_columns(queries, wd["globals"], globals_, rate_hz)])
    if uses_paths(features):
        f = np.column_stack([f, path_columns(d, dist[1], dist[2], wd["scale"], wd["path_stats"])])
    return f


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def online_score(params: OnlineParams, feats: np.ndarray) -> np.ndarray:
    return _sigmoid(np.asarray(feats, float) @ np.asarray(params.online_w, float) + params.online_b)


def _logit(p):
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fused_score(params: OnlineParams, image_scores: np.ndarray, feats: np.ndarray) -> np.ndarray:
    if params.fused_w is None:
        raise ValueError("no fusion fitted for this model (ml/online/params.json)")
    x = np.column_stack([_logit(image_scores), np.asarray(feats, float)])
    return _sigmoid(x @ np.asarray(params.fused_w, float) + params.fused_b)
