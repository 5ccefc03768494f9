"""Milvus Lite 3.2.2 as issue 16's external engine: does a search's cost grow with the collection?

    .venv/bin/pip install milvus-lite==3.2.2 pymilvus==3.0.2     # research only, not a requirement
    PYTHONPATH=$PWD .venv/bin/python research/2026-12-01-milvus-lite/probe.py --n 20000 100000 200000 --json OUT

For each N: the synthetic vectors of ``benchmarks/identify_scale.py`` (one template per
customer), inserted into a local Milvus Lite collection (``MilvusClient`` on a ``.db`` folder,
the same client API as Milvus Standalone), an ``IVF_SQ8`` index (inner product, nlist
sqrt(N)*4 per segment as Milvus Lite builds it), then 100 single-vector searches with
``nprobe`` a third of the lists, timed; recall@10 against exact search.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.identify_scale import exact_top, make_data


def probe(n: int, queries: int, seed: int = 0) -> dict:
    from pymilvus import DataType, MilvusClient

    db, _, q = make_data(n, queries, seed)
    truth = exact_top(db, q, 10)
    with tempfile.TemporaryDirectory() as tmp:
        client = MilvusClient(str(Path(tmp) / "probe.db"))
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=db.shape[1])
        client.create_collection("t", schema=schema)
        t0 = time.perf_counter()
        for s in range(0, n, 10000):
            client.insert("t", [{"id": int(i), "vec": db[i].tolist()} for i in range(s, min(n, s + 10000))])
        insert_s = time.perf_counter() - t0
        nlist = int(4 * np.sqrt(n))
        params = client.prepare_index_params()
        params.add_index(field_name="vec", index_type="IVF_SQ8", metric_type="IP", params={"nlist": nlist})
        t0 = time.perf_counter()
        client.create_index("t", params)
        client.load_collection("t")
        build_s = time.perf_counter() - t0
        lat, hits = [], 0
        for i in range(len(q)):
            t0 = time.perf_counter()
            res = client.search("t", data=[q[i].tolist()], limit=10, search_params={"params": {"nprobe": max(1, nlist // 3)}})
            lat.append((time.perf_counter() - t0) * 1000)
            hits += len({int(h["id"]) for h in res[0]} & set(truth[i].tolist()))
        client.close()
    return {
        "n": n,
        "insert_s": round(insert_s, 1),
        "index_s": round(build_s, 1),
        "nlist": nlist,
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "recall_at_10": round(hits / (10 * len(q)), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[20000, 100000])
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    for n in a.n:
        rows.append(probe(n, a.queries))
        print(json.dumps(rows[-1]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"engine": "milvus-lite 3.2.2", "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
