"""Timing repair, resampling by time and device-robust online features.

What browsers and tablets send differs: sampling rate (a mouse at 60 Hz, a stylus at
240 Hz, a tablet at 100 Hz), canvas size and resolution, pressure or none. ``extract``
makes a signature comparable across them:

1. timing is repaired (``repair_times``): a jump by a 32-bit clock wrap (2^32 ms, or
   2^32 microseconds as SUSIG's blind tablet has it) is undone, a time that steps
   back is raised to the previous one, runs of equal times are spread evenly up to the next
   distinct time, and exact duplicate points are dropped;
2. the pen path (pen-up gaps included, interpolated straight) is resampled at a fixed rate
   by time, so the same drawing at any sampling rate gives the same sequence;
3. per frame: position, velocity, acceleration, speed, direction (sin, cos), a pen-up flag
   and pressure when the device reports a varying one; every channel except direction and
   pen-up is z-normalised per signature (so canvas size and resolution drop out). Position
   in units of the signature's radius and raw pressure are kept too (``RAW_XY``, ``PRESSURE``)
   for the whole-signature features of ``global_features``: duration, pen-down share, speed,
   path length, aspect ratio, pressure.

Input without usable times (none at all, or all equal) is refused with ``SignatureInputError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.errors import SignatureInputError
from ml.strokes import parse_strokes

WRAP_MS = (2.0**32, 2.0**32 / 1000)  # a 32-bit clock wrap, counted in ms or in microseconds
CHANNELS = ("x", "y", "vx", "vy", "ax", "ay", "speed", "sin", "cos", "pen_up", "x_r", "y_r", "pressure", "pressure_r")
PEN_UP = 9
RAW_XY = [10, 11]  # centred positions in units of the signature's radius, not z-normalised
PRESSURE = [12, 13]  # z-normalised, raw (both 0 with the pen up); present only with a varying pressure
DEFAULT_RATE_HZ = 25.0
MAX_FRAMES = 3000  # 90 s at the shipped 33 Hz: longer input is refused, not scored slowly


def repair_times(t) -> np.ndarray:
    """Monotone, strictly increasing times (ms) from raw tablet or browser times."""
    t = np.asarray(t, np.float64).copy()
    if t.size == 0:
        return t
    for wrap in WRAP_MS:  # undo jumps by a whole clock wrap (up or down), largest first
        d = np.diff(t)
        k = np.where(np.abs(d) > wrap / 2, np.round(d / wrap), 0.0)
        t = t - np.concatenate([[0.0], np.cumsum(k * wrap)])
    t = np.maximum.accumulate(t)
    # spread runs of equal times evenly between their time and the next distinct one
    out = t.copy()
    i, n = 0, len(t)
    steps = np.diff(np.unique(t))
    last_step = float(np.median(steps)) if steps.size else 1.0
    while i < n:
        j = i
        while j + 1 < n and t[j + 1] == t[i]:
            j += 1
        if j > i:
            nxt = t[j + 1] if j + 1 < n else t[i] + last_step * (j - i + 1)
            out[i : j + 1] = t[i] + (nxt - t[i]) * np.arange(j - i + 1) / (j - i + 1)
        i = j + 1
    return out


@dataclass
class OnlineTemplate:
    """A signature's online features: ``frames`` (T, C) float32, channels ``CHANNELS``
    (the last two, pressure, only when ``has_pressure``)."""

    frames: np.ndarray
    has_pressure: bool
    duration_ms: float

    def to_dict(self) -> dict:
        return {"frames": self.frames.round(4).tolist(), "has_pressure": self.has_pressure, "duration_ms": self.duration_ms}

    @classmethod
    def from_dict(cls, d: dict) -> OnlineTemplate:
        return cls(np.asarray(d["frames"], np.float32), bool(d["has_pressure"]), float(d["duration_ms"]))


def _z(v: np.ndarray) -> np.ndarray:
    s = v.std()
    return (v - v.mean()) / (s if s > 1e-9 else 1.0)


def extract(strokes, rate_hz: float = DEFAULT_RATE_HZ) -> OnlineTemplate:
    parsed = parse_strokes(strokes)
    pts = np.concatenate(parsed)
    sid = np.concatenate([np.full(len(a), k) for k, a in enumerate(parsed)])
    t = pts[:, 2]
    finite = np.isfinite(t)
    if finite.sum() < 2:
        raise SignatureInputError("invalid_strokes", "online scoring needs a time on the points")
    if not finite.all():  # a few missing times: interpolate them over the point order
        idx = np.arange(len(t))
        t = np.interp(idx, idx[finite], t[finite])
    # drop exact duplicates (same position and time as the point before)
    keep = np.ones(len(pts), bool)
    keep[1:] = ~((np.diff(pts[:, 0]) == 0) & (np.diff(pts[:, 1]) == 0) & (np.diff(t) == 0))
    pts, sid, t = pts[keep], sid[keep], t[keep]
    if np.ptp(np.maximum.accumulate(t)) <= 0:
        raise SignatureInputError("invalid_strokes", "the points' times do not advance: online scoring needs real times")
    t = repair_times(t)
    duration = float(t[-1] - t[0])
    dt = 1000.0 / rate_hz
    n = int(duration // dt) + 1
    if n > MAX_FRAMES:
        raise SignatureInputError(
            "invalid_strokes", f"the signature lasts {duration / 1000:.0f} s; at most {MAX_FRAMES * dt / 1000:.0f} s are scored"
        )
    if n < 3:
        n, dt = 3, duration / 2
    grid = t[0] + dt * np.arange(n)
    x = np.interp(grid, t, pts[:, 0])
    y = np.interp(grid, t, pts[:, 1])
    # pen up: strictly between one stroke's last point and the next stroke's first
    pos = np.searchsorted(t, grid, side="right") - 1
    pos = np.clip(pos, 0, len(t) - 1)
    nxt = np.clip(pos + 1, 0, len(t) - 1)
    pen_up = ((sid[nxt] != sid[pos]) & (grid > t[pos])).astype(np.float64)
    pr = pts[:, 3]
    pfin = np.isfinite(pr)
    has_p = bool(pfin.any() and np.nanmax(pr) - np.nanmin(pr) > 0.05)
    scale = np.sqrt(((x - x.mean()) ** 2 + (y - y.mean()) ** 2).mean()) or 1.0
    xn, yn = (x - x.mean()) / scale, (y - y.mean()) / scale
    vx, vy = np.gradient(xn), np.gradient(yn)
    ax, ay = np.gradient(vx), np.gradient(vy)
    speed = np.hypot(vx, vy)
    ang = np.arctan2(vy, vx)
    cols = [_z(xn), _z(yn), _z(vx), _z(vy), _z(ax), _z(ay), _z(speed), np.sin(ang), np.cos(ang), pen_up, xn, yn]
    if has_p:
        p = np.interp(grid, t[pfin], pr[pfin])
        p = np.where(pen_up > 0, 0.0, p)
        cols += [_z(p), p]
    return OnlineTemplate(np.column_stack(cols).astype(np.float32), has_p, duration)


GLOBAL_NAMES = (
    "log_duration",  # total time, first to last point (ms, log)
    "down_ratio",  # share of the frames with the pen down
    "log_strokes",  # log(1 + number of pen-down runs)
    "log_speed",  # mean pen-down speed, signature radii per second (log)
    "log_vmax",  # 95th percentile of the pen-down speed (log)
    "speed_cv",  # coefficient of variation of the pen-down speed
    "log_path",  # pen-down path length in signature radii (log)
    "log_aspect",  # width / height of the bounding box (log)
    "log_turns",  # log(1 + reversals of the vertical direction per second)
    "pressure_mean",  # mean pen-down pressure (NaN without a varying pressure)
    "pressure_std",  # its standard deviation (NaN without a varying pressure)
)


def global_features(t: OnlineTemplate, rate_hz: float) -> np.ndarray:
    """Whole-signature values of a template made at ``rate_hz`` (``extract``), one per
    ``GLOBAL_NAMES``. Device-independent as the template is: sizes in units of the signature's
    radius, speeds from the path resampled by time."""
    f = np.asarray(t.frames, np.float64)
    down = f[:, PEN_UP] < 0.5
    x, y = f[:, RAW_XY[0]], f[:, RAW_XY[1]]
    step = np.hypot(np.diff(x), np.diff(y))
    both = down[1:] & down[:-1]
    sdown = step[both] * rate_hz  # radii per second
    if sdown.size < 2:
        sdown = step * rate_hz if step.size >= 2 else np.ones(2)
    path = float(step[both].sum())
    down_s = max(float(both.sum()) / rate_hz, 1e-3)
    runs = int(down[0]) + int((down[1:] & ~down[:-1]).sum())
    dy = np.diff(y)[both]
    dy = dy[np.abs(dy) > 1e-4]
    turns = float((np.sign(dy[1:]) != np.sign(dy[:-1])).sum()) if dy.size > 1 else 0.0
    if t.has_pressure and down.any():
        p = f[down, PRESSURE[1]]
        pm, ps = float(p.mean()), float(p.std())
    else:
        pm = ps = float("nan")
    return np.array(
        [
            np.log(max(t.duration_ms, 1.0)),
            float(down.mean()),
            np.log1p(runs),
            np.log(max(path / down_s, 1e-6)),
            np.log(max(float(np.percentile(sdown, 95)), 1e-6)),
            float(sdown.std() / max(sdown.mean(), 1e-9)),
            np.log(max(path, 1e-6)),
            np.log(max(float(np.ptp(x)), 1e-6) / max(float(np.ptp(y)), 1e-6)),
            np.log1p(turns / max(t.duration_ms / 1000.0, 1e-3)),
            pm,
            ps,
        ]
    )
