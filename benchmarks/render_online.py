"""Render the online (pen-tablet) test users as signature images, the way a pad drawing is.

    python benchmarks/render_online.py [--root ../shared/data/online] [--out cache/online]

Each signature's points go through ``ml.preprocess.render_strokes``, the same path a
customer's signature_pad strokes take, into ``OUT/<set>/<user>/{genuine,forged}/NN.png``.
By default only test users are written (``../shared/data/README.md``): SVC2004 task 2
users 31-40, SUSIG visual users 101-115 and all of SUSIG blind (a different tablet).
``--train`` writes the others instead (SVC2004 1-30, SUSIG visual 1-100) for training. Exact duplicate
files are dropped; timestamps are not used for rendering, so SUSIG's clock glitches do
not matter here.
"""

import argparse
import re
from pathlib import Path

from PIL import Image

from ml.online import convert
from ml.preprocess import render_strokes


def _canvas_strokes(strokes):
    """``ml.online.convert``'s strokes (tablet y upwards) as pad points (y downwards)."""
    return [[[x, -y, t, p] for x, y, t, p in s.tolist()] for s in strokes]


def read_svc(path):
    return _canvas_strokes(convert.read_svc(path))


def read_susig(path):
    return _canvas_strokes(convert.read_susig(path))


def _write(out: Path, user: str, label: str, strokes_list):
    d = out / user / label
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for strokes in strokes_list:
        if sum(len(s) for s in strokes) < 10:
            continue
        Image.fromarray(render_strokes(strokes), "L").save(d / f"{n + 1:02d}.png")
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="../shared/data/online")
    ap.add_argument("--out", default="cache/online")
    ap.add_argument(
        "--train", action="store_true", help="render the NON-test users instead (training data; ml.data drops test users anyway)"
    )
    a = ap.parse_args()
    root, out = Path(a.root), Path(a.out)
    svc = root / "svc2004_task2"
    if svc.is_dir():
        for u in range(1, 31) if a.train else range(31, 41):
            files = {s: svc / f"U{u}S{s}.TXT" for s in range(1, 41)}
            gen = [read_svc(f) for s, f in files.items() if s <= 20 and f.exists()]
            forg = [read_svc(f) for s, f in files.items() if s > 20 and f.exists()]
            _write(out / "svc2004_task2", f"user_{u:03d}", "genuine", gen)
            _write(out / "svc2004_task2", f"user_{u:03d}", "forged", forg)
        print(out / "svc2004_task2", "written")
    parts = (("visual", range(1, 101)),) if a.train else (("visual", range(101, 116)), ("blind", None))
    for part, users in parts:
        base = root / "susig" / part
        if not base.is_dir():
            continue
        by_user: dict[int, dict[str, list]] = {}
        for f in base.rglob("*.sig"):
            m = re.match(r"(\d+)_([0-9gf])_", f.name)
            if not m:
                continue
            u = int(m.group(1))
            if users is not None and u not in users:
                continue
            label = "forged" if m.group(2) == "f" or "FORGERY" in f.parts else "genuine"
            by_user.setdefault(u, {"genuine": [], "forged": []})[label].append(f)
        for u, d in sorted(by_user.items()):
            for label, files in d.items():
                _write(out / f"susig_{part}", f"user_{u:03d}", label, [read_susig(f) for f in convert.dedupe(files)])
        print(out / f"susig_{part}", len(by_user), "users written")


if __name__ == "__main__":
    main()
