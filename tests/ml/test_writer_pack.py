"""ml.writer_pack: writer-dependent parameters in at most 8 KB, same scores and decisions.

Both decision kinds: the shipped model's (``ml.writer``, 512 dimensions) and a v2 decision
(``ml.decision``, WD SVM + WI model) on handmade embeddings.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml import decision as dv2
from ml import decision_fit as fit
from ml import writer_pack
from ml.engine import Engine

from ml_testkit import clustered_embeddings, tiny_checkpoint


@pytest.fixture(scope="module")
def shipped():
    return Engine.load()


@pytest.fixture(scope="module")
def engine_v2():
    train = clustered_embeddings(20, 6, 64, noise=0.5, seed=1, forged=4)
    val = clustered_embeddings(16, 12, 64, noise=0.5, seed=2, forged=4)
    negatives = np.concatenate([d["genuine"] for d in train.values()])
    skilled = np.concatenate([d["forged"] for d in train.values()])
    base = fit.base_decision(negatives, skilled, dv2.fit_wi(train, seed=0))
    decision, _ = fit.fit_decision(base, val, seeds=(0,))
    ck = tiny_checkpoint(seed=0)
    ck["decision"] = decision
    return Engine(ck)


def _test_set(dim: int, seed: int):
    """12 writers: 1, 3, 5 or 10 references each; queries are everyone's genuine and forged samples."""
    writers = clustered_embeddings(12, 14, dim, noise=0.6, seed=seed, forged=4)
    queries = np.concatenate([np.concatenate([d["genuine"][10:], d["forged"]]) for d in writers.values()])
    refs = [d["genuine"][: (1, 3, 5, 10)[i % 4]] for i, d in enumerate(writers.values())]
    return refs, queries


@pytest.mark.parametrize("which", ["shipped", "engine_v2"])
def test_packed_parameters_give_the_same_scores_and_decisions(which, request):
    engine = request.getfixturevalue(which)
    refs_by_writer, queries = _test_set(engine.embedding_dim, seed=7)
    for refs in refs_by_writer:
        wd = engine.fit_writer(refs)
        stored = json.loads(json.dumps(wd))  # what an enrollment keeps today
        blob = writer_pack.pack(stored)
        assert len(blob) <= 8192 and len(blob) < len(json.dumps(stored)) / 2
        back = writer_pack.unpack(blob, refs)  # the vector store keeps the raw references
        assert back["n_refs"] == len(refs) and back["model_version"] == engine.model_version
        assert (back["self_sim"] is None) == (len(refs) == 1)
        before, sims_before = engine.score(stored, queries)
        after, sims_after = engine.score(back, queries)
        np.testing.assert_allclose(after, before, atol=1e-4, rtol=0)
        np.testing.assert_allclose(sims_after, sims_before, atol=1e-4, rtol=0)
        t = engine.threshold_for(len(refs))
        assert ((after >= t) == (before >= t)).all()
        assert engine.verify(back, queries[0])["threshold"] == engine.verify(stored, queries[0])["threshold"]


def test_shipped_model_packs_in_a_little_over_two_kilobytes(shipped):
    refs, _ = _test_set(512, seed=3)
    blob = writer_pack.pack(shipped.fit_writer(refs[2]))
    assert 2048 < len(blob) <= 2048 + 64


def test_bad_blobs_and_references_are_refused(shipped):
    refs, _ = _test_set(512, seed=4)
    blob = writer_pack.pack(shipped.fit_writer(refs[1]))  # 3 references
    with pytest.raises(ValueError, match="not packed"):
        writer_pack.unpack(b"JSON" + blob[4:], refs[1])
    with pytest.raises(ValueError, match="truncated"):
        writer_pack.unpack(blob[:-4], refs[1])
    with pytest.raises(ValueError, match="version"):
        writer_pack.unpack(blob[:4] + bytes([9]) + blob[5:], refs[1])
    with pytest.raises(ValueError, match="expected 3 references"):
        writer_pack.unpack(blob, refs[2])
    with pytest.raises(ValueError, match="keys"):
        writer_pack.pack({**shipped.fit_writer(refs[1]), "scale": 1.0})
