"""The ``pgvector`` engine of ``benchmarks/identify_scale.py`` (PostgreSQL started by ``pgserver``).

``--pg-index`` chooses the index (pgvector 0.8, requirements-dev.txt):

- ``vector``: IVFFlat on the full ``vector(512)`` (inner product), read directly;
- ``halfvec``: IVFFlat on ``embedding::halfvec(512)`` (16-bit), read directly;
- ``bq``: IVFFlat on ``binary_quantize(embedding)::bit(512)`` (Hamming), proposing
  ``--rerank`` candidates re-ranked exactly on the stored full vectors in the same query;
- ``prefix``: IVFFlat on ``subvector(embedding, 1, --prefix-dims)::halfvec`` (inner product on
  the leading coordinates), ``--rerank`` candidates re-ranked exactly in the same query. The
  synthetic vectors' variance decays along the axes, so their leading coordinates are their
  principal ones; for a model's embeddings the column would hold a PCA projection instead;
- ``simhash``: HNSW or IVFFlat on a stored ``code bit(--simhash-bits)`` column, the signs of
  seeded random Gaussian projections of the embedding (Hamming distance estimates the angle),
  proposing ``--rerank`` candidates re-ranked exactly in the same query.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np


def _literal(v) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(v, np.float32).reshape(-1)) + "]"


def simhash_planes(dim: int, bits: int) -> np.ndarray:
    return np.random.default_rng(12345).standard_normal((dim, bits)).astype(np.float32)


def simhash_codes(vectors, planes: np.ndarray) -> list[str]:
    """The codes of (N, D) vectors (or one vector) as bit string literals."""
    signs = np.atleast_2d(np.asarray(vectors, np.float32)) @ planes > 0
    return ["".join("1" if b else "0" for b in row) for row in signs]


def index_sql(kind: str, dim: int, prefix: int) -> tuple[str, str, int]:
    """(CREATE INDEX's column and operator class, ORDER BY expression with one query parameter,
    dimension of the query parameter)."""
    if kind == "simhash":
        return "code bit_hamming_ops", "code <~> %s::varbit", dim
    if kind == "vector":
        return "embedding vector_ip_ops", "embedding <#> %s::vector", dim
    if kind == "halfvec":
        return f"(embedding::halfvec({dim})) halfvec_ip_ops", f"embedding::halfvec({dim}) <#> %s::halfvec({dim})", dim
    if kind == "bq":
        return (
            f"(binary_quantize(embedding)::bit({dim})) bit_hamming_ops",
            f"binary_quantize(embedding)::bit({dim}) <~> binary_quantize(%s::vector)",
            dim,
        )
    if kind == "prefix":
        col = f"subvector(embedding, 1, {prefix})::halfvec({prefix})"
        return f"({col}) halfvec_ip_ops", f"{col} <#> %s::halfvec({prefix})", prefix
    raise ValueError(kind)


def search_sql(kind: str, dim: int, prefix: int, rerank: int) -> tuple[str, int]:
    """(SELECT id, embedding ... with parameters (query for the index, [query for re-ranking,] k),
    the query dimension for the index). Re-ranking kinds read ``rerank`` candidates from the
    index and order them by exact inner product on the full vectors."""
    _, order, qdim = index_sql(kind, dim, prefix)
    if kind in ("vector", "halfvec"):
        return f"SELECT id, embedding FROM refs ORDER BY {order} LIMIT %s", qdim
    inner = f"SELECT id, embedding FROM refs ORDER BY {order} LIMIT {int(rerank)}"
    return f"SELECT id, embedding FROM ({inner}) c ORDER BY embedding <#> %s::vector LIMIT %s", qdim


def run_pgvector(a, db, queries, truth, qids, engine, params, folder, bench) -> dict:
    """``bench``: the identify_scale module (its timing and sweep helpers)."""
    import pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    dim = db.shape[1]
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its exit hook logs after streams close
    pgdata = Path(folder) / "pg"
    if a.shared_buffers:  # PostgreSQL reads it at start: set it, stop, start again
        first = pgserver.get_server(pgdata, cleanup_mode="stop")
        first.psql(f"ALTER SYSTEM SET shared_buffers = '{a.shared_buffers}'")
        first.cleanup()
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(c)
            version = c.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
            c.execute(f"SET max_parallel_maintenance_workers = {a.threads - 1}")
            c.execute("SET maintenance_work_mem = '4GB'")
            simhash = a.pg_index == "simhash"
            planes = simhash_planes(dim, a.simhash_bits) if simhash else None
            code_col = f", code bit({a.simhash_bits})" if simhash else ""
            c.execute(f"CREATE TABLE refs (id bigint PRIMARY KEY, embedding vector({dim}){code_col})")
            t0 = time.perf_counter()
            if simhash:
                with c.cursor().copy("COPY refs (id, embedding, code) FROM STDIN") as cp:
                    for lo in range(0, len(db), 8192):
                        block = db[lo : lo + 8192]
                        for j, (v, code) in enumerate(zip(block, simhash_codes(block, planes))):
                            cp.write_row((lo + j, _literal(v), code))
            else:
                with c.cursor().copy("COPY refs (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as cp:
                    cp.set_types(["int8", "vector"])
                    for i, v in enumerate(db):
                        cp.write_row((i, v))
            load_s = time.perf_counter() - t0
            lists = a.lists or max(16, int(round(2 * np.sqrt(len(db)))))
            column, _, _ = index_sql(a.pg_index, dim, a.prefix_dims)
            t0 = time.perf_counter()
            if a.pg_method == "hnsw":  # lists unused; the sweep's probes are hnsw.ef_search
                opts = f"m = {a.hnsw_m}, ef_construction = {a.hnsw_ef_construction}"
                c.execute(f"CREATE INDEX refs_ivf ON refs USING hnsw ({column}) WITH ({opts})")
            else:
                c.execute(f"CREATE INDEX refs_ivf ON refs USING ivfflat ({column}) WITH (lists = {lists})")
            build_s = time.perf_counter() - t0
            c.execute("ANALYZE refs")
            index_mb = c.execute("SELECT pg_relation_size('refs_ivf')").fetchone()[0] / 2**20
            table_mb = c.execute("SELECT pg_total_relation_size('refs')").fetchone()[0] / 2**20 - index_mb
            sql, qdim = search_sql(a.pg_index, dim, a.prefix_dims, a.rerank)
            reranked = a.pg_index in ("bq", "prefix", "simhash")
            out = {"build_s": build_s, "load_s": load_s, "memory_mb": index_mb, "table_mb": table_mb, "cells": lists}
            out.update(
                pgvector=version,
                pg_method=a.pg_method,
                hnsw=[a.hnsw_m, a.hnsw_ef_construction] if a.pg_method == "hnsw" else None,
                pg_index=a.pg_index,
                rerank=a.rerank if reranked else 0,
            )
            if a.pg_index == "prefix":
                out["prefix_dims"] = a.prefix_dims
            if simhash:
                out["simhash_bits"] = a.simhash_bits
            out["shared_buffers"] = c.execute("SHOW shared_buffers").fetchone()[0]
            c.execute("SELECT count(*) FROM refs")  # warm the buffers as a serving database would be
            c.execute("SET ivfflat.iterative_scan = relaxed_order")  # enough candidates even from sparse cells
            c.execute("SET hnsw.iterative_scan = relaxed_order")  # more than ef_search candidates when asked

            def fetch(q, k):
                head = simhash_codes(q, planes)[0] if simhash else _literal(q[:qdim])
                args = (head, _literal(q), k) if reranked else (head, k)
                rows = c.execute(sql, args).fetchall()
                vecs = [np.asarray(getattr(r[1], "to_numpy", lambda v=r[1]: v)(), np.float32) for r in rows]
                return np.array([r[0] for r in rows]), np.stack(vecs)

            sweep = []
            for p in a.probes:
                set_probes(c, a.pg_method, p, lists)
                r = bench.timed_searches(lambda q, k: fetch(q, k)[0], queries, a.k, truth, qids)
                sweep.append({"probes": p, **r})
                print(json.dumps(sweep[-1]), flush=True)
            best = bench.pick(sweep)
            set_probes(c, a.pg_method, best["probes"], lists)
            rescored = bench.rescoring(fetch, engine, params, queries[: a.rescore_queries], a.shortlist)
            return {**out, **best, "sweep": sweep, **rescored}
    finally:
        server.cleanup()


def set_probes(c, method: str, p: int, lists: int) -> None:
    if method == "hnsw":
        c.execute(f"SET hnsw.ef_search = {min(p, 1000)}")
    else:
        c.execute(f"SET ivfflat.probes = {min(p, lists)}")
