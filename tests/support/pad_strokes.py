"""Generated pad signatures for the pen-dynamics tests: another device's sampling rate,
a mouse without pressure, malformed timing and exact or jittered replays of a sample."""

from __future__ import annotations

import copy

import numpy as np

from ml.online.replay import replay_copy
from verification.demo import demo_strokes


def resampled(strokes: list, rate_hz: float) -> list:
    """The same drawing as a device sampling at ``rate_hz`` would send it (points by time)."""
    out = []
    for s in strokes:
        pts = s["points"]
        t = np.array([p["time"] for p in pts], float)
        grid = np.arange(t[0], t[-1] + 1e-9, 1000.0 / rate_hz)
        x = np.interp(grid, t, [p["x"] for p in pts])
        y = np.interp(grid, t, [p["y"] for p in pts])
        pr = np.interp(grid, t, [p.get("pressure", 0.5) for p in pts])
        out.append(
            {
                "points": [
                    {"x": float(a), "y": float(b), "time": float(c), "pressure": float(d)} for a, b, c, d in zip(x, y, grid, pr)
                ]
            }
        )
    return out


def mouse(strokes: list) -> list:
    """A mouse: the same points without any pressure."""
    return [{"points": [{"x": p["x"], "y": p["y"], "time": p["time"]} for p in s["points"]]} for s in strokes]


def with_pressure_wave(strokes: list) -> list:
    """A stylus: a varying pressure along each stroke."""
    out = copy.deepcopy(strokes)
    for s in out:
        n = len(s["points"])
        for i, p in enumerate(s["points"]):
            p["pressure"] = round(0.35 + 0.3 * np.sin(np.pi * i / max(n - 1, 1)), 3)
    return out


def time_glitches(strokes: list) -> list:
    """Times that step back now and then, and exact duplicate points."""
    out = copy.deepcopy(strokes)
    for s in out:
        pts = s["points"]
        for i in range(5, len(pts), 17):
            pts[i]["time"] = pts[i - 1]["time"] - 9
        for i in range(len(pts) - 1, 3, -23):
            pts.insert(i, dict(pts[i]))
    return out


def replay(strokes: list, seed: int = 0, keep: float = 1.0, jitter: float = 0.0) -> list:
    """A replay: moved, scaled, shifted in time (and jittered / sampled sparser when asked)."""
    return replay_copy(strokes, np.random.default_rng(seed), jitter=jitter, time_jitter_ms=2.0 if jitter else 0.0, keep=keep)


__all__ = ["demo_strokes", "mouse", "replay", "resampled", "time_glitches", "with_pressure_wave"]
