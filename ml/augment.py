"""Augmentation, in two places.

- ``BatchAugment`` works on preprocessed batches on the training device: one
  ``grid_sample`` applies rotation, anisotropic scale, shear, translation and an elastic
  field together; then stroke width (dilation), ink intensity, blur and speckle noise.
- ``raw_augment`` works on the source image before preprocessing (paper tone and texture,
  uneven lighting, coloured ink, JPEG compression), so that the model sees what the
  preprocessing leaves of real scans and photos. It is costlier (the image is
  preprocessed again), so training applies it to a fraction ``raw_p`` of samples.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


@dataclass
class AugmentConfig:
    rotate_deg: float = 8.0
    scale: float = 0.12
    aspect: float = 0.10
    shear: float = 0.15
    translate: float = 0.06
    elastic: float = 0.025
    dilate_p: float = 0.25
    intensity: float = 0.35
    blur_p: float = 0.15
    noise_p: float = 0.2


class BatchAugment:
    def __init__(self, cfg: AugmentConfig | None = None, generator: torch.Generator | None = None):
        self.cfg = cfg or AugmentConfig()
        self.g = generator

    def _u(self, n, lo, hi, device):
        return torch.rand(n, generator=self.g).to(device) * (hi - lo) + lo

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        b, _, h, w = x.shape
        dev = x.device
        ang = self._u(b, -c.rotate_deg, c.rotate_deg, dev) * math.pi / 180
        s = 1 + self._u(b, -c.scale, c.scale, dev)
        ar = 1 + self._u(b, -c.aspect, c.aspect, dev)
        sh = self._u(b, -c.shear, c.shear, dev)
        tx, ty = self._u(b, -c.translate, c.translate, dev) * 2, self._u(b, -c.translate, c.translate, dev) * 2
        cos, sin = torch.cos(ang), torch.sin(ang)
        sx, sy = s * ar, s / ar
        # inverse map (output -> input coordinates) in normalised space
        theta = torch.zeros(b, 2, 3, device=dev)
        theta[:, 0, 0] = cos / sx
        theta[:, 0, 1] = (-sin + sh) / sx
        theta[:, 1, 0] = sin / sy
        theta[:, 1, 1] = cos / sy
        theta[:, 0, 2] = tx
        theta[:, 1, 2] = ty
        grid = F.affine_grid(theta, (b, 1, h, w), align_corners=False)
        if c.elastic > 0:
            coarse = (torch.rand(b, 2, 4, 6, generator=self.g) * 2 - 1).to(dev) * c.elastic * 2
            field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
            grid = grid + field.permute(0, 2, 3, 1)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        # stroke width: thicken some samples
        if c.dilate_p > 0:
            m = (torch.rand(b, generator=self.g) < c.dilate_p).to(dev)
            if m.any():
                x = torch.where(m.view(b, 1, 1, 1), F.max_pool2d(x, 3, 1, 1), x)
        # ink intensity (gamma), blur, speckles
        gamma = torch.exp(self._u(b, -c.intensity, c.intensity, dev)).view(b, 1, 1, 1)
        x = x.clamp(0, 1).pow(gamma)
        if c.blur_p > 0:
            m = (torch.rand(b, generator=self.g) < c.blur_p).to(dev)
            if m.any():
                k = torch.tensor([1.0, 2.0, 1.0], device=dev)
                k = (k[:, None] * k[None, :]) / 16
                x = torch.where(m.view(b, 1, 1, 1), F.conv2d(x, k.view(1, 1, 3, 3), padding=1), x)
        if c.noise_p > 0:
            m = (torch.rand(b, generator=self.g) < c.noise_p).to(dev).view(b, 1, 1, 1)
            specks = (torch.rand(x.shape, generator=self.g).to(dev) < 0.002).float() * 0.6
            x = torch.where(m, torch.maximum(x, specks), x)
        return x.clamp(0, 1)


def raw_augment(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make a clean uint8 grey scan (ink dark) look like a real one: paper, light, colour, JPEG."""
    h, w = gray.shape
    img = gray.astype(np.float32) / 255.0
    ink = 1.0 - img
    # paper tone and low-frequency texture
    tone = rng.uniform(0.6, 1.0)
    coarse = rng.normal(0, 1, (max(2, h // 40), max(2, w // 40))).astype(np.float32)
    tex = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC))
    paper = tone + rng.uniform(0, 0.05) * tex + rng.normal(0, rng.uniform(0, 0.02), (h, w))
    # uneven lighting: a linear gradient, as in phone photos
    gx, gy = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    paper = paper * (1 - rng.uniform(0, 0.25) * (rng.uniform(-1, 1) * gx + rng.uniform(-1, 1) * gy + 1) / 2)
    ink_level = rng.uniform(0.6, 1.0)
    out = paper * (1 - ink * ink_level)
    rgb = np.stack([out] * 3, -1)
    if rng.random() < 0.5:  # coloured ink and paper
        ink_col = rng.uniform(0, 0.6, 3)
        paper_col = rng.uniform(0.85, 1.0, 3)
        rgb = paper_col * paper[..., None] * (1 - ink[..., None] * ink_level * (1 - ink_col))
    pil = Image.fromarray(np.clip(rgb * 255, 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.7:
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=int(rng.integers(30, 90)))
        pil = Image.open(io.BytesIO(buf.getvalue()))
    return np.asarray(pil.convert("L"))
