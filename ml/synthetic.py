"""Synthetic writers: procedural pad signatures the project generates itself.

Used by tests that must run without research data and by the demo seed. A writer is a
seeded set of smooth pen trajectories (a few strokes through random control points,
written left to right); each genuine sample re-draws them with small natural variation
(control-point jitter, slant, size, speed); a "forgery" is another hand imitating the
shape: same layout, larger and differently structured distortions.

Output is signature_pad's format: ``[{"points": [{"x", "y", "time", "pressure"}, ...]}, ...]``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ml.preprocess import render_strokes


def _catmull_rom(ctrl: np.ndarray, per_seg: int = 12) -> np.ndarray:
    pts = np.vstack([ctrl[0], ctrl, ctrl[-1]])
    out = []
    t = np.linspace(0, 1, per_seg, endpoint=False)[:, None]
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        out.append(
            0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    out.append(ctrl[-1:])
    return np.vstack(out)


def writer_style(seed: int) -> dict:
    """The invariant part of a writer's signature: stroke layout and control points."""
    rng = np.random.default_rng(seed)
    n_strokes = int(rng.integers(1, 4))
    strokes = []
    x = 0.0
    for _ in range(n_strokes):
        n = int(rng.integers(6, 14))
        xs = x + np.cumsum(rng.uniform(8, 30, n))
        ys = rng.normal(0, 18, n) + 12 * np.sin(np.arange(n) * rng.uniform(0.5, 2.5))
        strokes.append(np.stack([xs, ys], 1))
        x = xs[-1] + rng.uniform(5, 25)
    return {"strokes": strokes, "slant": rng.uniform(-0.3, 0.3), "speed": rng.uniform(0.4, 1.2)}


def _draw(style: dict, rng: np.random.Generator, jitter: float, affine: float, slant_sd: float) -> list:
    out = []
    t = 0.0
    slant = style["slant"] + rng.normal(0, slant_sd)
    sx, sy = 1 + rng.normal(0, affine), 1 + rng.normal(0, affine)
    for ctrl in style["strokes"]:
        c = ctrl + rng.normal(0, jitter, ctrl.shape)
        path = _catmull_rom(c)
        path[:, 0] = path[:, 0] * sx + path[:, 1] * slant
        path[:, 1] = path[:, 1] * sy
        path = path * 3 + 40
        pts = []
        for i, (px, py) in enumerate(path):
            if i:
                t += float(np.hypot(*(path[i] - path[i - 1]))) / (style["speed"] * rng.uniform(0.8, 1.25))
            pts.append(
                {
                    "x": round(float(px), 2),
                    "y": round(float(py + 60), 2),
                    "time": round(t, 1),
                    "pressure": round(float(np.clip(0.5 + 0.2 * np.sin(i / 5), 0.1, 1)), 3),
                }
            )
        out.append({"points": pts})
        t += rng.uniform(80, 200)
    return out


def genuine(seed: int, sample: int) -> list:
    """One genuine pad signature of writer ``seed``."""
    return _draw(writer_style(seed), np.random.default_rng([seed, sample, 1]), jitter=1.5, affine=0.04, slant_sd=0.04)


def forgery(seed: int, sample: int) -> list:
    """A skilled-forgery attempt at writer ``seed``'s signature."""
    return _draw(writer_style(seed), np.random.default_rng([seed, sample, 2]), jitter=6.0, affine=0.1, slant_sd=0.15)


def write_dataset(
    folder: str | os.PathLike, writers: int, genuine_per_writer: int, forged_per_writer: int, seed: int = 0
) -> Path:
    """Write ``<folder>/<writer>/{genuine,forged}/NN.png`` rendered from synthetic strokes."""
    folder = Path(folder)
    for w in range(writers):
        wseed = seed * 100_003 + w
        for label, n, fn in (("genuine", genuine_per_writer, genuine), ("forged", forged_per_writer, forgery)):
            d = folder / f"writer_{w:03d}" / label
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(render_strokes(fn(wseed, i), size=400), "L").save(d / f"{i:02d}.png")
    return folder
