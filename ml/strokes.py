"""Pad strokes: parsing, rendering to an image, and how the signature was drawn.

signature_pad (and the tablets of the online datasets) give a signature as strokes of
points with x, y, time and pressure. ``parse_strokes`` normalises them and refuses
malformed or too short input (``SignatureInputError``), ``render_strokes`` draws them as
ink on white for the image pipeline of ``ml.preprocess``, and ``stroke_quality`` measures
the drawing (points, duration, speed, pressure).
"""

from __future__ import annotations

import math
from numbers import Real

import cv2
import numpy as np

from ml.errors import SignatureInputError

MIN_STROKE_POINTS = 10


def _point_xy(p) -> tuple[float, float, float | None, float | None]:
    if isinstance(p, dict):
        x, y = p.get("x"), p.get("y")
        t, pr = p.get("time", p.get("t")), p.get("pressure")
    elif isinstance(p, (list, tuple)) and len(p) >= 2:
        x, y = p[0], p[1]
        t = p[2] if len(p) > 2 else None
        pr = p[3] if len(p) > 3 else None
    else:
        raise SignatureInputError("invalid_strokes", "each point must be {x, y, time, pressure} or [x, y, ...]")
    try:
        x, y = float(x), float(y)
        t = None if t is None else float(t)
        pr = None if pr is None else float(pr)
    except (TypeError, ValueError):
        raise SignatureInputError("invalid_strokes", "point coordinates must be numbers") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise SignatureInputError("invalid_strokes", "point coordinates must be finite numbers")
    if t is not None and not math.isfinite(t):
        t = None
    if pr is not None and not math.isfinite(pr):
        pr = None
    return x, y, t, pr


def stroke_points(stroke):
    """The points of one stroke: signature_pad's ``{"points": [...]}`` or a bare list."""
    return stroke.get("points") if isinstance(stroke, dict) else stroke


def _coordinate_ok(v, limit: float) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= limit


def _is_point(p, limit: float) -> bool:
    if isinstance(p, dict):
        return _coordinate_ok(p.get("x"), limit) and _coordinate_ok(p.get("y"), limit)
    if isinstance(p, (list, tuple)) and len(p) >= 2:
        return _coordinate_ok(p[0], limit) and _coordinate_ok(p[1], limit)
    return False


def check_strokes(strokes, *, max_strokes: int, max_points: int, max_coordinate: float) -> list:
    """Strict structure and size of untrusted strokes, before any parsing (cheap: counts first).

    A list of at most ``max_strokes`` strokes, at most ``max_points`` points in all, every
    coordinate a JSON number (not a string or a boolean) of at most ``max_coordinate``.
    Returns ``strokes`` unchanged; raises ``SignatureInputError("invalid_strokes", ...)``.
    """
    bad = SignatureInputError(
        "invalid_strokes",
        'strokes must be a list of strokes, each {"points": [{"x": .., "y": .., "time": .., "pressure": ..}, ...]} '
        f"or a list of points, with finite coordinates of at most {max_coordinate:g}",
    )
    if not isinstance(strokes, list) or not strokes:
        raise bad
    if len(strokes) > max_strokes:
        raise SignatureInputError("invalid_strokes", f"at most {max_strokes} strokes are accepted")
    total = 0
    for stroke in strokes:
        points = stroke_points(stroke)
        if not isinstance(points, list):
            raise bad
        total += len(points)
        if total > max_points:
            raise SignatureInputError("invalid_strokes", f"at most {max_points} points are accepted")
    for stroke in strokes:
        if not all(_is_point(p, max_coordinate) for p in stroke_points(stroke)):
            raise bad
    return strokes


