"""TorchScript and ONNX export of a small checkpoint: parity with eager outputs and metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ml import checkpoint as ckpt
from ml import synthetic
from ml.engine import Engine
from ml.export import PARITY_ATOL, export
from ml.preprocess import PREPROCESS_VERSION

# torch.jit is deprecated in favour of torch.export, but TorchScript is what ml.export writes
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


def test_torchscript_export_matches_eager(tiny_model_path, tmp_path):
    out = tmp_path / "sigweb.ts"
    meta = export(str(tiny_model_path), str(out), fmt="torchscript")
    assert meta["parity_ok"] is True
    assert meta["parity_max_abs_diff"] <= PARITY_ATOL
    on_disk = json.loads((tmp_path / "sigweb.ts.json").read_text())
    assert on_disk == meta
    assert meta["format"] == "torchscript" and meta["arch"] == "sigfast"
    assert meta["embedding_dim"] == 64
    assert meta["input_shape"] == [None, 1, 150, 220]
    assert meta["preprocess_version"] == PREPROCESS_VERSION

    # the exported file alone reproduces the engine's embeddings on real preprocessed input
    engine = Engine(ckpt.load(tiny_model_path))
    items = [synthetic.genuine(s, 0) for s in range(3)]
    images = np.stack([engine.prepare(it).image for it in items])
    scripted = torch.jit.load(str(out))
    with torch.inference_mode():
        got = scripted(torch.from_numpy(images).unsqueeze(1)).numpy()
    want = engine.embed_images(images)
    assert np.abs(got - want).max() <= PARITY_ATOL
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_onnx_export_runs_in_onnxruntime_with_a_dynamic_batch(tiny_model_path, tmp_path):
    import onnxruntime as ort  # pinned in requirements.txt

    out = tmp_path / "sigweb.onnx"
    meta = export(str(tiny_model_path), str(out), fmt="onnx")
    assert meta["parity_ok"] is True and meta["format"] == "onnx"
    assert meta["embedding_dim"] == 64 and meta["input_shape"] == [None, 1, 150, 220]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sigweb.onnx", "sigweb.onnx.json"]  # no .data file

    engine = Engine(ckpt.load(tiny_model_path))
    images = np.stack([engine.prepare(synthetic.genuine(s, 1)).image for s in range(5)]).astype(np.float32)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": images[:, None]})[0]  # batch of 5: not the traced batch of 1
    assert got.shape == (5, 64)
    assert np.abs(got - engine.embed_images(images)).max() <= PARITY_ATOL


def test_export_refuses_unknown_format(tiny_model_path, tmp_path):
    with pytest.raises(ValueError):
        export(str(tiny_model_path), str(tmp_path / "x.bin"), fmt="coreml")
