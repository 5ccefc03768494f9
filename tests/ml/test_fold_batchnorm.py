"""Batch norm folded into the convolution before it, for inference (ml.models.fold_batchnorm)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ml.models import build, fold_batchnorm


def _trained_like(module: nn.Module, seed: int = 0) -> nn.Module:
    """Batch-norm statistics and affine parameters far from their initial values, as after training."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) * 3 + 0.1)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g))
    return module.eval()


def test_a_conv_bn_relu_block_folds_to_the_same_output():
    block = _trained_like(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()))
    x = torch.randn(2, 3, 17, 23)
    with torch.inference_mode():
        want = block(x)
        fold_batchnorm(block)
        got = block(x)
    assert isinstance(block[1], nn.Identity) and block[0].bias is not None
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_only_a_batch_norm_right_after_a_convolution_folds():
    seq = _trained_like(nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.BatchNorm2d(4)))
    fold_batchnorm(seq)
    assert isinstance(seq[2], nn.BatchNorm2d)  # a ReLU between them: folding would change the output


def test_a_whole_network_keeps_its_embeddings():
    torch.manual_seed(0)
    net = _trained_like(build("sigfast", widths=[8, 16, 32, 64], embedding_dim=64))
    x = torch.rand(3, 1, 150, 220)
    count = lambda: sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    before = count()
    with torch.inference_mode():
        want = net(x)
        fold_batchnorm(net)
        got = net(x)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert count() < before
    # what is left is outside any Sequential (a residual block calls its own bn1 / bn2)
    in_sequential = {id(c) for m in net.modules() if isinstance(m, nn.Sequential) for c in m.children()}
    assert all(id(m) not in in_sequential for m in net.modules() if isinstance(m, nn.BatchNorm2d))


def test_a_module_in_training_mode_is_refused():
    with pytest.raises(ValueError, match="eval"):
        fold_batchnorm(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
