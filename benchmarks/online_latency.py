"""What online scoring adds to one verification, on one CPU thread, with 5 references.

    python benchmarks/online_latency.py --data DIR [--iters 200] [--json]

DIR is a stroke-JSON writer folder (``python -m ml convert-online``). For each iteration a
writer's 5 references are already templates (as an enrollment stores them) and one query
is timed end to end: feature extraction (timing repair, resampling, features), DTW against
the 5 references, the query's global features, and the calibrated score. Reported: p50 / p90 wall clock and thread CPU
time in ms, and the query and reference lengths in frames.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.features import extract
from ml.online.verifier import fit_online, load_params, online_features, online_score, uses_paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    params = load_params()
    samples, _ = scan_stroke_writers(a.data)
    by = StrokeScorer(samples, params).by_writer()
    writers = sorted(w for w, d in by.items() if len(d["genuine"]) >= 6)
    rng = np.random.default_rng(0)
    wall, cpu, qlen, rlen = [], [], [], []
    smp = StrokeScorer(samples, params).samples
    for it in range(a.iters):
        w = writers[it % len(writers)]
        g = rng.permutation(by[w]["genuine"])
        refs = [extract(smp[i].strokes, params.rate_hz) for i in g[:5]]
        wd = fit_online(refs, params.window, params.channels, params.rate_hz, paths=uses_paths(params.features))
        query = smp[g[5]].strokes
        t0, c0 = time.perf_counter(), time.thread_time()
        q = extract(query, params.rate_hz)
        f = online_features(wd, refs, [q], params.window, params.channels, params.features, params.globals, params.rate_hz)
        s = online_score(params, f)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        qlen.append(len(q.frames))
        rlen.extend(len(r.frames) for r in refs)
        assert np.isfinite(s).all()
    ms = lambda v, p: round(float(np.percentile(v, p)) * 1000, 2)
    res = {"data": str(Path(a.data)), "iters": a.iters, "references": 5, "params": params.to_dict(),
           "wall_ms": {"p50": ms(wall, 50), "p90": ms(wall, 90)}, "thread_cpu_ms": {"p50": ms(cpu, 50), "p90": ms(cpu, 90)},
           "query_frames_p50": float(np.median(qlen)), "reference_frames_p50": float(np.median(rlen))}  # fmt: skip
    print(json.dumps(res, indent=2) if a.json else res)


if __name__ == "__main__":
    main()
