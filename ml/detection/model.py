"""The signature detector network: EfficientNet-Lite0 trunk + a CenterNet-style head.

Input: a letterboxed greyscale page (B, 1, S, S) in [0, 1], dark ink on white paper,
replicated to three channels and normalised with ImageNet's mean and standard deviation.
The trunk (``ml.backbones.lite0_network``, ImageNet weights when trained) gives stride-8
(block 4, 40 channels), stride-16 (block 10, 112 channels) and stride-32 features (block
15, 320 channels); the head fuses the two coarse ones at stride 16, then adds the stride-8
features (thin signatures need the finer grid to be boxed tightly) and predicts, per
stride-8 cell, a signature-centre heatmap logit and a box (centre offset x, y from the
cell's corner in cells; log width, log height in cells).
``decode`` turns those maps into canvas boxes: 3x3 peak picking, top-k, then NMS.
"""

from __future__ import annotations

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


class DetectorNet(nn.Module):
    def __init__(self, size: int = 640, width: int = 96, fine_width: int = 64, pretrained: bool = False):
        super().__init__()
        net = lite0_network((size, size))
        if pretrained:
            net.load_state_dict(pretrained_state(), strict=True)
        self.size = int(size)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = net._blocks  # ImageNet classifier head (_conv_head, _fc) is not used
        self.lat4 = conv_bn(112, width, 1)
        self.lat5 = conv_bn(320, width, 1)
        self.fuse = nn.Sequential(conv_bn(width, width, 3), conv_bn(width, width, 3))
        self.lat3 = conv_bn(40, fine_width, 1)
        self.down = conv_bn(width, fine_width, 1)
        self.fine = conv_bn(fine_width, fine_width, 3)
        self.heat = nn.Conv2d(fine_width, 1, 1)
        self.box = nn.Conv2d(fine_width, 4, 1)
        nn.init.constant_(self.heat.bias, float(np.log(HEAT_PRIOR / (1 - HEAT_PRIOR))))
        nn.init.zeros_(self.box.weight)
        nn.init.zeros_(self.box.bias)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def features(self, x: torch.Tensor, upto: int | None = None) -> tuple[torch.Tensor, ...]:
        """(B, 1, S, S) page in [0, 1] -> trunk features (c3, c4, c5); with ``upto`` only the blocks up to it."""
        x = ((x.expand(-1, 3, -1, -1) - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x, drop_connect_rate=0.0)
            if i in (C3_BLOCK, C4_BLOCK):
                out.append(x)
            if i == upto:
                return tuple(out)
        return (*out, x)

    def head(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Trunk features -> (heat logits (B, 1, h, w), box maps (B, 4, h, w)) at stride 8."""
        p = self.lat4(c4) + F.interpolate(self.lat5(c5), size=c4.shape[-2:], mode="nearest")
        p = self.fuse(p)
        q = self.lat3(c3) + F.interpolate(self.down(p), size=c3.shape[-2:], mode="nearest")
        q = self.fine(q)
        return self.heat(q), self.box(q)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(*self.features(x))


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
