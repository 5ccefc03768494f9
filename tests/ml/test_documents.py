"""ml.documents.read_pages: formats, EXIF rotation, PDFs, limits and clear errors (generated pages only)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pdf_files import encrypted_pdf
from PIL import Image

from ml.detection import synthpage
from ml.documents import PDF_DPI, Page, read_pages
from ml.errors import DocumentInputError, SignatureInputError


def _encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _pdf(pages: list[np.ndarray], **kw) -> bytes:
    buf = io.BytesIO()
    ims = [Image.fromarray(p) for p in pages]
    ims[0].save(buf, format="PDF", resolution=100.0, save_all=True, append_images=ims[1:], **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def page_rgb():
    return synthpage.page(3, width=400, height=560)[0]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_page_images_read_as_rgb(page_rgb, fmt):
    pages = read_pages(_encode(page_rgb, fmt), name="p")
    assert len(pages) == 1 and isinstance(pages[0], Page)
    p = pages[0]
    assert p.index == 1 and p.image.shape == page_rgb.shape and p.image.dtype == np.uint8
    assert np.abs(p.image.astype(int) - page_rgb.astype(int)).mean() < 3


def test_greyscale_and_dpi():
    gray = np.full((50, 80), 200, np.uint8)
    (p,) = read_pages(_encode(gray, "PNG", dpi=(300, 300)))
    assert p.image.shape == (50, 80, 3) and p.dpi == pytest.approx(300, abs=0.5)
    assert (p.image == 200).all()


def test_exif_rotation_applied():
    arr = np.full((40, 100, 3), 255, np.uint8)
    arr[:, :10] = 0  # a black band on the left of the stored image
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    (p,) = read_pages(buf.getvalue())
    assert p.image.shape == (100, 40, 3)
    assert p.image[:10].mean() < 60 and p.image[-10:].mean() > 200  # the band is now at the top


def test_multipage_pdf_rendered_at_200_dpi(page_rgb):
    blank = np.full_like(page_rgb, 255)
    pages = read_pages(_pdf([page_rgb, blank]), name="doc.pdf")
    assert [p.index for p in pages] == [1, 2]
    h, w = page_rgb.shape[:2]  # saved at 100 dpi, so 200 dpi doubles the size
    ph, pw, c = pages[0].image.shape
    assert abs(ph - 2 * h) <= 1 and abs(pw - 2 * w) <= 1 and c == 3 and pages[0].dpi == PDF_DPI
    assert pages[0].image.mean() < pages[1].image.mean() and pages[1].image.min() > 240


def test_multiframe_tiff_is_several_pages(page_rgb):
    buf = io.BytesIO()
    frames = [Image.fromarray(page_rgb), Image.fromarray(255 - page_rgb)]
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:])
    pages = read_pages(buf.getvalue())
    assert [p.index for p in pages] == [1, 2]
    assert pages[0].image.mean() > pages[1].image.mean()


@pytest.mark.parametrize(
    "data,code",
    [
        (b"", "empty"),
        (b"hello, this is not an image at all", "unreadable"),
        (b"%PDF-1.4\n garbage that is no pdf\n%%EOF", "damaged"),
    ],
)
def test_bad_inputs_raise_clear_errors(data, code):
    with pytest.raises(DocumentInputError) as ei:
        read_pages(data, name="x")
    assert ei.value.code == code and str(ei.value).startswith("x: ")
    assert isinstance(ei.value, SignatureInputError)


def test_truncated_image_is_damaged(page_rgb):
    data = _encode(page_rgb, "PNG")
    with pytest.raises(DocumentInputError) as ei:
        read_pages(data[: len(data) // 2])
    assert ei.value.code == "damaged"


def test_encrypted_pdf_refused():
    data = encrypted_pdf()
    with pytest.raises(DocumentInputError) as ei:
        read_pages(data)
    assert ei.value.code == "encrypted"


def test_limits_checked_before_decoding(page_rgb):
    with pytest.raises(DocumentInputError) as ei:
        read_pages(_encode(page_rgb, "PNG"), max_pixels=400 * 559)
    assert ei.value.code == "too_large"
    with pytest.raises(DocumentInputError) as ei:
        read_pages(_pdf([page_rgb] * 3), max_pages=2)
    assert ei.value.code == "too_many_pages"
    with pytest.raises(DocumentInputError) as ei:  # 200 dpi render of a 400x560 page at 100 dpi
        read_pages(_pdf([page_rgb]), max_pixels=800 * 1120 - 1)
    assert ei.value.code == "too_large"


def test_decompression_bomb_header_refused_without_decoding():
    # a PNG header claiming 30000 x 30000 pixels: refused from the header alone
    import struct
    import zlib

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    with pytest.raises(DocumentInputError) as ei:
        read_pages(data)
    assert ei.value.code == "too_large"


def test_reduce_to_decodes_a_large_jpeg_smaller_and_keeps_its_size():
    arr = np.full((3508, 2480, 3), 255, np.uint8)
    arr[1000:1100, 500:1500] = 0  # a black bar: where it lands shows how the image maps to the page
    data = _encode(arr, "JPEG", quality=95)
    (full,) = read_pages(data)
    (small,) = read_pages(data, reduce_to=1280)
    assert full.size == small.size == (2480, 3508) and full.image.shape == (3508, 2480, 3)
    h, w = small.image.shape[:2]
    assert 1280 <= h < 3508 // 1.5 and w == int(np.ceil(2480 * h / 3508))  # the decoder's own 1/2 scaling
    ys, xs = np.nonzero(small.image[:, :, 0] < 128)
    fx, fy = 2480 / w, 3508 / h
    assert xs.min() * fx == pytest.approx(500, abs=3) and (xs.max() + 1) * fx == pytest.approx(1500, abs=3)
    assert ys.min() * fy == pytest.approx(1000, abs=3) and (ys.max() + 1) * fy == pytest.approx(1100, abs=3)
    (small_png,) = read_pages(_encode(arr, "PNG"), reduce_to=1280)  # no scaled decoding: read whole
    assert small_png.image.shape == (3508, 2480, 3) and small_png.size == (2480, 3508)


def test_reduce_to_size_follows_exif_rotation():
    arr = np.full((2480, 3508, 3), 255, np.uint8)  # stored landscape, displayed portrait
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif.tobytes())
    (p,) = read_pages(buf.getvalue(), reduce_to=1000)
    assert p.size == (2480, 3508) and p.image.shape[:2] == (1754, 1240)


def test_reduce_to_renders_a_pdf_page_smaller_with_its_200_dpi_size(page_rgb):
    data = _pdf([page_rgb])  # 400x560 at 100 dpi: 800x1120 at 200 dpi
    (full,) = read_pages(data)
    (small,) = read_pages(data, reduce_to=370)  # 1120 // 370: a third
    assert full.size == small.size == (full.image.shape[1], full.image.shape[0])  # pdfium's own 200 dpi size
    assert abs(full.size[0] - 800) <= 1 and abs(full.size[1] - 1120) <= 1
    assert abs(small.image.shape[0] - 1120 / 3) <= 1 and abs(small.image.shape[1] - 800 / 3) <= 1
    (same,) = read_pages(data, reduce_to=600)  # under twice 600: rendered as before
    assert same.image.shape == full.image.shape and same.size == full.size
