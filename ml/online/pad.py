"""Pad signatures in the app: stored templates, the online/fused score, replay and pace.

The web app (through ``verification/ml_engine/``) uses these functions only:

* ``template_pack(strokes, params)`` -> ``PackedTemplate``: a reference's online features as
  float16 bytes (about 7 to 9 channels x 100 frames x 2 bytes), computed once per pad reference;
  ``template_unpack`` reads it back. ``params_key(params)`` names what a template depends
  on (resampling rate, channel set and template format): a stored template with another key is stale.
* ``app_score(params, stored, query_strokes, image_score, writer)``, the app's entry, and
  ``pad_score(params, wd, refs, query, image_score)``: the online and fused scores of a
  query against the references' templates, with the closest reference's replay distance.
* ``replay_distance(query, ref)``: how far a query's timed pen path is from a reference's
  with no time warping (``ml.online.replay``).
* ``pace(strokes)``: duration and pen-down speed, for the enrollment-time pace check.
* ``dynamics_profile(strokes)``: speed and pressure over time, for the review page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.errors import SignatureInputError
from ml.online.features import CHANNELS, PEN_UP, PRESSURE, RAW_XY, OnlineTemplate, extract, repair_times
from ml.online.replay import replay_distance
from ml.online.verifier import (
    CHANNEL_SETS,
    OnlineParams,
    compared_with_pressure,
    fit_online,
    fused_score,
    online_features,
    online_score,
    uses_paths,
)
from ml.strokes import parse_strokes

PROFILE_POINTS = 120  # samples of each review-page profile


TEMPLATE_FORMAT = 2  # 2: pen-up, raw position and raw pressure stored too (global features)


def params_key(params: OnlineParams) -> str:
    return f"r{params.rate_hz:g}-{params.channels}-t{TEMPLATE_FORMAT}"


@dataclass
class PackedTemplate:
    params_key: str
    frames: bytes  # float16, C order, (n_frames, n_channels)
    n_frames: int
    n_channels: int
    has_pressure: bool
    duration_ms: float


def _stored_channels(params: OnlineParams, has_pressure: bool) -> list[int]:
    """The DTW channels, then what ``ml.online.features.global_features`` reads (pen up, raw
    position), then both pressure channels when the device has a varying pressure."""
    return CHANNEL_SETS[params.channels] + [PEN_UP] + RAW_XY + (PRESSURE if has_pressure else [])


def template_pack(strokes, params: OnlineParams) -> PackedTemplate:
    """A pad signature's stored online template; raises ``SignatureInputError`` without usable times."""
    t = extract(strokes, params.rate_hz)
    frames = t.frames[:, _stored_channels(params, t.has_pressure)].astype(np.float16)
    return PackedTemplate(params_key(params), frames.tobytes(), frames.shape[0], frames.shape[1], t.has_pressure, t.duration_ms)


def template_or_none(strokes, params: OnlineParams) -> PackedTemplate | None:
    """``template_pack``, or None when the strokes carry no usable times (the image path only)."""
    try:
        return template_pack(strokes, params)
    except SignatureInputError:
        return None


def template_unpack(p, params: OnlineParams) -> OnlineTemplate:
    """Back to an ``OnlineTemplate`` whose columns sit where ``ml.online.verifier`` reads them.
    ``p``: a ``PackedTemplate`` or any object with its fields (the app's stored row)."""
    small = np.frombuffer(bytes(p.frames), np.float16).reshape(p.n_frames, p.n_channels).astype(np.float32)
    full = np.zeros((p.n_frames, len(CHANNELS)), np.float32)
    full[:, _stored_channels(params, p.has_pressure)] = small
    return OnlineTemplate(full if p.has_pressure else full[:, : PRESSURE[0]], p.has_pressure, p.duration_ms)


def pad_fit(refs: list[OnlineTemplate], params: OnlineParams) -> dict:
    """A writer's online data (its DTW scale), stored with the enrollment."""
    return {**fit_online(refs, params.window, params.channels, params.rate_hz, paths=uses_paths(params.features)),
            "key": params_key(params)}  # fmt: skip


def pad_score(params: OnlineParams, wd: dict, refs: list[OnlineTemplate], query: OnlineTemplate, image_score: float) -> dict:
    """``{"online", "fused" (None without a fitted fusion), "features", "replay_distance", "replay_index",
    "pressure" (``compared_with_pressure``: which operating points apply)}``."""
    feats = online_features(wd, refs, [query], params.window, params.channels, params.features, params.globals, params.rate_hz)
    s_on = float(online_score(params, feats)[0])
    s_fu = float(fused_score(params, np.array([image_score]), feats)[0]) if params.fused_w is not None else None
    dists = [replay_distance(query, r) for r in refs]
    k = int(np.argmin(dists)) if dists else -1
    return {
        "online": s_on,
        "fused": s_fu,
        "features": [float(v) for v in feats[0]],
        "replay_distance": float(dists[k]) if dists else None,
        "replay_index": k if dists else None,
        "pressure": compared_with_pressure(query, refs),
    }


