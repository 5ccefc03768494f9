"""FAISS HNSW alone on the vectors of benchmarks/identify_scale.py: recall@10 and latency per efSearch.

PYTHONPATH=benchmarks .venv/bin/python research/2026-12-01-faiss-hnsw/hnsw.py N M EF_CONSTRUCTION
"""

import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from identify_scale import exact_top, make_data


def main():
    n, m, efc = (int(x) for x in sys.argv[1:4])
    db, _, q = make_data(n, 300, 0)
    truth = exact_top(db, q, 10)
    faiss.omp_set_num_threads(2)
    idx = faiss.IndexHNSWFlat(512, m, faiss.METRIC_INNER_PRODUCT)
    idx.hnsw.efConstruction = efc
    t = time.time()
    idx.add(db)
    print("build", round(time.time() - t, 1), flush=True)
    faiss.omp_set_num_threads(1)
    for ef in (128, 256, 512, 1024, 2048, 4096):
        idx.hnsw.efSearch = ef
        lat, hits = [], 0
        for i in range(len(q)):
            t = time.perf_counter()
            _, found = idx.search(q[i : i + 1], 10)
            lat.append(time.perf_counter() - t)
            hits += len(set(found[0]) & set(truth[i]))
        p50, p95 = np.median(lat) * 1e3, np.percentile(lat, 95) * 1e3
        print(f"{ef} p50 {p50:.1f} p95 {p95:.1f} recall {hits / (10 * len(q)):.4f}", flush=True)


if __name__ == "__main__":
    main()
