"""Checking a signature input (image bytes or pad strokes) before anything is stored.

Cheap checks come first (size, image header, stroke structure), so an oversize upload or a
decompression bomb is refused before it is decoded; then the engine's own preprocessing
runs, whose ``SignatureInputError`` codes become the API's error codes.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from verification.errors import DomainError
from verification.ml_engine import SignatureEngine, SignatureInputError, image_pixel_limit, strokes_check

_STATUS_FOR_CODE = {"too_large": 413}


@dataclass
class CheckedSignature:
    kind: str  # "image" or "strokes"
    image: bytes | None
    content_type: str
    strokes: list | None
    prepared: Any
    preview_png: bytes

    @property
    def source(self):
        """What the engine is given: the original bytes or strokes (deterministic to re-prepare)."""
        return self.image if self.kind == "image" else self.strokes

    @property
    def quality(self) -> dict:
        """The engine's quality measures as JSON-safe values, for a model's JSONField."""
        out = {}
        for k, v in (self.prepared.quality or {}).items():
            try:
                out[str(k)] = v if isinstance(v, (str, bool, int)) or v is None else float(v)
            except (TypeError, ValueError):
                out[str(k)] = str(v)
        return out


def upload_size_check(size: int | None) -> None:
    """The one upload size rule (``SIGWEB_MAX_UPLOAD_BYTES``): 413 ``too_large`` above it."""
    if size is not None and size > settings.SIGWEB_MAX_UPLOAD_BYTES:
        raise DomainError(
            f"The upload is {size} bytes; the limit is {settings.SIGWEB_MAX_UPLOAD_BYTES}",
            code="too_large",
            status=413,
        )


def upload_read(upload) -> bytes:
    """An uploaded file's bytes, refused (413) when it is over the limit, before or after reading."""
    upload_size_check(upload.size)
    data = upload.read(settings.SIGWEB_MAX_UPLOAD_BYTES + 1)
    upload_size_check(len(data))
    return data


def _check_image_bytes(data: bytes) -> str:
    if len(data) == 0:
        raise DomainError("The uploaded file is empty", code="unreadable")
    upload_size_check(len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:  # reads the header only
                width, height = im.size
                fmt = (im.format or "").lower()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DomainError("The file is not a readable image (PNG, JPEG, TIFF, BMP, ...)", code="unreadable") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError("The image has too many pixels (decompression bomb?)", code="too_large", status=413) from None
    limit = image_pixel_limit()
    if width * height > limit:
        raise DomainError(
            f"The image is {width}x{height} pixels; the limit is {limit} pixels",
            code="too_large",
            status=413,
        )
    return f"image/{fmt}" if fmt else "application/octet-stream"


# A JSON point costs at most this many bytes ({"x": .., "y": .., "time": .., "pressure": ..}
# with long decimals); a signature's JSON body may be no larger than the caps need.
_BYTES_PER_POINT = 160
_BODY_OVERHEAD = 64 * 1024


def strokes_body_limit() -> int:
    """The largest JSON body (bytes) a signature with the most points allowed can need."""
    return settings.SIGWEB_MAX_STROKE_POINTS * _BYTES_PER_POINT + settings.SIGWEB_MAX_STROKES * 32 + _BODY_OVERHEAD


def signature_check(*, engine: SignatureEngine, image: bytes | None = None, strokes: Any = None) -> CheckedSignature:
    """Validate and preprocess one signature; raises DomainError (4xx) on bad input."""
    if (image is None) == (strokes is None):
        raise DomainError("Send exactly one of an image file or strokes", code="invalid")
    if image is not None:
        content_type = _check_image_bytes(image)
        source: Any = image
    else:
        content_type = ""
        source = strokes
    try:
        if strokes is not None:
            strokes_check(strokes)  # structure and size limits before anything is parsed
        prepared = engine.prepare(source)
        preview = engine.preview_png(prepared)
    except SignatureInputError as exc:
        raise DomainError(str(exc), code=exc.code, status=_STATUS_FOR_CODE.get(exc.code, 400)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError("The image has too many pixels (decompression bomb?)", code="too_large", status=413) from None
    return CheckedSignature(
        kind="image" if image is not None else "strokes",
        image=image,
        content_type=content_type,
        strokes=strokes,
        prepared=prepared,
        preview_png=preview,
    )


def signature_cleaned_png(*, engine: SignatureEngine, image: bytes | None) -> bytes | None:
    """An uploaded image after the engine's cleaning (printed lines, text and stamps erased), as PNG;
    None for pad strokes, erased images, an engine that does not clean, or an image it refuses."""
    if not image:
        return None
    try:
        return engine.cleaned_png(engine.prepare(bytes(image)))
    except SignatureInputError:
        return None
