"""The signature detector network: EfficientNet-Lite0 trunk + a CenterNet-style head.

Input: a letterboxed greyscale page (B, 1, S, S) in [0, 1], dark ink on white paper,
replicated to three channels and normalised with ImageNet's mean and standard deviation.
The trunk (``ml.backbones.lite0_network``, ImageNet weights when trained) gives stride-8
(block 4, 40 channels), stride-16 (block 10, 112 channels) and stride-32 features (block
15, 320 channels); the head fuses the two coarse ones at stride 16, then adds the stride-8
features (thin signatures need the finer grid to be boxed tightly) and predicts, per
stride-8 cell, a signature-centre heatmap logit and a box (centre offset x, y from the
cell's corner in cells; log width, log height in cells).
With ``tuned_from`` = K the first stage reads the page through its own copy of the trunk's
blocks K..15 (``tuned``, trained for detection) while ``features`` (what the second stage
reads crops through) keeps the ImageNet blocks. With ``extra_heads`` = N the network holds
N further heads (``members``, trained apart on the same features) and ``head`` averages them
with its own.
``decode`` turns those maps into canvas boxes: 3x3 peak picking, top-k, then NMS.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.backbones import IMAGENET_MEAN, IMAGENET_STD, lite0_network, pretrained_state
from ml.detection.boxes import nms

STRIDE = 8
C3_BLOCK = 4  # last stride-8 block
C4_BLOCK = 10  # last stride-16 block
HEAT_PRIOR = 0.01


def conv_bn(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def add_head_layers(module: nn.Module, width: int, fine_width: int) -> None:
    """The layers of one CenterNet head, set on ``module`` (``run_head`` runs them)."""
    module.lat4 = conv_bn(112, width, 1)
    module.lat5 = conv_bn(320, width, 1)
    module.fuse = nn.Sequential(conv_bn(width, width, 3), conv_bn(width, width, 3))
    module.lat3 = conv_bn(40, fine_width, 1)
    module.down = conv_bn(width, fine_width, 1)
    module.fine = conv_bn(fine_width, fine_width, 3)
    module.heat = nn.Conv2d(fine_width, 1, 1)
    module.box = nn.Conv2d(fine_width, 4, 1)
    nn.init.constant_(module.heat.bias, float(np.log(HEAT_PRIOR / (1 - HEAT_PRIOR))))
    nn.init.zeros_(module.box.weight)
    nn.init.zeros_(module.box.bias)


def run_head(module: nn.Module, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Trunk features through one head's layers -> (heat logits (B, 1, h, w), box maps (B, 4, h, w))."""
    p = module.lat4(c4) + F.interpolate(module.lat5(c5), size=c4.shape[-2:], mode="nearest")
    p = module.fuse(p)
    q = module.lat3(c3) + F.interpolate(module.down(p), size=c3.shape[-2:], mode="nearest")
    q = module.fine(q)
    return module.heat(q), module.box(q)


class CenterHead(nn.Module):
    """A further head of an ensemble (``DetectorNet.members``): the same layers as the detector's own."""

    def __init__(self, width: int, fine_width: int):
        super().__init__()
        add_head_layers(self, width, fine_width)

    def forward(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return run_head(self, c3, c4, c5)


class DetectorNet(nn.Module):
    def __init__(
        self,
        size: int = 640,
        width: int = 96,
        fine_width: int = 64,
        pretrained: bool = False,
        tuned_from: int = 0,
        extra_heads: int = 0,
    ):
        super().__init__()
        net = lite0_network((size, size))
        if pretrained:
            net.load_state_dict(pretrained_state(), strict=True)
        self.size = int(size)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = net._blocks  # ImageNet classifier head (_conv_head, _fc) is not used
        if tuned_from and not C4_BLOCK < tuned_from < len(self.blocks):
            raise ValueError(f"tuned_from must lie in {C4_BLOCK + 1}..{len(self.blocks) - 1}, got {tuned_from}")
        self.tuned_from = int(tuned_from)
        self.tuned = copy.deepcopy(self.blocks[self.tuned_from :]) if self.tuned_from else None
        add_head_layers(self, width, fine_width)
        self.members = nn.ModuleList(CenterHead(width, fine_width) for _ in range(int(extra_heads)))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def features(self, x: torch.Tensor, upto: int | None = None) -> tuple[torch.Tensor, ...]:
        """(B, 1, S, S) page in [0, 1] -> trunk features (c3, c4, c5); with ``upto`` the blocks up to it
        only, and the last of them in place of c5 from block ``C4_BLOCK`` on."""
        x = ((x.expand(-1, 3, -1, -1) - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x, drop_connect_rate=0.0)
            if i in (C3_BLOCK, C4_BLOCK):
                out.append(x)
            if i == upto:
                return (*out, x) if i >= C4_BLOCK else tuple(out)
        return (*out, x)

    def head(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Trunk features -> (heat logits (B, 1, h, w), box maps (B, 4, h, w)) at stride 8; with
        ``members`` the heads' heat probabilities and box maps averaged (logits of the mean)."""
        heat, box = run_head(self, c3, c4, c5)
        if not len(self.members):
            return heat, box
        outs = [(heat, box), *(m(c3, c4, c5) for m in self.members)]
        prob = torch.stack([torch.sigmoid(h) for h, _ in outs]).mean(0).clamp(1e-6, 1 - 1e-6)
        return torch.log(prob / (1 - prob)), torch.stack([b for _, b in outs]).mean(0)

    def page_features(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The first stage's features of a page: ``features``, its last blocks the tuned copy when there is one."""
        if self.tuned is None:
            return self.features(x)
        c3, c4, mid = self.features(x, upto=self.tuned_from - 1)
        return c3, c4, self.late(mid)

    def late(self, mid: torch.Tensor) -> torch.Tensor:
        """Output of block ``tuned_from - 1`` -> stride-32 features through the tuned blocks."""
        for block in self.tuned:
            mid = block(mid, drop_connect_rate=0.0)
        return mid

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(*self.page_features(x))


def decode(heat: torch.Tensor, box: torch.Tensor, *, min_score: float = 0.05, top_k: int = 100, nms_iou: float = 0.5) -> list:
    """Maps of one batch -> per image (boxes (N, 4) canvas pixels, scores (N,)), best first."""
    prob = torch.sigmoid(heat.float())
    peaks = prob * (F.max_pool2d(prob, 3, stride=1, padding=1) == prob)
    b, _, h, w = prob.shape
    out = []
    for i in range(b):
        flat = peaks[i, 0].flatten()
        k = min(top_k, flat.numel())
        scores, idx = flat.topk(k)
        keep = scores >= min_score
        scores, idx = scores[keep], idx[keep]
        ys, xs = (idx // w).float(), (idx % w).float()
        reg = box[i].float().flatten(1)[:, idx]
        cx = (xs + reg[0]) * STRIDE
        cy = (ys + reg[1]) * STRIDE
        bw = torch.exp(reg[2].clamp(-6, 6)) * STRIDE
        bh = torch.exp(reg[3].clamp(-6, 6)) * STRIDE
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=1).numpy().astype(np.float64)
        sc = scores.numpy().astype(np.float64)
        kept = nms(boxes, sc, nms_iou)
        out.append((boxes[kept], sc[kept]))
    return out
