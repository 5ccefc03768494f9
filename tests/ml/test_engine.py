"""The engine the web app uses: embed, fit_writer, verify, identify.

Built directly from tiny checkpoint dicts (random weights, a decision calibrated on
handmade embeddings), so it runs in a few seconds with no trained model. The decision
tests feed handmade, clearly separated embeddings to ``fit_writer`` and ``score``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ml import checkpoint as ckpt
from ml import synthetic
from ml.engine import Engine
from ml.errors import CheckpointError
from ml.preprocess import render_strokes

from ml_testkit import clustered_embeddings, png_bytes, tiny_checkpoint

DIM = 64


@pytest.fixture(scope="module")
def engine():
    return Engine(tiny_checkpoint(seed=0))


@pytest.fixture(scope="module")
def writers():
    """12 writers x 6 genuine + 2 forgeries, tight clusters on random directions."""
    return clustered_embeddings(12, 6, DIM, noise=0.4, seed=42, forged=2)


def test_embeddings_are_l2_normalised(engine):
    items = [synthetic.genuine(3, 0), png_bytes(Image.fromarray(render_strokes(synthetic.genuine(4, 0), 400)))]
    emb = engine.embed(items)
    assert emb.shape == (2, DIM) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # uint8 and float images embed the same
    prepared = engine.prepare(items[0])
    as_u8 = np.round(prepared.image * 255).astype(np.uint8)[None]
    assert np.allclose(engine.embed_images(as_u8), engine.embed_images(prepared.image[None]), atol=1e-5)
    assert engine.embed([]).shape == (0, DIM)


def test_embedding_is_deterministic_and_batch_independent(engine):
    items = [synthetic.genuine(s, 0) for s in range(5)]
    a = engine.embed(items)
    b = engine.embed(items, batch_size=2)
    single = np.concatenate([engine.embed([it]) for it in items])
    assert np.allclose(a, b, atol=1e-5) and np.allclose(a, single, atol=1e-5)


def test_fit_writer_is_json_serialisable(engine, writers):
    refs = writers["syn/writer_000"]["genuine"][:3]
    wd = engine.fit_writer(refs)
    text = json.dumps(wd)
    back = json.loads(text)
    assert back["n_refs"] == 3 and len(back["references"]) == 3
    assert wd["model_version"] == engine.model_version
    # a decision stored as JSON (as the app does) scores exactly like the fresh one
    q = writers["syn/writer_000"]["genuine"][3:]
    assert np.allclose(engine.score(back, q)[0], engine.score(wd, q)[0], atol=1e-5)


def test_fit_writer_with_one_reference_and_bad_shapes(engine, writers):
    wd = engine.fit_writer(writers["syn/writer_001"]["genuine"][:1])
    json.dumps(wd)
    assert wd["n_refs"] == 1 and wd["self_sim"] is None
    with pytest.raises(ValueError):
        engine.fit_writer(np.zeros((0, DIM), np.float32))
    with pytest.raises(ValueError):
        engine.fit_writer(np.zeros((2, DIM + 1), np.float32))
    with pytest.raises(ValueError):
        engine.fit_writer(np.zeros(DIM, np.float32))


@pytest.mark.parametrize("n_refs", [1, 3, 5])
def test_verify_contract(engine, writers, n_refs):
    g = writers["syn/writer_002"]["genuine"]
    wd = engine.fit_writer(g[:n_refs])
    queries = [g[-1], writers["syn/writer_002"]["forged"][0], writers["syn/writer_007"]["genuine"][0]]
    for q in queries:
        r = engine.verify(wd, q)
        json.dumps(r)
        assert set(r) == {"score", "threshold", "similarities"}
        assert 0.0 <= r["score"] <= 1.0
        assert r["threshold"] == engine.threshold_for(n_refs)  # the bucket of the references it has
        assert len(r["similarities"]) == n_refs
        assert all(-1.0 - 1e-6 <= s <= 1.0 + 1e-6 for s in r["similarities"])
    # an explicit threshold overrides the shipped one (the app accepts score >= threshold)
    r = engine.verify(wd, g[-1], threshold=0.0)
    assert r["score"] >= r["threshold"] and r["threshold"] == 0.0
    r = engine.verify(wd, g[-1], threshold=1.01)
    assert r["score"] < r["threshold"] and r["threshold"] == 1.01


def test_genuine_scores_above_other_writers(engine, writers):
    wd = engine.fit_writer(writers["syn/writer_003"]["genuine"][:3])
    own = engine.score(wd, writers["syn/writer_003"]["genuine"][3:])[0]
    others = np.concatenate([engine.score(wd, d["genuine"])[0] for w, d in writers.items() if w != "syn/writer_003"])
    assert own.min() > others.max()
    r = engine.verify(wd, writers["syn/writer_003"]["genuine"][4])
    assert r["score"] >= r["threshold"] == engine.threshold_for(3)


def test_identify_ranks_the_writers_own_query_first(engine, writers):
    enrolled = {w: engine.fit_writer(d["genuine"][:3]) for w, d in writers.items()}
    for w, d in writers.items():
        res = engine.identify(d["genuine"][5], enrolled, top_k=3)
        assert res["outcome"] in ("match", "ambiguous", "none") and len(res["candidates"]) == 3
        assert res["candidates"][0]["key"] == w
        scores = [c["score"] for c in res["candidates"]]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)


def test_engine_load_from_disk(tiny_model_path):
    eng = Engine.load(tiny_model_path)
    assert eng.model_version.startswith("sigfast-") and eng.model_version != "sigfast-unsaved"
    assert 0.0 < eng.threshold < 1.0
    assert eng.negatives.shape[1] == DIM and len(eng.negatives) > 0
    assert eng.preprocess_version == ckpt.load(tiny_model_path)["preprocess"]["version"]


def test_engine_load_refuses_an_uncalibrated_checkpoint(tmp_path):
    path = tmp_path / "best.pt"
    ckpt.save(tiny_checkpoint(with_decision=False), path)
    with pytest.raises(CheckpointError):
        Engine.load(path)
    eng = Engine(ckpt.load(path))  # usable directly, with the documented fallbacks
    assert eng.operating_point == "uncalibrated" and eng.threshold == 0.5
