"""Image-only, online-only and fused EER on stroke-JSON test folders, 5 references, seeds 0..4.

    python benchmarks/online_suite.py --data cache/splits/svc2004_test cache/splits/susig_visual_test \\
        cache/splits/susig_blind_test [--references R] [--params TABLE.json] [--json docs/results/online_suite.json]
        [--also-params EARLIER.json]

Each number is what ``python -m ml evaluate --data DIR --decision D --seed S`` reports
(``ml.online.evaluate.evaluate_strokes``, the same function); the script only keeps one
scorer per folder, so DTW distances and image embeddings are computed once for all seeds
and decisions instead of 15 times. ``--also-params`` scores the folders again with another table
of the same models (e.g. the one before a change of operating points), reusing the distances and
embeddings, and reports it under ``"also"``.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from ml.engine import Engine
from ml.online.evaluate import StrokeScorer, evaluate_strokes, scan_stroke_writers
from ml.online.verifier import load_params

DECISIONS = ("image", "online", "fused")


def _suite(d: str, scorer: StrokeScorer, a) -> dict:
    res = {}
    for dec in DECISIONS:
        reps = [evaluate_strokes(d, a.references, s, decision=dec, scorer=scorer) for s in a.seeds]
        res[dec] = {
            "eer_global_mean": float(np.mean([r["eer_global"] for r in reps])),
            "eer_global_std": float(np.std([r["eer_global"] for r in reps])),
            "eer_user_mean": float(np.mean([r["eer_user"] for r in reps])),
            "eer_global_random_mean": float(np.mean([r["eer_global_random"] for r in reps])),
            "auc_mean": float(np.mean([r["auc"] for r in reps])),
            "at_threshold_mean": {
                k: float(np.mean([r["at_threshold"][k] for r in reps])) for k in ("frr", "far_skilled", "far_random")
            },
            "per_seed": [r["eer_global"] for r in reps],
        }
    res["n_writers"] = reps[0]["n_writers"]
    res["n_genuine_queries"] = reps[0]["n_genuine"]
    res["n_skilled"] = reps[0]["n_skilled"]
    res["skipped_files"] = scorer.skipped
    eers = {k: round(res[k]["eer_global_mean"] * 100, 2) for k in DECISIONS}
    points = {k: {m: round(100 * v, 2) for m, v in res[k]["at_threshold_mean"].items()} for k in ("online", "fused")}
    print(Path(d).name, eers, points, flush=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--references", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--params", help="an online parameter table other than ml/online/params.json (e.g. an earlier one)")
    ap.add_argument("--also-params", help="a second table with the same models: scored on the same distances")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    engine = Engine.load()
    params = load_params(engine.model_version, **({"path": a.params} if a.params else {}))
    out = {"model": engine.model_version, "params": params.to_dict(), "references": a.references, "seeds": a.seeds, "sets": {}}
    also = load_params(engine.model_version, path=a.also_params) if a.also_params else None
    if also is not None:
        out["also"] = {"params": also.to_dict(), "sets": {}}
    for d in a.data:
        samples, skipped = scan_stroke_writers(d)
        scorer = StrokeScorer(samples, params, engine)
        scorer.skipped = skipped + scorer.skipped
        out["sets"][Path(d).name] = _suite(d, scorer, a)
        if also is not None:
            scorer.params = also
            out["also"]["sets"][Path(d).name] = _suite(d, scorer, a)
    text = json.dumps(out, indent=2)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
