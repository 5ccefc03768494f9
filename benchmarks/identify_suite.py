"""``python -m ml identify`` over several seeds and folders in one process (embeddings reused).

    python benchmarks/identify_suite.py --data cache/test/cedar cache/test/bhsig_bengali \\
        cache/test/sigcomp2011_dutch --references 5 --unenrolled 3 --seeds 0 1 2 3 4 --json out.json

Each folder's report per seed is exactly what ``python -m ml identify --data DIR --seed S``
prints; the summary gives the mean and standard deviation over seeds of each rate. Folders
of stroke JSON (pad signatures) are re-scored as ``--decision`` says (default: as a
verification decides, fused with pen dynamics for 3 or more pad references).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KEYS = ("top1", "top5", "match_rate", "wrong_match", "ambiguous_rate", "false_match", "impostor_accepted", "forgery_any_match")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", nargs="+", required=True)
    p.add_argument("--references", type=int, default=5)
    p.add_argument("--unenrolled", type=int, default=3)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--shortlist", type=int, default=20)
    p.add_argument("--decision", default="auto", choices=["auto", "image", "online", "fused"], help="stroke-JSON folders only")
    p.add_argument("--model")
    p.add_argument("--json", required=True)
    a = p.parse_args(argv)
    import torch

    from ml import identify_eval
    from ml.engine import Engine

    torch.set_num_threads(1)
    engine = Engine.load(a.model)
    out = {"model_version": engine.model_version, "references": a.references, "unenrolled": a.unenrolled, "sets": {}}
    out["decision"] = a.decision
    protocol = dict(references=a.references, unenrolled=a.unenrolled, shortlist=a.shortlist)
    for data in a.data:
        runs = [identify_eval.report(data, engine, s, decision=a.decision, **protocol) for s in a.seeds]
        summary = {k: {"mean": float(np.mean([r[k] for r in runs])), "std": float(np.std([r[k] for r in runs]))} for k in KEYS}
        out["sets"][data] = {
            "n_writers": runs[0]["n_writers"],
            "margin": runs[0]["margin"],
            "decision_path": runs[0]["decision_path"],
            "summary": summary,
            "runs": runs,
        }
        print(data, json.dumps({k: round(v["mean"], 4) for k, v in summary.items()}), flush=True)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
