"""Signature preprocessing: any scan, photo, canvas drawing or pad stroke set to one tensor.

The pipeline (version ``PREPROCESS_VERSION``) follows sigver (Hafemann et al.) with a
flat-field step so that gray paper, coloured paper and uneven phone-photo lighting all
reduce to ink on white:

1. decode (PNG, JPEG, TIFF, BMP, ...; RGBA and palette images are composited on white,
   16-bit images scaled to 8 bits) and refuse images over ``MAX_PIXELS``;
2. flat-field: divide by a background estimate (a grey-level closing larger than a stroke);
3. Otsu threshold on a Gaussian-smoothed copy; pixels above it become background;
4. drop specks (judged at the working size, so a large photo keeps what its smaller copy
   keeps), crop to the ink, refuse an image with no ink;
5. invert (background 0, ink keeps its grey level), fit into the canvas keeping the
   aspect ratio, centre, and scale to [0, 1].

Pad strokes are rendered (``ml.strokes``) with a pen width proportional to the signature's
size, then go through the same steps, so a pad enrollment and a scanned query look alike.
Everything is deterministic: OpenCV's area resize and fixed kernel sizes only.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ml.errors import SignatureInputError
from ml.strokes import MIN_STROKE_POINTS, parse_strokes, render_strokes, stroke_quality

__all__ = [
    "CANVAS", "MAX_PIXELS", "MIN_INK_PIXELS", "MIN_STROKE_POINTS", "PREPROCESS_VERSION", "Prepared", "clean_gray",
    "flat_field", "load_gray", "load_image", "parse_strokes", "prepare", "preprocess_gray", "render_strokes", "stroke_quality",
    "to_png",
]  # fmt: skip

PREPROCESS_VERSION = "sigweb-pp-2"  # pp-2: specks judged at working size (pp-1 used the input size)
CANVAS = (150, 220)  # height, width: the SigNet input size
MAX_PIXELS = 40_000_000  # a 300 dpi A4 page is about 8.7 MP
MIN_INK_PIXELS = 30
WORK_MAX_SIDE = 800  # larger inputs are downscaled first: the output is 220 wide, so 3.6x is plenty

Source = bytes | bytearray | str | os.PathLike | Image.Image | np.ndarray | Sequence[Any]


@dataclass(frozen=True)
class Prepared:
    """A preprocessed signature: ``image`` is float32 (H, W) in [0, 1], ink bright."""

    image: np.ndarray
    quality: dict
    kind: str  # "image" or "strokes"
    cleaned: np.ndarray | None = None  # uint8 grey after the cleaner (ink dark), when one ran


# --------------------------------------------------------------------------- decoding


def _open_image(source) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (bytes, bytearray)):
        fp = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        if not os.path.isfile(source):
            raise SignatureInputError("unreadable", f"no such image file: {source}")
        fp = source
    elif hasattr(source, "read"):
        fp = source
    else:
        raise SignatureInputError("unreadable", f"cannot read a signature from {type(source).__name__}")
    try:
        im = Image.open(fp)  # lazy: reads the header only, so the pixel cap is checked before decoding
    except UnidentifiedImageError:
        raise SignatureInputError("unreadable", "the file is not an image this system can read") from None
    except Image.DecompressionBombError:
        raise SignatureInputError("too_large", f"image is over the {MAX_PIXELS:,} pixel limit") from None
    except OSError as exc:
        raise SignatureInputError("unreadable", f"the image could not be read ({exc})") from None
    return im


def _to_gray(im: Image.Image, colour: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode fully: (uint8 grey, ink dark, paper light; uint8 RGB when ``colour`` and the image has colour channels)."""
    w, h = im.size
    if w * h > MAX_PIXELS:
        raise SignatureInputError("too_large", f"image is {w}x{h} = {w * h:,} pixels, over the {MAX_PIXELS:,} pixel limit")
    if w < 8 or h < 8:
        raise SignatureInputError("unreadable", f"image is only {w}x{h} pixels")
    try:
        im.load()
        try:
            im = ImageOps.exif_transpose(im)
        except Exception:  # a broken EXIF block is no reason to refuse the image
            pass
        mode = im.mode
        if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            arr = np.asarray(im, dtype=np.float64)
            hi = float(arr.max())
            top = 65535.0 if hi > 255 else 255.0
            if mode == "F" and hi <= 1.0:
                top = 1.0
            return np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), None
        if mode == "1":
            return np.asarray(im.convert("L"), dtype=np.uint8), None
        if mode == "P":
            im = im.convert("RGBA")
            mode = "RGBA"
        if mode in ("LA", "PA", "RGBa", "La"):
            im = im.convert("RGBA")
            mode = "RGBA"
        if mode == "RGBA":
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        if mode == "CMYK" or mode == "YCbCr" or mode == "LAB" or mode == "HSV":
            im = im.convert("RGB")
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8) if colour and im.mode in ("RGB", "RGBA") else None
        return np.asarray(im.convert("L"), dtype=np.uint8), rgb
    except SignatureInputError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise SignatureInputError("unreadable", f"the image is damaged or truncated ({exc})") from None