def app_writer(params: OnlineParams, references: list) -> dict | None:
    """A writer's online data (``pad_fit``) from its stored templates, ahead of its first
    verification; None without references."""
    return pad_fit([template_unpack(p, params) for p in references], params) if references else None


def app_score(params: OnlineParams, references: list, query_strokes, image_score: float, writer: dict | None = None):
    """What the app asks (``verification.ml_engine.online_score``): ``pad_score`` of the query
    against stored templates, plus ``"writer"`` (the references' DTW scale, ``pad_fit``: pass it
    back to skip refitting); None when the query has no usable times or there are no references."""
    query = template_or_none(query_strokes, params)
    if query is None or not references:
        return None
    refs = [template_unpack(p, params) for p in references]
    stale = writer is not None and (
        (params.features != "base" and not writer.get("per_ref"))
        or (params.globals and not writer.get("globals"))
        or (uses_paths(params.features) and not writer.get("path_stats"))
    )
    wd = pad_fit(refs, params) if writer is None or stale else writer
    return {**pad_score(params, wd, refs, template_unpack(query, params), float(image_score)), "writer": wd}


def _timed_points(strokes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All points in order (x, y, pressure), repaired times in ms from 0, and pen-down flags per step."""
    try:
        parsed = parse_strokes(strokes)
    except SignatureInputError:  # too few points, malformed: no pace or profile to show
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, bool)
    pts = np.concatenate(parsed)
    t = pts[:, 2]
    if np.isfinite(t).sum() < 2 or np.ptp(np.maximum.accumulate(t[np.isfinite(t)])) <= 0:  # no real times
        return pts, np.full(len(pts), np.nan), np.ones(len(pts), bool)
    idx = np.arange(len(t))
    ok = np.isfinite(t)
    t = repair_times(np.interp(idx, idx[ok], t[ok]))
    sid = np.concatenate([np.full(len(a), k) for k, a in enumerate(parsed)])
    same = np.r_[False, sid[1:] == sid[:-1]]  # point i continues the stroke of point i - 1
    return pts, t - t[0], same


def pace(strokes) -> dict | None:
    """``{"duration_ms", "speed"}`` (speed: pen-down path per second, in signature heights), or None without times."""
    pts, t, same = _timed_points(strokes)
    if len(t) < 2 or not np.isfinite(t).all() or t[-1] <= 0:
        return None
    step = np.hypot(np.diff(pts[:, 0]), np.diff(pts[:, 1]))
    down = same[1:]
    height = max(float(np.ptp(pts[:, 1])), float(np.ptp(pts[:, 0])) / 4, 1e-6)
    down_ms = float(np.diff(t)[down].sum())
    speed = float(step[down].sum() / height / (down_ms / 1000.0)) if down_ms > 0 else None
    return {"duration_ms": float(t[-1]), "speed": speed}


def dynamics_profile(strokes, points: int = PROFILE_POINTS) -> dict | None:
    """Speed (signature heights per second) and pressure over time, ``points`` samples each,
    or None without times. Pressure is None when the device gives no varying pressure."""
    pts, t, same = _timed_points(strokes)
    if len(t) < 2 or not np.isfinite(t).all() or t[-1] <= 0:
        return None
    height = max(float(np.ptp(pts[:, 1])), float(np.ptp(pts[:, 0])) / 4, 1e-6)
    dt = np.maximum(np.diff(t), 1e-3)
    v = np.hypot(np.diff(pts[:, 0]), np.diff(pts[:, 1])) / height / (dt / 1000.0)
    v = np.where(same[1:], v, 0.0)
    mid = (t[1:] + t[:-1]) / 2
    grid = np.linspace(0.0, float(t[-1]), points)
    # a light smoothing (5 samples) so that browser timer jitter does not dominate the plot
    speed = np.convolve(np.interp(grid, mid, v), np.ones(5) / 5, mode="same")
    pr = pts[:, 3]
    fin = np.isfinite(pr)
    pressure = None
    if fin.any() and np.nanmax(pr) - np.nanmin(pr) > 0.05:
        pressure = [round(float(p), 3) for p in np.interp(grid, t[fin], pr[fin])]
    return {
        "duration_ms": round(float(t[-1]), 1),
        "t_ms": [round(float(g), 1) for g in grid],
        "speed": [round(float(s), 3) for s in speed],
        "pressure": pressure,
    }
