"""Global-threshold EER with and without cleaning, mean over protocol seeds.

    .venv/bin/python -m ml overlay --data cache/splits/cedar_test --out cache/overlay/cedar_test --seed 0
    .venv/bin/python benchmarks/cleaner_eer.py --data cache/splits/cedar_test cache/overlay/cedar_test \\
        --cleaner none sigweb-clean-1 --references 10 --seeds 0 1 2 3 4 --json docs/results/cleaner_cedar.json

For each folder and each cleaner (an ``ml.cleaner`` version or ``none``) it runs
``ml.evaluate.evaluate`` (the code behind ``python -m ml evaluate``) for every seed and
reports the mean and standard deviation of ``eer_global`` in percent. One CPU thread.
"""

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from ml import cleaner as cleaning
from ml.evaluate import evaluate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--cleaner", nargs="+", default=["none", "sigweb-clean-1"])
    ap.add_argument("--references", type=int, default=10)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--model", help="embedding checkpoint (default: the shipped model)")
    ap.add_argument("--weights", nargs="*", default=[], help="candidate cleaner weights, each usable by its version in --cleaner")
    ap.add_argument("--gate", type=float, help="override the cleaners' gate (0: clean every image, the cleaner before the gate)")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    for w in a.weights:
        cleaning.register(w)
    if a.gate is not None:  # the loaded cleaner is shared by every Engine of this process
        for c in a.cleaner:
            if c != "none":
                cleaning.get(c).gate = a.gate
    rows = []
    for data in a.data:
        for cleaner in a.cleaner:
            eers = [
                100 * evaluate(data, references=a.references, seed=s, model=a.model, cleaner=cleaner)["eer_global"]
                for s in a.seeds
            ]
            gate = None if cleaner == "none" else cleaning.get(cleaner).gate
            row = {"data": data, "cleaner": cleaner, "gate": gate, "references": a.references, "seeds": a.seeds,
                   "eer_global_mean": round(statistics.mean(eers), 2),
                   "eer_global_std": round(statistics.stdev(eers), 2) if len(eers) > 1 else 0.0,
                   "eer_global": [round(e, 2) for e in eers]}  # fmt: skip
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    text = json.dumps(rows, indent=2)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
