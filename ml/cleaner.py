"""Cleaning scans and photos before preprocessing: printed lines, printed text and stamps go.

The cleaner only erases. A small U-Net sees the flat-fielded grey image at a fixed working
size (longest side ``work_side``) and predicts, per pixel, the probability that the pixel
is signature ink; every pixel under ``threshold`` becomes paper (255) and the rest keep
their grey level, so it can never invent a stroke and is close to the identity on a clean
signature. Pad drawings (strokes) are never cleaned (``ml.preprocess.prepare``).

A gate keeps clean signatures away from the net's mistakes: when the share of the image's ink
(pixels darker than the Otsu threshold of the flat-fielded working-size image) that the
cleaner would erase is under ``gate`` (checkpoint key ``gate``, else ``DEFAULT_GATE``), the
input is returned unchanged, exactly the no-cleaner path. ``gate`` was chosen on validation
writers (``benchmarks/cleaner_gate.py``, docs/BENCHMARKS.md).

Versioned with preprocessing: a version names the weights' behaviour and ``FILES`` where each
shipped version's weights are; an embedding checkpoint records the cleaner it expects in
``preprocess["cleaner"]``, and a checkpoint without that key (made before the cleaner
existed) gets ``DEFAULT_CLEANER``, the first version. ``CLEANER_VERSION`` is the newest, the one
``ml.cleaner_train`` writes. ``"none"`` turns cleaning off.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ml.errors import CheckpointError
from ml.models import fold_batchnorm

__all__ = [
    "CLEANER_VERSION", "DEFAULT_CLEANER", "DEFAULT_GATE", "FILES", "KIND", "Cleaner", "CleanerNet", "chroma_input", "get",
    "register", "weights_path", "working_input",
]  # fmt: skip

KIND = "sigweb-cleaner"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FILES = {"sigweb-clean-1": "cleaner.pt"}  # shipped version -> file in WEIGHTS_DIR
CLEANER_VERSION = "sigweb-clean-1"  # the newest
DEFAULT_CLEANER = "sigweb-clean-1"  # what a checkpoint without preprocess["cleaner"] expects
WEIGHTS = WEIGHTS_DIR / FILES[DEFAULT_CLEANER]
WORK_SIDE = 512
CHANNELS = (16, 32, 48, 64)
DEFAULT_GATE = 0.10  # 99th percentile of the measure on clean validation signatures (docs/BENCHMARKS.md)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )  # fmt: skip


class CleanerNet(nn.Module):
    """U-Net: (N, C, H, W) ink darkness in [0, 1] (C = 1), or darkness and two chroma planes
    (C = 3, ``chroma_input``) -> (N, 1, H, W) logits of "signature ink".
    H and W must be multiples of 2 ** (levels - 1)."""

    def __init__(self, channels=CHANNELS, in_channels: int = 1):
        super().__init__()
        ch = list(channels)
        self.down = nn.ModuleList([_block(in_channels, ch[0])] + [_block(a, b) for a, b in zip(ch[:-1], ch[1:])])
        self.up = nn.ModuleList([_block(b + a, a) for a, b in zip(ch[:-1], ch[1:])])
        self.head = nn.Conv2d(ch[0], 1, 1)

    def forward(self, x):
        skips = []
        for i, blk in enumerate(self.down):
            x = blk(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        for i in reversed(range(len(self.up))):
            x = nn.functional.interpolate(x, size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
            x = self.up[i](torch.cat([skips[i], x], 1))
        return self.head(x)


def flat_field(gray: np.ndarray) -> np.ndarray:
    from ml.preprocess import flat_field as ff

    return ff(gray)


def working_input(gray: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """(flat-fielded grey at the input's size, the same at the working size: longest side ``side``)."""
    flat = flat_field(gray)
    h, w = flat.shape
    s = side / max(h, w)
    size = (max(8, round(w * s)), max(8, round(h * s)))
    small = cv2.resize(flat, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return flat, small


def chroma_input(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(2, h, w) float32 chroma (YCrCb's Cr and Cb) of ``rgb`` at ``size`` = (w, h), the paper's
    own tint (the median) taken off and scaled to about [-1, 1]: zero on grey ink and paper."""
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    c = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(np.float32)
    c -= np.median(c.reshape(-1, 2), axis=0)
    return np.clip(c / 64.0, -1.0, 1.0).transpose(2, 0, 1)


class Cleaner:
    """Loaded weights and the erase rule; ``cleaner(gray)`` returns the cleaned grey image.

    ``net`` is the network as trained (training tools read and change it); inference runs a
    twin made from it at load, with its batch norms folded into the convolutions and
    channels-last memory: the same probabilities up to float rounding, about 40% less CPU
    time (docs/BENCHMARKS.md, "Cleaner inference: folded batch norm, channels-last memory")."""

    def __init__(self, ck: dict):
        if not isinstance(ck, dict) or ck.get("kind") != KIND:
            raise CheckpointError("not a SigWeb cleaner checkpoint")
        self.version = ck["version"]
        self.side = int(ck["work_side"])
        self.threshold = float(ck["threshold"])
        self.gate = float(ck.get("gate", DEFAULT_GATE))
        self.colour = ck.get("input", "grey") == "grey+chroma"  # reads the image's colour too
        self.net = CleanerNet(tuple(ck["channels"]), 3 if self.colour else 1)
        self.net.load_state_dict(ck["state_dict"])
        self.net.eval()
        self._infer = fold_batchnorm(copy.deepcopy(self.net)).to(memory_format=torch.channels_last)
        self._lock = threading.Lock()

    def as_trained(self) -> Cleaner:
        """This cleaner running its trained network itself instead of the inference twin: the
        reference the twin is checked against (tests, ``benchmarks/cleaner_latency.py``)."""
        ref = copy.copy(self)
        ref._infer = self.net
        return ref

    @torch.inference_mode()
    def probability(self, small: np.ndarray, chroma: np.ndarray | None = None) -> np.ndarray:
        """Ink probability (float32, the shape of ``small``) of a flat-fielded working-size image;
        ``chroma`` (``chroma_input`` at that size) for a cleaner that reads colour, None: no colour."""
        h, w = small.shape
        m = 2 ** (len(self.net.down) - 1)
        ph, pw = -h % m, -w % m
        x = 1.0 - np.pad(small, ((0, ph), (0, pw)), constant_values=255).astype(np.float32) / 255.0
        if self.colour:
            c = np.zeros((2, h, w), np.float32) if chroma is None else chroma
            x = np.concatenate([x[None], np.pad(c, ((0, 0), (0, ph), (0, pw)))])
        t = torch.from_numpy(np.ascontiguousarray(x)).reshape(1, -1, h + ph, w + pw)
        with self._lock:
            p = torch.sigmoid(self._infer(t.contiguous(memory_format=torch.channels_last)))[0, 0, :h, :w]
        return np.ascontiguousarray(p.numpy())

    def _working(self, gray: np.ndarray, rgb: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(flat-fielded grey, the same at the working size, ink probability there or None when nothing is dark)."""
        flat, small = working_input(gray, self.side)
        if int(small.min()) > 200:  # nothing dark at all: nothing to erase
            return flat, small, None
        chroma = chroma_input(rgb, small.shape[::-1]) if self.colour and rgb is not None else None
        return flat, small, self.probability(small, chroma)

    def _full_mask(self, flat: np.ndarray, prob: np.ndarray | None) -> np.ndarray:
        if prob is None:
            return np.ones(flat.shape, bool)
        h, w = flat.shape
        if prob.shape != (h, w):
            prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
        return prob >= self.threshold

    def ink_mask(self, gray: np.ndarray, rgb: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(flat-fielded grey, boolean mask of pixels kept as signature ink), at the input's size."""
        flat, _, prob = self._working(gray, rgb)
        return flat, self._full_mask(flat, prob)

    def erased_fraction(self, small: np.ndarray, prob: np.ndarray | None) -> float:
        """Share of the working-size image's ink (darker than its Otsu threshold) the cleaner would erase."""
        if prob is None:
            return 0.0
        thr, _ = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        ink = small <= thr
        n = int(ink.sum())
        return float((ink & (prob < self.threshold)).sum() / n) if n else 0.0

    def measure(self, gray: np.ndarray, rgb: np.ndarray | None = None) -> float:
        """The gate's measure on ``gray``: ``erased_fraction`` of its working-size image."""
        _, small, prob = self._working(gray, rgb)
        return self.erased_fraction(small, prob)

    def __call__(self, gray: np.ndarray, rgb: np.ndarray | None = None) -> np.ndarray:
        """The cleaned grey image; ``rgb``: the same image in colour, for a cleaner that reads it."""
        flat, small, prob = self._working(gray, rgb)
        if self.erased_fraction(small, prob) < self.gate:  # looks clean: the no-cleaner path, pixel for pixel
            return gray
        keep = self._full_mask(flat, prob)
        out = flat.copy()
        out[~keep] = 255
        return out


_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()
_REGISTERED: dict[str, str] = {}  # version -> weights path, for cleaners loaded by register()


def weights_path(version: str) -> Path:
    """Where the shipped weights of ``version`` are (a file that may not exist for an unknown one)."""
    return WEIGHTS_DIR / FILES.get(version, f"cleaner-{version}.pt")


def register(path: str | Path) -> str:
    """Load the cleaner weights at ``path`` and make ``get(<their version>)`` return them in this
    process (candidate weights in benchmarks); returns that version."""
    ck = torch.load(Path(path), map_location="cpu", weights_only=True)
    cleaner = Cleaner(ck)
    with _CACHE_LOCK:
        _CACHE[(cleaner.version, str(weights_path(cleaner.version)))] = cleaner
        _REGISTERED[cleaner.version] = str(Path(path).resolve())
    return cleaner.version


def registered() -> dict[str, str]:
    """``{version: weights path}`` of the cleaners ``register`` loaded in this process (worker
    processes register them again: ``ml.data.preprocess_all``)."""
    with _CACHE_LOCK:
        return dict(_REGISTERED)


def get(version: str | None, path: str | Path | None = None) -> Cleaner | None:
    """The cleaner for ``version`` (None or "none": no cleaning), loaded once per process."""
    if not version or version == "none":
        return None
    key = (version, str(path or weights_path(version)))
    with _CACHE_LOCK:
        if key not in _CACHE:
            p = Path(key[1])
            if not p.is_file():
                raise CheckpointError(f"cleaner weights not found: {p}")
            ck = torch.load(p, map_location="cpu", weights_only=True)
            cleaner = Cleaner(ck)
            if cleaner.version != version:
                raise CheckpointError(f"{p} holds cleaner {cleaner.version}, the model expects {version}")
            _CACHE[key] = cleaner
        return _CACHE[key]
