"""Document pages: the one owner of page decoding and page limits.

``read_pages(data, name=..., max_pages=..., max_pixels=...)`` turns the bytes of a page
image (PNG, JPEG, TIFF, BMP, WebP; EXIF orientation applied; every frame of a multi-frame
TIFF is a page) or of a PDF (every page rendered at ``PDF_DPI`` with pypdfium2) into
``Page(index, image, dpi, size)`` records, ``index`` counted from 1, ``image`` an HxWx3 uint8
RGB array and ``size`` the page's (width, height) as read. Sizes are checked before anything
is decoded or rendered, so a decompression bomb costs nothing.
``read_pages(..., reduce_to=N)`` may decode a page at least twice N long smaller, its long side
still at least N: a JPEG by its decoder's own scaling (1/2, 1/4 or 1/8: far less work than
decoding it whole), a PDF page rendered at ``PDF_DPI`` divided by a whole factor. ``size``
stays the page as read without it (a PDF page at ``PDF_DPI``), so boxes found on ``image`` map
back to it. Every failure raises ``ml.errors.DocumentInputError`` with a code:
``empty``, ``unreadable``, ``encrypted``, ``damaged``, ``too_many_pages``, ``too_large``.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ml.errors import DocumentInputError

PDF_DPI = 200.0
MAX_PAGES = 50
MAX_PIXELS = 40_000_000
IMAGE_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP")
SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


@dataclass(frozen=True)
class Page:
    index: int  # 1-based
    image: np.ndarray  # HxWx3 uint8 RGB
    dpi: float | None
    size: tuple[int, int] = (0, 0)  # (width, height) of the page as read; image may be smaller (reduce_to)

    def __post_init__(self):
        if self.size == (0, 0):
            object.__setattr__(self, "size", (int(self.image.shape[1]), int(self.image.shape[0])))


def is_pdf(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


def _label(name: str) -> str:
    return f"{name}: " if name else ""


def read_pages(
    data: bytes, *, name: str = "", max_pages: int = MAX_PAGES, max_pixels: int = MAX_PIXELS, reduce_to: int | None = None
) -> list[Page]:
    """All pages of a page image or PDF as RGB arrays (see the module docstring)."""
    if not data:
        raise DocumentInputError("empty", f"{_label(name)}the file is empty")
    if is_pdf(data):
        return _pdf_pages(data, name, max_pages, max_pixels, reduce_to)
    return _image_pages(data, name, max_pages, max_pixels, reduce_to)


def _check_size(w: float, h: float, index: int, name: str, max_pixels: int) -> None:
    if w * h > max_pixels:
        raise DocumentInputError(
            "too_large", f"{_label(name)}page {index} is {int(w)}x{int(h)} pixels, more than the limit of {max_pixels} pixels"
        )


def _check_count(n: int, name: str, max_pages: int) -> None:
    if n > max_pages:
        raise DocumentInputError(
            "too_many_pages", f"{_label(name)}the document has {n} pages, more than the limit of {max_pages}"
        )


def _pdf_pages(data: bytes, name: str, max_pages: int, max_pixels: int, reduce_to: int | None) -> list[Page]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise DocumentInputError("encrypted", f"{_label(name)}the PDF is encrypted (password protected)") from None
        raise DocumentInputError("damaged", f"{_label(name)}the PDF is damaged and cannot be read") from None
    try:
        n = len(pdf)
        if n == 0:
            raise DocumentInputError("damaged", f"{_label(name)}the PDF has no pages")
        _check_count(n, name, max_pages)
        scale = PDF_DPI / 72.0
        for i in range(n):  # every size first: nothing is rendered for a document that will be refused
            w, h = pdf[i].get_size()
            _check_size(w * scale, h * scale, i + 1, name, max_pixels)
        pages = []
        for i in range(n):
            w, h = pdf[i].get_size()
            full = (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale)))  # pdfium's bitmap size at PDF_DPI
            page_scale = scale / max(1, max(full) // reduce_to) if reduce_to else scale
            try:
                bitmap = pdf[i].render(scale=page_scale, rev_byteorder=True)
                arr = np.asarray(bitmap.to_numpy())[:, :, :3]
            except pdfium.PdfiumError:
                raise DocumentInputError("damaged", f"{_label(name)}page {i + 1} of the PDF cannot be rendered") from None
            size = full if page_scale < scale else (0, 0)
            pages.append(Page(index=i + 1, image=np.ascontiguousarray(arr, dtype=np.uint8), dpi=PDF_DPI, size=size))
        return pages
    finally:
        pdf.close()


def _to_rgb(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or float scans: stretch to 8 bits
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = np.zeros_like(a) if hi <= lo else (a - lo) * (255.0 / (hi - lo))
        im = Image.fromarray(a.round().astype(np.uint8), mode="L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)  # transparent paper is white paper
    return np.ascontiguousarray(np.asarray(im if im.mode == "RGB" else im.convert("RGB"), dtype=np.uint8))


def _dpi(im: Image.Image) -> float | None:
    dpi = im.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else None
    except (TypeError, ValueError, IndexError):
        return None
    return value if value and value > 1 else None


def _image_pages(data: bytes, name: str, max_pages: int, max_pixels: int, reduce_to: int | None) -> list[Page]:
    unreadable = f"{_label(name)}not a readable page image or PDF (accepted: PDF, {', '.join(IMAGE_FORMATS)})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
    except Image.DecompressionBombError:
        raise DocumentInputError(
            "too_large", f"{_label(name)}the image is larger than the limit of {max_pixels} pixels"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise DocumentInputError("unreadable", unreadable) from None
    n = int(getattr(im, "n_frames", 1) or 1)
    _check_count(n, name, max_pages)
    pages = []
    try:
        for i in range(n):
            im.seek(i)
            _check_size(im.size[0], im.size[1], i + 1, name, max_pixels)  # header size: nothing decoded yet
            w, h = im.size
            if reduce_to and im.format == "JPEG" and max(w, h) >= 2 * reduce_to:
                f = reduce_to / max(w, h)  # the decoder picks the strongest scaling that stays at least this big
                im.draft(im.mode, (int(np.ceil(w * f)), int(np.ceil(h * f))))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im.load()
                turned = im.getexif().get(0x0112, 1) in range(2, 9)  # EXIF orientations other than upright
                frame = ImageOps.exif_transpose(im) if turned else im  # (without one it would only copy the page)
                if turned and frame.size != im.size:  # turned by 90 degrees
                    w, h = h, w
                pages.append(Page(index=i + 1, image=_to_rgb(frame), dpi=_dpi(im), size=(w, h)))
    except DocumentInputError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        raise DocumentInputError("damaged", f"{_label(name)}the image is damaged or truncated and cannot be decoded") from None
    return pages
