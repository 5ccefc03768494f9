"""1:N identification at scale: index build time, memory, latency and recall@10 on synthetic vectors.

    python benchmarks/identify_scale.py --n 1000000 --engine embedded --threads 1 --json out.json
    python benchmarks/identify_scale.py --n 1000000 --engine pgvector --threads 1 --json out.json

One template per customer, of the shipped model's dimension (512). The vectors are shaped
like the shipped model's embeddings of validation writers: writer centres drawn from an
anisotropic Gaussian with about 45 effective dimensions (two different writers' cosine
0.01 +- 0.14, as measured), each template and each query the writer centre plus noise of
the same shape (two signatures of one writer: cosine about 0.51, as measured).

Engines: ``embedded`` is ``ml.index.VectorIndex`` (FAISS IVF above 50,000 vectors);
``pgvector`` is PostgreSQL with the pgvector extension, started in a temporary folder by
``pgserver`` (requirements-dev.txt; ``benchmarks/identify_scale_pg.py``: ``--pg-method``,
``--pg-index``, ``--rerank``). For each search setting in ``--probes`` (cells scanned per query)
the sweep records p50/p95 latency of single-query searches and recall@10 against exact
search; the top-level keys are those of the first setting reaching recall@10 >= 0.99 (the
last setting if none does). ``p50_ms_with_rescoring`` adds fetching the short list's
packed writer parameters (synthetic, ``ml.writer_pack``, from a memory-mapped file as
from a table) and ``Engine.identify``'s vectorised re-scoring with the shipped model.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DIM = 512
# Matched to the shipped model's validation embeddings (benchmarks/identify_scale.py --stats):
# two genuine signatures of one writer have cosine 0.51 on average, two different writers'
# 0.01 with standard deviation 0.14: about 45 effective dimensions (measured: 0.13 at 52).
PARTICIPATION = 45.0
SIGMA_SIGNATURE = 0.98  # same-writer cosine about 1 / (1 + 0.98^2) = 0.51


def rss_mb() -> float:
    """Anonymous resident memory (not the memory-mapped parameter table's file pages)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:")) / 1024


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def spectrum(dim: int = DIM, participation: float = PARTICIPATION) -> np.ndarray:
    """Per-axis standard deviations, power-law decaying, with this participation ratio
    ((sum of variances)^2 / sum of squared variances: the effective number of dimensions)."""
    i = np.arange(1, dim + 1, dtype=np.float64)
    lo, hi = 0.0, 4.0
    for _ in range(60):  # bisection on the decay exponent
        a = (lo + hi) / 2
        lam = i**-a
        lo, hi = (a, hi) if lam.sum() ** 2 / (lam**2).sum() > participation else (lo, a)
    lam = i ** -((lo + hi) / 2)
    return np.sqrt(lam / lam.sum()).astype(np.float32)


def make_data(n: int, n_queries: int, seed: int):
    """(templates (n, DIM), query customer ids (Q,), queries (Q, DIM)), built in chunks:
    writer centres drawn from an anisotropic Gaussian (``spectrum``), each signature its
    writer's centre plus noise of the same shape scaled by ``SIGMA_SIGNATURE``."""
    rng = np.random.default_rng(seed)
    sd = spectrum()
    qids = np.sort(rng.choice(n, n_queries, replace=False))
    db = np.empty((n, DIM), np.float32)
    queries = np.empty((n_queries, DIM), np.float32)
    for lo in range(0, n, 65536):
        hi = min(n, lo + 65536)
        writer = rng.standard_normal((hi - lo, DIM), np.float32) * sd
        db[lo:hi] = unit(writer + SIGMA_SIGNATURE * rng.standard_normal((hi - lo, DIM), np.float32) * sd)
        sel = (qids >= lo) & (qids < hi)
        w = writer[qids[sel] - lo]
        queries[sel] = unit(w + SIGMA_SIGNATURE * rng.standard_normal(w.shape, np.float32) * sd)
    return db, qids, queries


def exact_top(db: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_i = np.zeros((len(queries), k), np.int64)
    for lo in range(0, len(db), 65536):
        s = queries @ db[lo : lo + 65536].T
        s_all = np.concatenate([best_s, s], 1)
        i_all = np.concatenate([best_i, np.arange(lo, lo + s.shape[1])[None].repeat(len(queries), 0)], 1)
        top = np.argpartition(-s_all, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s_all, top, 1), np.take_along_axis(i_all, top, 1)
    return best_i


def packed_params(n: int, db: np.ndarray, folder: str, seed: int):
    """A memory-mapped (n, blob) table of synthetic packed writer parameters (one reference)."""
    from ml import writer_pack

    rng = np.random.default_rng(seed + 1)
    wd0 = {"n_refs": 1, "svm_w": np.zeros(DIM, np.float32), "svm_b": -1.0, "self_sim": None, "model_version": "synthetic"}
    size = len(writer_pack.pack(wd0))
    table = np.lib.format.open_memmap(os.path.join(folder, "params.npy"), "w+", np.uint8, (n, size))
    head = np.frombuffer(writer_pack.pack(wd0)[: size - 4 * DIM], np.uint8)
    for lo in range(0, n, 65536):
        hi = min(n, lo + 65536)
        w = 2.0 * db[lo:hi] + 0.3 * rng.standard_normal((hi - lo, DIM), np.float32) / np.sqrt(DIM)
        table[lo:hi, : len(head)] = head
        table[lo:hi, len(head) :] = w.astype("<f4").view(np.uint8)
    table.flush()
    return table


def timed_searches(search, queries: np.ndarray, k: int, truth: np.ndarray, own: np.ndarray) -> dict:
    """Latency and recall@k against exact search; ``own_recall``: of the queries whose own
    customer's template is in the exact top k, the fraction for which the index finds it too."""
    times, recall, own_found = [], [], []
    for q, t, o in zip(queries, truth, own, strict=True):
        t0 = time.perf_counter()
        ids = search(q, k)
        times.append(time.perf_counter() - t0)
        recall.append(len(set(ids.tolist()) & set(t.tolist())) / k)
        if o in t:
            own_found.append(o in ids)
    ms = np.array(times) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "recall_at_10": float(np.mean(recall)),
        "own_recall": float(np.mean(own_found)) if own_found else float("nan"),
    }


def rescoring(fetch, engine, params, queries: np.ndarray, shortlist: int) -> dict:
    """Index search for the short list + packed parameters + Engine.identify, per query."""
    from ml import writer_pack

    times = []
    for q in queries:
        t0 = time.perf_counter()
        ids, refs = fetch(q, shortlist)
        wds = {int(i): writer_pack.unpack(params[i].tobytes(), r[None]) for i, r in zip(ids, refs, strict=True)}
        engine.identify(q, wds, top_k=5)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return {"p50_ms_with_rescoring": float(np.percentile(ms, 50)), "p95_ms_with_rescoring": float(np.percentile(ms, 95))}


def pick(sweep: list[dict]) -> dict:
    return next((s for s in sweep if s["recall_at_10"] >= 0.99), sweep[-1])


def run_embedded(a, db, queries, truth, qids, engine, params) -> dict:
    from ml.index import VectorIndex

    before = rss_mb()
    t0 = time.perf_counter()
    index = VectorIndex(DIM, kind=a.kind)
    index.add(np.arange(len(db)), db)
    build_s = time.perf_counter() - t0
    out = {
        "build_s": build_s,
        "memory_mb": rss_mb() - before,
        "index_mb": index.nbytes / 2**20,
        "backend": index.backend,
        "cells": index.nlist,
    }
    sweep = []
    for p in a.probes if index.backend == "ivf" else [0]:
        index.nprobe = p or None
        r = timed_searches(lambda q, k: index.search(q, k)[0][0], queries, a.k, truth, qids)
        sweep.append({"probes": p, **r})
        print(json.dumps(sweep[-1]), flush=True)
    best = pick(sweep)
    index.nprobe = best["probes"] or None

    def fetch(q, k):
        ids = index.search(q, k)[0][0]
        return ids, db[ids]

    return {**out, **best, "sweep": sweep, **rescoring(fetch, engine, params, queries[: a.rescore_queries], a.shortlist)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--engine", choices=["embedded", "pgvector"], required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", required=True)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--rescore-queries", type=int, default=300)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--shortlist", type=int, default=20, help="candidates re-scored per query")
    p.add_argument("--probes", default="8,16,32,64,128", help="cells scanned per query, swept")
    p.add_argument("--lists", type=int, default=0, help="pgvector IVFFlat lists (default 2 sqrt(n))")
    p.add_argument("--kind", default="auto", help="embedded: VectorIndex kind")
    p.add_argument("--shared-buffers", default="3GB", help="pgvector: PostgreSQL shared_buffers ('' keeps its default, 128MB)")
    p.add_argument(
        "--pg-index", default="vector", choices=["vector", "halfvec", "bq", "prefix", "simhash"], help="pgvector index"
    )
    p.add_argument("--pg-method", default="ivfflat", choices=["ivfflat", "hnsw"], help="pgvector index method")
    p.add_argument("--hnsw-m", type=int, default=16, help="pgvector hnsw: links per node")
    p.add_argument("--hnsw-ef-construction", type=int, default=64, help="pgvector hnsw: candidates while building")
    p.add_argument("--rerank", type=int, default=1000, help="pgvector bq/prefix: candidates re-ranked exactly")
    p.add_argument("--prefix-dims", type=int, default=128, help="pgvector prefix: leading coordinates indexed")
    p.add_argument("--simhash-bits", type=int, default=1024, help="pgvector simhash: random hyperplanes (code length)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    a.probes = [int(x) for x in a.probes.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so a stopped run still stops its PostgreSQL
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import faiss
    import torch

    from ml.engine import Engine

    faiss.omp_set_num_threads(a.threads)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    db, qids, queries = make_data(a.n, a.queries, a.seed)
    truth = exact_top(db, queries, a.k)
    top1_own = float(np.mean(truth[:, 0] == qids))
    print(f"data and exact search: {time.perf_counter() - t0:.0f} s; own template first in {top1_own:.3f}", flush=True)
    engine = Engine.load()
    with tempfile.TemporaryDirectory(prefix="identify_scale_") as folder:
        params = packed_params(a.n, db, folder, a.seed)
        if a.engine == "embedded":
            res = run_embedded(a, db, queries, truth, qids, engine, params)
        else:
            from identify_scale_pg import run_pgvector

            res = run_pgvector(a, db, queries, truth, qids, engine, params, folder, sys.modules[__name__])
        del params
    report = {"n": a.n, "dim": DIM, "engine": a.engine, "threads": a.threads, "queries": a.queries, "exact_top1_own": top1_own}
    report.update(res)
    Path(a.json).write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "sweep"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