# --------------------------------------------------------------------------- pipeline


def flat_field(gray: np.ndarray) -> np.ndarray:
    """Divide by a background estimate so paper becomes 255 whatever its tone or shading."""
    h, w = gray.shape
    k = max(15, int(round(max(h, w) / 25)) | 1)
    # closing removes dark strokes thinner than the kernel and keeps the paper's shading
    bg = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    bg = cv2.blur(bg, (k, k))
    bg = np.maximum(bg.astype(np.float32), 1.0)
    flat = gray.astype(np.float32) / bg * 255.0
    return np.clip(flat, 0, 255).astype(np.uint8)


def clean_gray(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (ink-only grey image with white background, ink mask) at working resolution."""
    h, w = gray.shape
    if max(h, w) > WORK_MAX_SIDE:
        s = WORK_MAX_SIDE / max(h, w)
        gray = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    if int(gray.max()) - int(gray.min()) < 25:
        raise SignatureInputError("blank", "the image has no ink: it is blank or nearly uniform")
    flat = flat_field(gray)
    smooth = cv2.GaussianBlur(flat, (5, 5), 0)
    thr, _ = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask8 = (smooth <= thr).view(np.uint8)  # 0/1, no copy
    # Otsu always splits; demand real contrast between the two classes
    n_ink = cv2.countNonZero(mask8)
    ink_mean = cv2.mean(flat, mask8)[0] if n_ink else 255.0
    paper_mean = cv2.mean(flat, 1 - mask8)[0] if n_ink < mask8.size else 0.0
    if paper_mean - ink_mean < 40:
        raise SignatureInputError("blank", "the image has no ink: nothing stands out from the paper")
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask8, connectivity=8)
    if n > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        # specks are judged at working size, so that a large photo keeps what its smaller copy keeps
        min_area = max(4, int(0.0005 * max(gray.shape) ** 2 / 100))
        if (areas < min_area).any():  # the gather below is the costly part: only when specks exist
            keep = np.zeros(n, np.uint8)
            keep[1:] = areas >= min_area
            mask8 = keep[labels]
    if cv2.countNonZero(mask8) < MIN_INK_PIXELS:
        raise SignatureInputError("blank", "the image has no ink: no signature was found")
    out = flat.copy()
    out[mask8 == 0] = 255
    return out, mask8.view(bool)


def _fit_canvas(ink: np.ndarray, mask: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
    x0, y0, bw, bh = cv2.boundingRect(mask.view(np.uint8))
    y1, x1 = y0 + bh, x0 + bw
    crop = (255 - ink[y0:y1, x0:x1]).astype(np.float32)  # invert: ink bright, background 0
    # normalise ink contrast: the 90th percentile of ink becomes full intensity, so a faint
    # pencil scan, a dark ballpoint and a rendered pad stroke sit on the same scale
    level = float(np.percentile(crop[mask[y0:y1, x0:x1]], 90))
    crop = np.clip(crop * (255.0 / max(level, 1.0)), 0, 255).astype(np.uint8)
    H, W = canvas
    margin = 4
    ch, cw = crop.shape
    s = min((H - 2 * margin) / ch, (W - 2 * margin) / cw)
    nh, nw = max(1, int(round(ch * s))), max(1, int(round(cw * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, (nw, nh), interpolation=interp)
    out = np.zeros((H, W), np.uint8)
    oy, ox = (H - nh) // 2, (W - nw) // 2
    out[oy : oy + nh, ox : ox + nw] = small
    return out


def _is_strokes(source) -> bool:
    if isinstance(source, dict) and "strokes" in source:
        return True
    if isinstance(source, (list, tuple)) and not isinstance(source, (bytes, bytearray)):
        return True
    return False


def load_gray(source: Source) -> tuple[np.ndarray, str]:
    """Decode any accepted source to a uint8 grey image (ink dark) and its kind."""
    gray, _, kind = load_image(source)
    return gray, kind


def load_image(source: Source, colour: bool = False) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(uint8 grey image, ink dark; uint8 RGB of a colour image when ``colour``, else None; kind).
    The grey image is the same whether or not the colour is asked for."""
    if _is_strokes(source):
        return render_strokes(source), None, "strokes"
    if isinstance(source, np.ndarray):
        arr, rgb = source, None
        if arr.ndim == 3:
            rgb = arr[..., :3].astype(np.uint8)
            arr = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if arr.dtype != np.uint8:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        if arr.size > MAX_PIXELS:
            raise SignatureInputError("too_large", f"image is over the {MAX_PIXELS:,} pixel limit")
        return arr, rgb if colour else None, "image"
    gray, rgb = _to_gray(_open_image(source), colour)
    return gray, rgb, "image"


def preprocess_gray(
    gray: np.ndarray, canvas: tuple[int, int] = CANVAS, cleaner=None, rgb: np.ndarray | None = None
) -> np.ndarray:
    """uint8 grey (ink dark) to uint8 (H, W) with ink bright on black, fitted to ``canvas``.
    ``cleaner`` (``ml.cleaner.Cleaner``) first erases printed lines, text and stamps, seeing the
    colour ``rgb`` of the same image when given and when it reads colour."""
    cleaned = _cleaned(gray, cleaner, rgb)
    ink, mask = clean_gray(gray if cleaned is None else cleaned)
    return _fit_canvas(ink, mask, canvas)


def _cleaned(gray: np.ndarray, cleaner, rgb: np.ndarray | None = None) -> np.ndarray | None:
    """The cleaner's output on a scan or photo, or None: no cleaner, or its gate passed the image
    through unchanged (then the image takes the no-cleaner path, at its own size)."""
    if cleaner is None:
        return None
    small = _maybe_downscale(gray)
    cleaned = cleaner(small, None if rgb is None else _maybe_downscale(rgb))
    return None if cleaned is small else cleaned


def _maybe_downscale(gray: np.ndarray) -> np.ndarray:
    """``gray`` (or an RGB image) with its longest side at most WORK_MAX_SIDE."""
    h, w = gray.shape[:2]
    if max(h, w) <= WORK_MAX_SIDE:
        return gray
    s = WORK_MAX_SIDE / max(h, w)
    return cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def prepare(source: Source, canvas: tuple[int, int] = CANVAS, cleaner=None) -> Prepared:
    """Any accepted source to a ``Prepared`` signature. Raises ``SignatureInputError``.
    ``cleaner`` (``ml.cleaner.Cleaner``) is applied to scans and photos, never to strokes;
    the cleaned grey image is then in ``quality["cleaned"]`` (True) and ``Prepared.cleaned``,
    unless the cleaner's gate passed the image through unchanged (then neither is set)."""
    gray, rgb, kind = load_image(source, colour=getattr(cleaner, "colour", False))
    cleaned = _cleaned(gray, cleaner, rgb) if kind == "image" else None
    ink, mask = clean_gray(gray if cleaned is None else cleaned)
    out = _fit_canvas(ink, mask, canvas)
    _, _, bw, bh = cv2.boundingRect(mask.view(np.uint8))
    quality = {
        "ink_fraction": round(cv2.countNonZero(mask.view(np.uint8)) / mask.size, 5),
        "ink_width": int(bw),
        "ink_height": int(bh),
        "source_width": int(gray.shape[1]),
        "source_height": int(gray.shape[0]),
    }
    if kind == "strokes":
        quality.update(stroke_quality(source))
    if cleaned is not None:
        quality["cleaned"] = True
    return Prepared(image=out.astype(np.float32) / 255.0, quality=quality, kind=kind, cleaned=cleaned)


def to_png(image: np.ndarray) -> bytes:
    """A preprocessed image as the model sees it, as PNG bytes (ink bright on black)."""
    arr = image if image.dtype == np.uint8 else np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "L").save(buf, format="PNG")
    return buf.getvalue()
