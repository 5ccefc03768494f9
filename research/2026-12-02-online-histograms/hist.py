"""Histogram descriptors of pad signatures (after Sae-Bae and Memon, 2014), as an "embedding"
file that research/2026-11-30-online-encoder/heldout.py reads.

    python research/2026-12-02-online-histograms/hist.py --val cache/splits/svc2004_val \\
        cache/splits/susig_visual_val --out cache/hist_emb.npz

Each signature is resampled by time at 100 Hz (``ml.online.features.extract``; 25 Hz past its
30 s limit). Over its pen-down
frames, normalised histograms of: the direction of motion (8 bins), the turn from one frame to
the next (8), the direction of acceleration (8), direction (4) by relative speed (4) jointly,
relative speed (12), the direction of motion in each third of the signing time (3 x 8), and, with
a varying pressure, relative pressure (8) and its change (6). Each block's square root, divided
by the square root of the number of blocks, is concatenated: the Euclidean distance of two such
vectors is a Hellinger distance that weighs every block alike. Nothing is fitted, so every
fold's ``emb<k>`` is the same matrix. Test users are refused.
"""

import argparse

import numpy as np

from ml.errors import SignatureInputError
from ml.online.convert import test_user_folders
from ml.online.evaluate import scan_stroke_writers
from ml.online.features import PEN_UP, PRESSURE, RAW_XY, extract

RATE_HZ = 100.0
TWO_PI = 2 * np.pi


def _hist(v, bins, lo, hi):
    h = np.histogram(np.clip(v, lo, hi - 1e-9), bins=bins, range=(lo, hi))[0].astype(np.float64)
    return h / max(h.sum(), 1.0)


def _ang(v):
    return np.mod(v, TWO_PI)


def descriptor(strokes, with_pressure: bool = True) -> np.ndarray:
    try:
        t = extract(strokes, RATE_HZ)
    except SignatureInputError:  # over 30 s at 100 Hz: the shipped rate's frame limit allows longer
        t = extract(strokes, RATE_HZ / 4)
    f = np.asarray(t.frames, np.float64)
    down = f[:, PEN_UP] < 0.5
    x, y = f[:, RAW_XY[0]], f[:, RAW_XY[1]]
    vx, vy = np.gradient(x), np.gradient(y)
    ax, ay = np.gradient(vx), np.gradient(vy)
    speed = np.hypot(vx, vy)
    moving = down & (speed > 1e-6)
    if moving.sum() < 4:
        moving = speed > 1e-6 if (speed > 1e-6).sum() >= 4 else np.ones(len(f), bool)
    th = _ang(np.arctan2(vy, vx))[moving]
    turn = np.angle(np.exp(1j * np.diff(np.arctan2(vy, vx)[moving])))
    acc = _ang(np.arctan2(ay, ax))[moving]
    sp = speed[moving]
    rel = np.log(sp / max(np.median(sp), 1e-9))
    blocks = [
        _hist(th, 8, 0, TWO_PI),
        _hist(turn, 8, -np.pi, np.pi),
        _hist(acc, 8, 0, TWO_PI),
        np.histogram2d(
            np.clip(th, 0, TWO_PI - 1e-9), np.clip(rel, -1.5, 1.5 - 1e-9), bins=(4, 4), range=((0, TWO_PI), (-1.5, 1.5))
        )[0].ravel()
        / max(len(th), 1),  # fmt: skip
        _hist(rel, 12, -2.0, 2.0),
    ]
    idx = np.nonzero(moving)[0]
    for part in np.array_split(idx, 3):
        blocks.append(_hist(_ang(np.arctan2(vy[part], vx[part])), 8, 0, TWO_PI) if len(part) else np.zeros(8))
    if with_pressure:
        if t.has_pressure:
            p = f[moving, PRESSURE[0]]
            blocks += [_hist(p, 8, -2.5, 2.5), _hist(np.diff(p) * 10, 6, -3, 3)]
        else:
            blocks += [np.zeros(8), np.zeros(6)]
    return np.concatenate([np.sqrt(b) for b in blocks]) / np.sqrt(len(blocks))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--val", nargs="+", required=True)
    ap.add_argument("--no-pressure", action="store_true", help="leave the pressure blocks out")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    paths, rows = [], []
    for folder in a.val:
        if test_user_folders(folder):
            raise SystemExit(f"{test_user_folders(folder)[0]}: a test user")
        samples, _ = scan_stroke_writers(folder)
        for s in samples:
            try:
                rows.append(descriptor(s.strokes, not a.no_pressure))
            except SignatureInputError:  # the DTW rows skip what extract refuses too
                continue
            paths.append(s.path)
    emb = np.stack(rows).astype(np.float32)
    np.savez(a.out, paths=np.array(paths), **{f"emb{k}": emb for k in range(5)})
    print(len(paths), emb.shape)


if __name__ == "__main__":
    main()