def parse_strokes(strokes) -> list[np.ndarray]:
    """Normalise signature_pad data (``[{points: [...]}, ...]``) or lists of points.

    Returns one float64 array (n, 4) per stroke: x, y, time (ms or NaN), pressure (or NaN).
    """
    if isinstance(strokes, dict) and "strokes" in strokes:
        strokes = strokes["strokes"]
    if not isinstance(strokes, (list, tuple)) or not strokes:
        raise SignatureInputError("invalid_strokes", "strokes must be a non-empty list of strokes")
    out = []
    for s in strokes:
        pts = stroke_points(s)
        if not isinstance(pts, (list, tuple)):
            raise SignatureInputError("invalid_strokes", "each stroke must be a list of points")
        rows = [_point_xy(p) for p in pts]
        if rows:
            arr = np.array([[x, y, np.nan if t is None else t, np.nan if p is None else p] for x, y, t, p in rows])
            out.append(arr)
    n = sum(len(a) for a in out)
    if n < MIN_STROKE_POINTS:
        raise SignatureInputError("too_few_points", f"the signature has {n} points; at least {MIN_STROKE_POINTS} are needed")
    return out


def render_strokes(strokes, size: int = 600) -> np.ndarray:
    """Draw strokes as dark ink on white, uint8, longest side ``size`` pixels plus margin.

    Pen width is 0.6% of the signature's longest side (about a ballpoint at 300 dpi);
    where the pad reports a varying pressure the width follows it between 0.6x and 1.4x.
    """
    parsed = parse_strokes(strokes)
    allpts = np.concatenate(parsed)[:, :2]
    lo, hi = allpts.min(0), allpts.max(0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1]))
    if span < 1e-6:
        raise SignatureInputError("blank", "the strokes have no extent: nothing was drawn")
    scale = (size - 1) / span
    margin = 12
    w = int(math.ceil((hi[0] - lo[0]) * scale)) + 2 * margin
    h = int(math.ceil((hi[1] - lo[1]) * scale)) + 2 * margin
    canvas = np.full((h, w), 255, np.uint8)
    base = max(1.5, 0.006 * size)
    pressures = np.concatenate([a[:, 3] for a in parsed])
    finite = pressures[np.isfinite(pressures)]
    varying = finite.size > 0 and float(finite.max() - finite.min()) > 0.05
    shift = 4  # sub-pixel precision for cv2 drawing
    f = float(1 << shift)
    for a in parsed:
        xy = (a[:, :2] - lo) * scale + margin
        for i in range(len(xy)):
            p = a[i, 3]
            width = base * (0.6 + 0.8 * float(np.clip(p, 0, 1))) if varying and np.isfinite(p) else base
            thick = max(1, int(round(width)))
            p0 = xy[i - 1] if i > 0 else xy[i]
            p1 = xy[i]
            cv2.line(
                canvas,
                (int(round(p0[0] * f)), int(round(p0[1] * f))),
                (int(round(p1[0] * f)), int(round(p1[1] * f))),
                color=20,
                thickness=thick,
                lineType=cv2.LINE_AA,
                shift=shift,
            )
    return canvas


def stroke_quality(strokes) -> dict:
    """Measures of how a pad signature was drawn: points, strokes, duration, speed."""
    parsed = parse_strokes(strokes)
    allp = np.concatenate(parsed)
    t = allp[:, 2]
    duration = float(np.nanmax(t) - np.nanmin(t)) if np.isfinite(t).any() else None
    length = float(sum(np.linalg.norm(np.diff(a[:, :2], axis=0), axis=1).sum() for a in parsed))
    xy = allp[:, :2]
    extent = (xy.max(0) - xy.min(0)).tolist()
    pressure = allp[:, 3]
    return {
        "points": int(len(allp)),
        "strokes": len(parsed),
        "duration_ms": duration,
        "path_length": round(length, 2),
        "width": round(extent[0], 2),
        "height": round(extent[1], 2),
        "speed_px_per_ms": round(length / duration, 4) if duration else None,
        "has_pressure": bool(np.isfinite(pressure).any() and np.nanmax(pressure) - np.nanmin(pressure) > 0.05),
    }
