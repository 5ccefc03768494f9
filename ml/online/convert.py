"""Convert the shared online datasets to stroke-JSON writer folders.

    python -m ml convert-online --dataset svc2004|susig-visual|susig-blind --src DIR --out DIR

Output: ``OUT/<set>_u<NNN>/{genuine,forged}/<source name>.json``, each file exactly what
``POST /api/verifications/`` takes in ``strokes``: ``[{"points": [{"x", "y", "time",
"pressure"}, ...]}, ...]`` with y growing downwards, time in ms from the first point and
pressure in [0, 1]. The dataset's user numbers stay in the folder names, so test users
(SVC2004 31-40, SUSIG visual 101-115, SUSIG blind all) stay recognisable.

Cleaning (documented repairs, the same ``ml.online.features.repair_times`` the verifier uses):
* SUSIG: byte-identical duplicate files of one user and label are kept once; a 2^32 ms
  clock wrap is undone (a step of about -2^32 gets 2^32 added back).
* SVC2004: a timestamp that steps back (about 9 ms, a tablet clock glitch) is raised to
  the previous one, and runs of equal timestamps are spread evenly up to the next one.
* Points with the pen up (SVC2004 button 0, SUSIG pressure 0) separate strokes; the
  time between strokes is the pen-up gap.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from ml.online.features import repair_times

DATASETS = ("svc2004", "susig-visual", "susig-blind")


def _split(rows: np.ndarray, pen_down: np.ndarray, ends: np.ndarray | None = None) -> list[np.ndarray]:
    strokes, cur = [], []
    for i in range(len(rows)):
        if not pen_down[i]:
            if cur:
                strokes.append(cur)
            cur = []
            continue
        cur.append(i)
        if ends is not None and ends[i]:
            strokes.append(cur)
            cur = []
    if cur:
        strokes.append(cur)
    return [rows[idx] for idx in strokes if idx]


def _to_json(strokes: list[np.ndarray]) -> list[dict]:
    """(n, 4) arrays x, y (upwards), t, pressure -> stroke JSON with y downwards, t from 0."""
    allp = np.concatenate(strokes)
    y_top, t0 = float(allp[:, 1].max()), float(allp[:, 2].min())
    out = []
    for s in strokes:
        pts = [
            {
                "x": round(float(x), 2),
                "y": round(y_top - float(y), 2),
                "time": round(float(t) - t0, 3),
                "pressure": round(float(p), 4),
            }
            for x, y, t, p in s
        ]
        out.append({"points": pts})
    return out


def read_svc(path) -> list[np.ndarray]:
    """SVC2004 task 2: ``N`` then ``x y t button azimuth altitude pressure`` lines."""
    rows = np.loadtxt(path, skiprows=1, ndmin=2)
    t = repair_times(rows[:, 2])
    pts = np.column_stack([rows[:, 0], rows[:, 1], t, np.clip(rows[:, 6] / 1023.0, 0, 1)])
    return _split(pts, rows[:, 3] > 0)


def read_susig(path) -> list[np.ndarray]:
    """SUSIG: 2 header lines, then ``x y t pressure end_of_stroke``; pressure 0 = pen up."""
    rows = np.loadtxt(path, skiprows=2, ndmin=2)
    t = repair_times(rows[:, 2])
    pts = np.column_stack([rows[:, 0], rows[:, 1], t, np.clip(rows[:, 3] / 255.0, 0, 1)])
    return _split(pts, rows[:, 3] > 0, rows[:, 4] > 0)


def dedupe(paths) -> list[Path]:
    """The files in sorted order, exact byte duplicates dropped (SUSIG has a few)."""
    seen, out = set(), []
    for p in sorted(paths):
        h = hashlib.md5(Path(p).read_bytes()).hexdigest()
        if h not in seen:
            seen.add(h)
            out.append(Path(p))
    return out


def _listing(dataset: str, src: Path) -> dict[tuple[str, str], list[Path]]:
    """{(writer folder, label): [files]}"""
    groups: dict[tuple[str, str], list[Path]] = {}
    if dataset == "svc2004":
        for f in src.glob("*.[Tt][Xx][Tt]"):
            m = re.fullmatch(r"U(\d+)S(\d+)", f.stem, re.I)
            if m:
                u, s = int(m.group(1)), int(m.group(2))
                groups.setdefault((f"svc2004_u{u:03d}", "genuine" if s <= 20 else "forged"), []).append(f)
        return groups
    part = dataset.split("-", 1)[1]
    for f in src.rglob("*.sig"):
        m = re.match(r"(\d+)_([0-9a-z]+)_", f.name, re.I)
        if not m:
            continue
        label = "forged" if m.group(2).lower() == "f" or "FORGERY" in [x.upper() for x in f.parts] else "genuine"
        groups.setdefault((f"susig_{part}_u{int(m.group(1)):03d}", label), []).append(f)
    return groups


def convert(dataset: str, src, out) -> dict:
    """Convert one dataset; returns counts (files written, duplicates dropped, skipped)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: one of {', '.join(DATASETS)}")
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise FileNotFoundError(f"source folder not found: {src}")
    groups = _listing(dataset, src)
    if not groups:
        raise FileNotFoundError(f"no {dataset} signature files in {src}")
    reader = read_svc if dataset == "svc2004" else read_susig
    written = dupes = skipped = 0
    writers = set()

    def sort_key(p: Path):
        return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", str(p))]

    for (writer, label), files in sorted(groups.items()):
        unique = dedupe(files)
        dupes += len(files) - len(unique)
        d = out / writer / label
        for f in sorted(unique, key=sort_key):
            strokes = reader(f)
            if sum(len(s) for s in strokes) < 10:
                skipped += 1
                continue
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{f.stem}.json").write_text(json.dumps(_to_json(strokes), separators=(",", ":")))
            written += 1
            writers.add(writer)
    return {"dataset": dataset, "out": str(out), "writers": len(writers), "files": written, "duplicates_dropped": dupes,
            "skipped_too_short": skipped}  # fmt: skip


_USER_FOLDER = re.compile(r"(svc2004|susig_visual|susig_blind)_u(\d+)$")


def test_user_folders(folder) -> list[Path]:
    """The user folders of a converted folder that belong to test users (``ml.data.is_test_writer``:
    SVC2004 31-40, SUSIG visual 101-115, every SUSIG blind user), which no fit or choice may use."""
    from ml.data import is_test_writer

    found = []
    for w in sorted(Path(folder).iterdir()):
        m = _USER_FOLDER.match(w.name)
        if m and is_test_writer({"svc2004": "svc2004_task2"}.get(m.group(1), m.group(1)), f"user_{m.group(2)}"):
            found.append(w)
    return found
