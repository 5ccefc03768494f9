"""What pen dynamics add to one verification in the app, on one CPU thread (facade path).

    python benchmarks/online_app_latency.py --data DIR [--iters 200] [--json]

DIR is a stroke-JSON writer folder (``python -m ml convert-online``; validation users). Per
iteration, a writer's 5 genuine signatures are stored the way the app stores pad references
(``verification.ml_engine.online_template``: float16 bytes), and one more genuine signature
is the query. Timed: ``verification.ml_engine.online_score`` as ``verification_score`` calls
it: the query's timing repair, resampling and features, unpacking the 5 stored templates,
the writer's DTW scale (10 reference pairs), DTW of the query against the 5 references, the
online and fused scores, and the replay distances; ``online_cached_writer_ms`` times the
same call with the writer's scale passed back (the app caches it per reference set). For comparison, the image part of the
same verification (prepare + embed + score of the rendered strokes, ``engine.prepare``,
``engine.embed``, ``engine.verify``) is timed on the same queries. Reported: p50 / p90 wall
clock and thread CPU time in ms.
"""

import argparse
import json
import os
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigweb.settings")
    os.environ.setdefault("SIGWEB_TORCH_THREADS", "1")
    import django

    django.setup()
    import numpy as np
    import torch

    from verification import ml_engine

    torch.set_num_threads(1)
    engine = ml_engine.engine_get(None)
    writers = sorted(w for w in Path(a.data).iterdir() if len(list((w / "genuine").glob("*.json"))) >= 6)
    rng = np.random.default_rng(0)
    online, cached, image = {"wall": [], "cpu": []}, {"wall": [], "cpu": []}, {"wall": [], "cpu": []}
    for it in range(a.iters):
        w = writers[it % len(writers)]
        files = sorted((w / "genuine").glob("*.json"))
        pick = rng.permutation(len(files))[:6]
        sigs = [json.loads(files[i].read_text()) for i in pick]
        stored = [ml_engine.online_template(engine, s) for s in sigs[:5]]
        wd = engine.fit_writer(engine.embed(sigs[:5]))
        t0, c0 = time.perf_counter(), time.thread_time()
        res = engine.verify(wd, engine.embed([engine.prepare(sigs[5])])[0])
        t1, c1 = time.perf_counter(), time.thread_time()
        out = ml_engine.online_score(engine, references=stored, query_strokes=sigs[5], image_score=res["score"])
        t2, c2 = time.perf_counter(), time.thread_time()
        again = ml_engine.online_score(
            engine, references=stored, query_strokes=sigs[5], image_score=res["score"], writer=out["writer"]
        )
        t3, c3 = time.perf_counter(), time.thread_time()
        assert np.isfinite(out["fused"]) and again["fused"] == out["fused"]
        cached["wall"].append(t3 - t2)
        cached["cpu"].append(c3 - c2)
        image["wall"].append(t1 - t0)
        image["cpu"].append(c1 - c0)
        online["wall"].append(t2 - t1)
        online["cpu"].append(c2 - c1)
    ms = lambda v, p: round(float(np.percentile(v, p)) * 1000, 2)
    summary = lambda d: {k: {"p50": ms(v, 50), "p90": ms(v, 90)} for k, v in d.items()}
    res = {"data": str(Path(a.data)), "iters": a.iters, "references": 5, "model": engine.model_version,
           "online_ms": summary(online), "online_cached_writer_ms": summary(cached), "image_ms": summary(image)}  # fmt: skip
    print(json.dumps(res, indent=2) if a.json else res)


if __name__ == "__main__":
    main()
