"""Partial unfreezing of the Lite0 trunk on cached activations (ml.finetune).

Images are generated strokes; the trunk is the real pretrained one at a small canvas, so no
dataset is needed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ml import checkpoint as ckpt
from ml import finetune, pretrained
from ml.data import Sample
from ml.engine import Engine
from ml.features import load_features
from ml.models import build

CANVAS = (96, 128)
CUT = 11


def lite0():
    return build("lite0", pretrained=True, canvas=list(CANVAS), precision="fp32", invert=True).eval()


def writer_images(n_writers=4, per_writer=6, forged=2, seed=0):
    """Each writer a different random polyline, each signature a jittered copy of it."""
    import cv2

    rng = np.random.default_rng(seed)
    imgs, samples = [], []
    for w in range(n_writers):
        base = rng.uniform([10, 10], [CANVAS[1] - 10, CANVAS[0] - 10], size=(6, 2))
        for i in range(per_writer + forged):
            label = "genuine" if i < per_writer else "forged"
            jitter = 2.0 if label == "genuine" else 9.0
            pts = (base + rng.normal(0, jitter, base.shape)).astype(np.int32)
            img = np.zeros(CANVAS, np.uint8)
            cv2.polylines(img, [pts], False, 255, 2)
            imgs.append(img)
            samples.append(Sample(f"/nowhere/cedar/w{w}/{label}/{i}.png", "cedar", f"cedar/w{w}", label, f"cedar/w{w}"))
    return np.stack(imgs), samples


def test_cached_activations_through_the_tail_equal_the_whole_trunk():
    model = lite0()
    imgs, _ = writer_images(n_writers=1, per_writer=3, forged=0)
    x = torch.from_numpy(imgs).float().div(255).unsqueeze(1)
    with torch.inference_mode():
        whole = model.pooled(x)
    acts = finetune.cache_activations(model, imgs, CUT)
    assert acts.dtype == np.float16 and acts.shape[:2] == (3, 112)
    split = finetune.pooled_from_activations(model, acts, CUT)
    np.testing.assert_allclose(split, whole.numpy(), atol=2e-2 * float(whole.abs().max()))


def test_stored_activations_are_reused_only_for_the_same_images(tmp_path, monkeypatch):
    model = lite0()
    imgs, samples = writer_images(n_writers=1, per_writer=2, forged=0)
    keys = [s.path for s in samples]
    path = tmp_path / "acts.npy"
    first = finetune.stored_activations(model, imgs, CUT, path, keys, log=lambda *_: None)
    calls = []
    real = finetune.cache_activations
    monkeypatch.setattr(finetune, "cache_activations", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = finetune.stored_activations(model, imgs, CUT, path, keys, log=lambda *_: None)
    assert calls == [] and np.array_equal(np.asarray(again), first)
    other = finetune.stored_activations(model, imgs[::-1].copy(), CUT, path, keys[::-1], log=lambda *_: None)
    assert calls == [1] and np.array_equal(np.asarray(other), first[::-1])


def test_training_changes_only_the_tail_and_fits_the_writers(tmp_path):
    model = lite0()
    before = {k: v.clone() for k, v in model.trunk.state_dict().items()}
    imgs, samples = writer_images()
    acts = finetune.cache_activations(model, imgs, CUT)
    recipe = {"cut": CUT, "epochs": 4, "steps_per_epoch": 6, "batch_writers": 4, "lr": 1e-3, "channel_dropout": 0.0}
    history = finetune.train_tail(model, acts, samples, recipe, log=lambda s: None)
    assert history[-1]["loss"] < history[0]["loss"]
    after = model.trunk.state_dict()
    tail_keys = set(finetune.tail_state(model, CUT))
    tail_prefixes = tuple(f"_blocks.{i}." for i in range(CUT, 16)) + ("_conv_head.", "_bn1.")
    assert tail_keys and all(k.startswith(tail_prefixes) for k in tail_keys)
    for k, v in after.items():
        if k in tail_keys:
            continue
        assert torch.equal(v, before[k]), f"frozen entry {k} changed"
    assert any(not torch.equal(after[k], before[k]) for k in tail_keys if after[k].is_floating_point())
    assert model.precision == "fp32" and not model.training


def test_a_saved_tail_reaches_the_checkpoint_ml_pretrained_builds(tmp_path):
    model = lite0()
    imgs, samples = writer_images(n_writers=6, per_writer=6, forged=2)
    acts = finetune.cache_activations(model, imgs, CUT)
    recipe = {"cut": CUT, "epochs": 1, "steps_per_epoch": 3, "batch_writers": 4}
    finetune.train_tail(model, acts, samples, recipe, log=lambda s: None)
    torch.save({"state": finetune.tail_state(model, CUT), "recipe": json.dumps({"cut": CUT})}, tmp_path / "tail.pt")
    feats = finetune.pooled_from_activations(model, acts, CUT)
    meta = {
        "model_kwargs": {"canvas": list(CANVAS), "precision": "fp32", "invert": True},
        "datasets": ["cedar"],
        "test_writers": False,
        "tail": str(tmp_path / "tail.pt"),
        "finetune": {"recipe": {"cut": CUT}},
    }
    finetune.write_features(tmp_path / "features.npz", feats, samples, meta)
    fz = load_features(str(tmp_path / "features.npz"))
    decision = {"calibration_seeds": [0], "val_fraction": 0.5, "negatives": 20, "skilled_negatives": 10}
    ck, _ = pretrained.build_checkpoint(fz, decision)
    assert ck["pretrained"]["tuned"] == {"recipe": {"cut": CUT}}
    ckpt.save(ck, tmp_path / "model.pt")
    engine = Engine.load(str(tmp_path / "model.pt"))
    x = torch.from_numpy(imgs[:4]).float().div(255).unsqueeze(1)
    with torch.inference_mode():
        tuned = model.pooled(x)
        loaded = engine.model.pooled(x)
        frozen = lite0().pooled(x)
    torch.testing.assert_close(loaded, tuned)
    assert not torch.allclose(frozen, tuned, atol=1e-4)


def test_a_tail_with_keys_the_trunk_lacks_is_refused(tmp_path):
    torch.save({"state": {"_blocks.99.weight": torch.zeros(1)}, "recipe": "{}"}, tmp_path / "bad.pt")
    with pytest.raises(KeyError):
        finetune.load_tail(lite0(), tmp_path / "bad.pt")
