"""Embedding networks and their registry.

Every model maps a batch (B, 1, 150, 220) of preprocessed signatures (ink bright, in
[0, 1]) to L2-normalised embeddings (B, D). Heads used only for training (writer
classification, forgery detection) live in ``ml.losses``, so a checkpoint's network is the
embedding network alone.

- ``signet``: the published SigNet architecture (Hafemann, Sabourin, Oliveira 2017):
  five convolutions with local response normalisation replaced by batch norm, as in
  sigver, two 2048-unit fully connected layers. About 0.6 GMAC per signature.
- ``sigfast``: ours. A small residual network (about 0.13 GMAC) that keeps a coarse
  spatial layout (2x3 pooling grid) before the projection, because where strokes are
  matters as much as what they look like.
- ``ensemble``: several trained networks side by side (built by ``ml.ensemble``); its
  embedding is their embeddings concatenated and scaled by 1/sqrt(k), so it is unit
  length and its cosine similarity is the mean of the members' cosine similarities.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

REGISTRY: dict[str, type[nn.Module]] = {}


def register(name: str):
    def deco(cls):
        REGISTRY[name] = cls
        cls.arch = name
        return cls

    return deco


def build(arch: str, **kwargs) -> nn.Module:
    if arch not in REGISTRY:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[arch](**kwargs)


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """For inference: every ``BatchNorm2d`` that directly follows a ``Conv2d`` inside an
    ``nn.Sequential`` (where child order is execution order) is folded into the convolution's
    weights and bias, and replaced by ``nn.Identity``. Changes ``module`` in place and returns
    it; it must be in eval mode (the running statistics are what is folded). The output is
    the same up to float rounding, one pass over the feature map cheaper per folded layer."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if module.training:
        raise ValueError("fold_batchnorm needs a module in eval mode")
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        names = [n for n, _ in seq.named_children()]
        for a, b in zip(names, names[1:]):
            conv, bn = getattr(seq, a), getattr(seq, b)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and conv.out_channels == bn.num_features:
                setattr(seq, a, fuse_conv_bn_eval(conv, bn))
                setattr(seq, b, nn.Identity())
    return module


def _conv_bn(cin, cout, k, stride=1, pad=None):
    pad = k // 2 if pad is None else pad
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


@register("signet")
class SigNet(nn.Module):
    """SigNet (Hafemann et al. 2017) for 150x220 inputs; embedding = the 2048-d FC7."""

    def __init__(self, embedding_dim: int = 2048):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.features = nn.Sequential(
            _conv_bn(1, 96, 11, stride=4, pad=0),
            nn.MaxPool2d(3, 2),
            _conv_bn(96, 256, 5, pad=2),
            nn.MaxPool2d(3, 2),
            _conv_bn(256, 384, 3),
            _conv_bn(384, 384, 3),
            _conv_bn(384, 256, 3),
            nn.MaxPool2d(3, 2),
        )
        self.fc = nn.Sequential(
            nn.Linear(256 * 3 * 5, 2048, bias=False),
            nn.BatchNorm1d(2048),
            nn.ReLU(inplace=True),
            nn.Linear(2048, embedding_dim, bias=False),
            nn.BatchNorm1d(embedding_dim),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.fc(torch.flatten(x, 1))
        return F.normalize(x, dim=1)


class _Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = None
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.skip is None else self.skip(x)), inplace=True)


@register("sigfast")
class SigFast(nn.Module):
    """Our embedding network: residual stages 32-64-128-256 on a stride-4 stem."""

    def __init__(self, embedding_dim: int = 256, widths=(32, 64, 128, 256), dropout: float = 0.1):
        super().__init__()
        self.embedding_dim = embedding_dim
        w = widths
        self.stem = nn.Sequential(_conv_bn(1, w[0], 5, stride=2), nn.MaxPool2d(2))
        self.stages = nn.Sequential(
            _Block(w[0], w[0], 1),
            _Block(w[0], w[1], 2),
            _Block(w[1], w[2], 2),
            _Block(w[2], w[3], 2),
        )
        self.pool = nn.AdaptiveAvgPool2d((2, 3))
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(w[3] * 6, embedding_dim, bias=False),
            nn.BatchNorm1d(embedding_dim),
        )

    def forward(self, x):
        x = self.stages(self.stem(x))
        x = self.head(torch.flatten(self.pool(x), 1))
        return F.normalize(x, dim=1)


@register("ensemble")
class Ensemble(nn.Module):
    """Trained networks side by side; ``members`` = [{"arch": ..., "kwargs": {...}}, ...]."""

    def __init__(self, members: list[dict]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if any(m["arch"] == "ensemble" for m in members):
            raise ValueError("ensemble members must be single networks (flatten nested ensembles)")
        self.members = nn.ModuleList(build(m["arch"], **m.get("kwargs", {})) for m in members)
        self.embedding_dim = sum(int(m.embedding_dim) for m in self.members)
        self._scale = 1.0 / len(self.members) ** 0.5

    def forward(self, x):
        return torch.cat([m(x) for m in self.members], dim=1) * self._scale


# pretrained backbones register themselves here (ml.backbones imports ``register`` above)
from ml import backbones  # noqa: E402,F401
