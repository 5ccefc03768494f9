"""What cleaning adds to preparing one scanned signature, one CPU thread.

    .venv/bin/python benchmarks/cleaner_latency.py --data ../shared/data/signatures/cedar --writers 260 269 --n 60 --json

Takes ``--n`` genuine signatures of the given (non-test) writers, as PNG bytes, clean and
with ``ml.overlay`` material drawn over them, and times ``Engine.prepare`` (decode, cleaning,
preprocessing) with the shipped cleaner and with cleaning off. Thread CPU time and wall clock.
``same_as_trained_net``: of the same images, how many the cleaner (which runs a folded,
channels-last twin of its network) cleans to exactly what the trained network gives.
"""

import argparse
import io
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from PIL import Image

from ml import overlay as ov
from ml.data import is_test_writer
from ml.engine import Engine


def _png(arr) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _pct(v, q):
    s = sorted(v)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/signatures/cedar")
    ap.add_argument("--writers", nargs=2, type=int, default=[260, 269], help="first and last writer number")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    files = []
    for w in range(a.writers[0], a.writers[1] + 1):
        wdir = next((d for d in (Path(a.data) / f"writer_{w}", Path(a.data) / f"writer_{w:03d}") if d.is_dir()), None)
        if wdir is None:
            continue
        if is_test_writer(Path(a.data).name, wdir.name):
            raise SystemExit(f"{wdir}: a test writer; time non-test writers only")
        files += sorted((wdir / "genuine").glob("*.png"))[:3]
    files = files[: a.n]
    material = ov.load_pages(ov.Material(ov.EVAL.name, ov.EVAL.fonts))
    clean = [Path(f).read_bytes() for f in files]
    noisy = [
        _png(ov.overlay(np.asarray(Image.open(f).convert("L")), np.random.default_rng(i), material)[0])
        for i, f in enumerate(files)
    ]
    out = {"n": len(files), "threads": torch.get_num_threads()}
    for cleaner in ("none", None):
        engine = Engine.load(cleaner=cleaner)
        engine.prepare(clean[0])  # warm up
        for name, items in (("clean", clean), ("overlay", noisy)):
            cpu, wall = [], []
            for b in items:
                c0, w0 = time.thread_time(), time.perf_counter()
                engine.prepare(b)
                cpu.append(1000 * (time.thread_time() - c0))
                wall.append(1000 * (time.perf_counter() - w0))
            out[f"{engine.cleaner_version}/{name}"] = {
                "cpu_ms_p50": round(statistics.median(cpu), 1), "cpu_ms_p90": round(_pct(cpu, 0.9), 1),
                "wall_ms_p50": round(statistics.median(wall), 1), "wall_ms_p90": round(_pct(wall, 0.9), 1),
            }  # fmt: skip
        if engine.cleaner is not None:
            out["same_as_trained_net"] = same_as_trained_net(engine.cleaner, clean + noisy)
    print(json.dumps(out, indent=2 if a.json else None))


def same_as_trained_net(cleaner, items: list[bytes]) -> str:
    """How many of ``items`` the cleaner, which runs a folded channels-last twin of its net,
    cleans to exactly the image the trained net itself gives: "k/n"."""
    trained = cleaner.as_trained()
    same = 0
    for b in items:
        gray = np.asarray(Image.open(io.BytesIO(b)).convert("L"))
        same += int(np.array_equal(cleaner(gray), trained(gray)))
    return f"{same}/{len(items)}"


if __name__ == "__main__":
    main()
