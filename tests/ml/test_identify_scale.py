"""benchmarks/identify_scale.py at a small size: the documented keys, sane values, both engines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from pgvector_probe import pgvector_unusable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import identify_scale  # noqa: E402

KEYS = {"n", "dim", "engine", "build_s", "memory_mb", "p50_ms", "p95_ms", "recall_at_10", "p50_ms_with_rescoring"}


def test_synthetic_vectors_look_like_the_models_embeddings():
    db, qids, queries = identify_scale.make_data(4000, 200, seed=0)
    assert db.shape == (4000, 512) and queries.shape == (200, 512)
    own = np.einsum("ij,ij->i", queries, db[qids])
    others_mask = np.ones((200, 4000), bool)
    others_mask[np.arange(200), qids] = False
    others = (queries @ db.T)[others_mask]
    assert 0.4 < own.mean() < 0.6  # two signatures of one writer: cosine about 0.51
    assert abs(others.mean()) < 0.03 and 0.1 < others.std() < 0.17  # two writers: 0.01 +- 0.14


@pytest.mark.parametrize("engine", ["embedded", "pgvector"])
def test_benchmark_reports_the_documented_keys(engine, tmp_path):
    if engine == "pgvector" and (reason := pgvector_unusable()):
        pytest.skip(reason)
    out = tmp_path / "r.json"
    args = ["--n", "3000", "--engine", engine, "--threads", "1", "--queries", "40", "--rescore-queries", "10"]
    args += ["--probes", "4,1000", "--kind", "ivf", "--lists", "30", "--json", str(out)]
    assert identify_scale.main(args) == 0
    r = json.loads(out.read_text())
    assert KEYS <= set(r) and r["n"] == 3000 and r["dim"] == 512 and r["engine"] == engine
    assert [s["probes"] for s in r["sweep"]] == [4, 1000]
    assert r["sweep"][-1]["recall_at_10"] >= 0.99  # every cell scanned: as good as exact search
    assert r["sweep"][0]["recall_at_10"] <= r["sweep"][-1]["recall_at_10"]
    assert r["recall_at_10"] >= 0.99 and r["p95_ms"] >= r["p50_ms"] > 0 and r["p50_ms_with_rescoring"] > 0


@pytest.mark.parametrize("pg_index", ["prefix", "bq", "simhash"])
def test_pgvector_reranked_indexes_are_exact_when_every_candidate_is_reranked(pg_index, tmp_path):
    if reason := pgvector_unusable():
        pytest.skip(reason)
    out = tmp_path / "r.json"
    args = ["--n", "2000", "--engine", "pgvector", "--threads", "1", "--queries", "30", "--rescore-queries", "5"]
    args += ["--probes", "1,1000", "--lists", "20", "--pg-index", pg_index, "--rerank", "2000", "--json", str(out)]
    assert identify_scale.main(args) == 0
    r = json.loads(out.read_text())
    assert r["pg_index"] == pg_index and r["rerank"] == 2000 and r["pgvector"].split(".")[:2] >= ["0", "7"]
    # every template proposed and re-ranked on its full vector: exact search's top 10, even from one
    # cell of 20 at first, since the iterative index scan reads further cells until it has 2000 candidates
    assert [s["recall_at_10"] for s in r["sweep"]] == [1.0, 1.0]
