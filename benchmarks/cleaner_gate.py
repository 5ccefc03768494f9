"""The cleaner gate's measure (share of the ink the cleaner would erase) over folders of signatures.

    .venv/bin/python -m ml overlay --data cache/splits/cedar_val --out cache/overlay/cedar_val --seed 100
    .venv/bin/python benchmarks/cleaner_gate.py --clean cache/splits/cedar_val cache/splits/bhsig_val \\
        --overlay cache/overlay/cedar_val cache/overlay/bhsig_val --json docs/results/cleaner_gate_val.json

Every ``<writer>/{genuine,forged}/*.png`` goes through the same steps as ``ml.preprocess.prepare``
(decode, downscale to the working size) and ``ml.cleaner.Cleaner.measure``. Prints percentiles
of the measure on the clean and the overlaid images, the suggested gate (the ``--quantile``
of all clean values) and, for that gate and a few others, the share of clean images passed
through unchanged and of overlaid images still cleaned. Validation writers only. One CPU thread.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from ml import cleaner as cleaning
from ml.preprocess import _maybe_downscale, load_image


def measures(cleaner, folder: str) -> list[float]:
    files = sorted(p for p in Path(folder).glob("*/*/*.png") if p.parent.name in ("genuine", "forged"))
    out = []
    for p in files:
        gray, rgb, _ = load_image(str(p), colour=cleaner.colour)
        out.append(cleaner.measure(_maybe_downscale(gray), None if rgb is None else _maybe_downscale(rgb)))
    return out


def summary(values: list[float]) -> dict:
    v = np.asarray(values)
    q = {f"p{k}": round(float(np.percentile(v, k)), 4) for k in (1, 5, 10, 50, 90, 95, 99)}
    return {"n": len(v), "min": round(float(v.min()), 4), **q, "max": round(float(v.max()), 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", nargs="+", required=True)
    ap.add_argument("--overlay", nargs="+", required=True)
    ap.add_argument("--quantile", type=float, default=99.0, help="percentile of the clean values that becomes the gate")
    ap.add_argument("--weights", help="candidate cleaner weights (default: the shipped cleaner)")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cleaner = cleaning.get(cleaning.register(a.weights) if a.weights else cleaning.DEFAULT_CLEANER)
    clean = {f: measures(cleaner, f) for f in a.clean}
    over = {f: measures(cleaner, f) for f in a.overlay}
    all_clean = np.concatenate([np.asarray(v) for v in clean.values()])
    gate = round(float(np.percentile(all_clean, a.quantile)), 3)
    candidates = sorted({gate, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3})
    table = []
    for g in candidates:
        row = {"gate": g}
        row.update({f"clean_passed:{f}": round(float(np.mean(np.asarray(v) < g)), 4) for f, v in clean.items()})
        row.update({f"overlay_cleaned:{f}": round(float(np.mean(np.asarray(v) >= g)), 4) for f, v in over.items()})
        table.append(row)
    result = {
        "cleaner": cleaner.version,
        "quantile": a.quantile,
        "suggested_gate": gate,
        "clean": {f: summary(v) for f, v in clean.items()},
        "overlay": {f: summary(v) for f, v in over.items()},
        "table": table,
    }
    text = json.dumps(result, indent=2)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")
    print(text, file=sys.stdout)


if __name__ == "__main__":
    main()
