"""Fix the replay tolerance and the pace bounds of pad signatures on validation users.

    python benchmarks/online_replay_fit.py --val DIR [DIR ...] [--json docs/results/online_replay_fit.json] [--write-params]

The folders are stroke-JSON writer folders (``python -m ml convert-online``) of validation
users ONLY (SVC2004 1-30, SUSIG visual 1-100; test users are refused). Per writer (seed 0):
5 genuine references, the other genuine signatures as queries.

* Replay: each genuine query's smallest lockstep distance to the references
  (``ml.online.replay.replay_distance``) against replayed copies of the references
  (``replay_copy``: moved, scaled, shifted in time, jittered by 0.5% of the size and 2 ms,
  at 100%, 50% and 33% of the points). ``fit_tolerance`` picks the tolerance.
* Pace: each genuine query's duration and pen-down speed divided by the references'
  median; the 0.5th and 99.5th percentiles bound a consistent sample.

``--write-params`` stores ``replay_tolerance``, ``pace_duration`` and ``pace_speed`` in every
entry of ``ml/online/params.json``.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from ml.online.convert import test_user_folders
from ml.online.features import extract
from ml.online.pad import pace
from ml.online.replay import fit_tolerance, replay_copy, replay_distance
from ml.online.verifier import PARAMS_PATH, load_params


def _check_no_test_users(folder: Path):
    found = test_user_folders(folder)
    if found:
        raise SystemExit(f"{found[0]}: a test user; give validation users only")


def writer_rows(wdir: Path, rate_hz: float, rng) -> dict:
    files = sorted((wdir / "genuine").glob("*.json"))
    order = np.random.default_rng(0).permutation(len(files))
    strokes = [json.loads(files[i].read_text()) for i in order]
    refs, queries = strokes[:5], strokes[5:]
    rt = [extract(s, rate_hz) for s in refs]
    gen = [min(replay_distance(extract(q, rate_hz), r) for r in rt) for q in queries]
    rep = [
        replay_distance(extract(replay_copy(s, rng, keep=keep), rate_hz), r)
        for s, r in zip(refs, rt)
        for keep in (1.0, 0.5, 0.34)
    ]
    rp = [pace(s) for s in refs]
    med_d = float(np.median([p["duration_ms"] for p in rp]))
    med_s = float(np.median([p["speed"] for p in rp]))
    qp = [pace(q) for q in queries]
    return {
        "genuine": gen,
        "replay": rep,
        "dur": [p["duration_ms"] / med_d for p in qp],
        "speed": [p["speed"] / med_s for p in qp],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val", nargs="+", required=True)
    ap.add_argument("--json")
    ap.add_argument("--write-params", action="store_true")
    a = ap.parse_args()
    params = load_params()
    rng = np.random.default_rng(0)
    acc = {"genuine": [], "replay": [], "dur": [], "speed": []}
    for f in a.val:
        _check_no_test_users(Path(f))
        for w in sorted(p for p in Path(f).iterdir() if p.is_dir()):
            if len(list((w / "genuine").glob("*.json"))) < 6:
                continue
            for k, v in writer_rows(w, params.rate_hz, rng).items():
                acc[k].extend(v)
    fit = fit_tolerance(np.array(acc["genuine"]), np.array(acc["replay"]))
    pct = lambda v: [round(float(np.percentile(v, 0.5)), 3), round(float(np.percentile(v, 99.5)), 3)]
    out = {
        "validation": [str(f) for f in a.val],
        "genuine_queries": len(acc["genuine"]),
        "replayed_copies": len(acc["replay"]),
        "replay": fit,
        "pace_duration": pct(acc["dur"]),
        "pace_speed": pct(acc["speed"]),
    }
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")
    if a.write_params:
        table = json.loads(PARAMS_PATH.read_text())
        for entry in table.values():
            entry["replay_tolerance"] = round(fit["tolerance"], 4)
            entry["pace_duration"] = out["pace_duration"]
            entry["pace_speed"] = out["pace_speed"]
        PARAMS_PATH.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
