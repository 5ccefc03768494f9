"""Preprocessing: determinism, every accepted input kind, and the documented errors.

All inputs are generated here from one synthetic signature (``ml.synthetic`` rendered by
``ml.preprocess.render_strokes``), so nothing depends on ``../shared/data``. Each variant
must come out as the (150, 220) float32 image in [0, 1] and close to the clean version.

Measured on the variants below (sigweb-pp-1, unchanged in pp-2): ink-mask IoU >= 0.99 and correlation 1.000
for the lossless ones, IoU 0.90 / corr 0.988 for quality-15 JPEG with noise, IoU 0.97 /
corr 0.999 for the phone-photo-like image. The bounds leave a margin.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from ml import preprocess as pp
from ml import synthetic
from ml.errors import SignatureInputError

from ml_testkit import png_bytes

WRITER = 7
INK_LEVEL = 0.3  # a pixel brighter than this in the output is ink


@pytest.fixture(scope="module")
def strokes():
    return synthetic.genuine(WRITER, 0)


@pytest.fixture(scope="module")
def ink(strokes):
    """uint8 grey, dark ink on white, about 100 x 520 pixels."""
    return pp.render_strokes(strokes, size=500)


@pytest.fixture(scope="module")
def clean(ink):
    return pp.prepare(png_bytes(Image.fromarray(ink, "L"))).image


def ink_iou(a, b) -> float:
    ma, mb = a > INK_LEVEL, b > INK_LEVEL
    return float((ma & mb).sum() / (ma | mb).sum())


def corr(a, b) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _coverage(ink):
    """Ink coverage in [0, 1] (1 = full ink), from the rendered grey image."""
    return (255.0 - ink.astype(np.float64)) / 255.0


def _paper(shape, paper_rgb, ink_rgb, t, pad=0, noise=0.0, gradient=False, seed=0):
    """Ink coverage ``t`` laid onto paper of a colour, with optional margin, shading and noise."""
    rng = np.random.default_rng(seed)
    if pad:
        t = np.pad(t, pad)
    h, w = t.shape
    img = np.asarray(paper_rgb, float) * (1 - t[..., None]) + np.asarray(ink_rgb, float) * t[..., None]
    if gradient:  # a phone photo: light falls off across the sheet
        yy, xx = np.mgrid[0:h, 0:w]
        img = img * (0.55 + 0.45 * (xx / w) * (0.7 + 0.3 * yy / h))[..., None]
    if noise:
        img = img + rng.normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _variants(ink) -> dict[str, tuple[bytes, float, float]]:
    """name -> (encoded bytes, min ink IoU, min correlation) against the clean version."""
    t = _coverage(ink)
    h, w = ink.shape
    out = {}
    # canvas drawing: coloured ink on a transparent background
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3] = (20, 30, 120)
    rgba[..., 3] = np.round(t * 255).astype(np.uint8)
    out["rgba_canvas"] = (png_bytes(Image.fromarray(rgba, "RGBA")), 0.97, 0.99)
    pal = Image.fromarray(ink, "L").convert("RGB").quantize(16)
    assert pal.mode == "P"
    out["palette_png"] = (png_bytes(pal), 0.95, 0.98)
    i16 = Image.fromarray(ink.astype(np.uint16) * 257)
    assert i16.mode == "I;16"
    out["png_16bit"] = (png_bytes(i16), 0.97, 0.99)
    blue_on_cream = _paper((h, w), (200, 190, 160), (30, 40, 150), t)
    out["colour_ink_on_cream_rgb"] = (png_bytes(Image.fromarray(blue_on_cream, "RGB")), 0.97, 0.99)
    gray_paper = _paper((h, w), (170, 170, 170), (25, 25, 25), t)[..., 0]
    out["gray_paper"] = (png_bytes(Image.fromarray(gray_paper, "L")), 0.97, 0.99)
    noisy = _paper((h, w), (200, 190, 160), (30, 40, 150), t, pad=40, noise=8.0, seed=1)
    out["jpeg_q15_noise"] = (png_bytes(Image.fromarray(noisy, "RGB"), "JPEG", quality=15), 0.80, 0.95)
    out["tiff"] = (png_bytes(Image.fromarray(ink, "L"), "TIFF"), 0.97, 0.99)
    out["bmp_rgb"] = (png_bytes(Image.fromarray(blue_on_cream, "RGB"), "BMP"), 0.97, 0.99)
    photo = _paper((h, w), (225, 215, 200), (40, 40, 60), t, pad=60, noise=4.0, gradient=True, seed=2)
    photo = cv2.GaussianBlur(photo, (3, 3), 0)
    out["phone_photo"] = (png_bytes(Image.fromarray(photo, "RGB"), "JPEG", quality=70), 0.88, 0.97)
    return out


def _check_output(img):
    assert img.shape == (150, 220)
    assert img.dtype == np.float32
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
    assert float(img.max()) > 0.9  # ink contrast is normalised to full scale


def test_same_input_gives_bit_identical_output(ink, strokes):
    data = png_bytes(Image.fromarray(ink, "L"))
    a, b = pp.prepare(data).image, pp.prepare(data).image
    assert a.tobytes() == b.tobytes()
    s1, s2 = pp.prepare(strokes).image, pp.prepare(strokes).image
    assert s1.tobytes() == s2.tobytes()


def test_clean_output_shape_and_polarity(clean):
    _check_output(clean)
    assert clean[0, 0] == 0.0 and clean[-1, -1] == 0.0  # background black, ink bright
    assert 0.02 < float((clean > INK_LEVEL).mean()) < 0.5


@pytest.mark.parametrize(
    "name",
    [
        "rgba_canvas",
        "palette_png",
        "png_16bit",
        "colour_ink_on_cream_rgb",
        "gray_paper",
        "jpeg_q15_noise",
        "tiff",
        "bmp_rgb",
        "phone_photo",
    ],
)
def test_input_variant_matches_clean(ink, clean, name):
    data, min_iou, min_corr = _variants(ink)[name]
    first = pp.prepare(data)
    _check_output(first.image)
    assert first.kind == "image"
    assert ink_iou(clean, first.image) >= min_iou
    assert corr(clean, first.image) >= min_corr
    assert pp.prepare(data).image.tobytes() == first.image.tobytes()  # deterministic for every kind


def test_path_pil_and_array_sources_agree(ink, tmp_path):
    data = png_bytes(Image.fromarray(ink, "L"))
    f = tmp_path / "sig.png"
    f.write_bytes(data)
    ref = pp.prepare(data).image
    assert pp.prepare(str(f)).image.tobytes() == ref.tobytes()
    assert pp.prepare(f).image.tobytes() == ref.tobytes()
    assert pp.prepare(Image.open(f)).image.tobytes() == ref.tobytes()
    assert pp.prepare(ink).image.tobytes() == ref.tobytes()


@pytest.mark.parametrize("factor", [2, 4, 6, 8])
def test_a_large_photo_keeps_the_small_marks_its_smaller_copy_keeps(ink, factor):
    """Dots above the signature (i-dots, 5 px wide here) survive however large the photo is.
    Specks are judged at working size: under sigweb-pp-1 they were judged at the input's size,
    so from about 3,000 px wide the dots were dropped, the crop moved and the output changed
    completely (measured IoU 0.006 at 6x and 8x, 0.94 at 2x and 4x; 0.94 at every factor now)."""
    sheet = np.full((ink.shape[0] + 60, ink.shape[1]), 255, np.uint8)
    sheet[60:] = ink
    for x in (80, 200, 330, 450):
        cv2.circle(sheet, (x, 20), 2, 0, -1)
    small = pp.prepare(sheet).image
    large = pp.prepare(cv2.resize(sheet, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)).image
    assert ink_iou(small, large) >= 0.85


def test_pad_strokes_look_like_the_scan(strokes, clean):
    got = pp.prepare(strokes)
    _check_output(got.image)
    assert got.kind == "strokes"
    assert got.quality["points"] == sum(len(s["points"]) for s in strokes)
    # rendered at a different size than the scan, so only roughly alike (measured IoU 0.74)
    assert corr(clean, got.image) > 0.8


def test_signature_pad_format_and_point_lists_give_the_same_image(strokes):
    as_lists = [[[p["x"], p["y"], p["time"], p["pressure"]] for p in s["points"]] for s in strokes]
    as_tuples = [[(p["x"], p["y"], p["time"], p["pressure"]) for p in s["points"]] for s in strokes]
    ref = pp.prepare(strokes).image
    assert pp.prepare(as_lists).image.tobytes() == ref.tobytes()
    assert pp.prepare(as_tuples).image.tobytes() == ref.tobytes()
    assert pp.prepare({"strokes": strokes}).image.tobytes() == ref.tobytes()
    assert np.array_equal(pp.render_strokes(strokes), pp.render_strokes(as_lists))


# --------------------------------------------------------------------------- errors


def _code(source) -> str:
    with pytest.raises(SignatureInputError) as info:
        pp.prepare(source)
    assert "\n" not in str(info.value)  # one line, for CLIs and API responses
    return info.value.code


@pytest.mark.parametrize("mode,colour", [("L", 255), ("L", 128), ("RGB", (128, 120, 100)), ("RGBA", (0, 0, 0, 0))])
def test_blank_images(mode, colour):
    assert _code(png_bytes(Image.new(mode, (400, 200), colour))) == "blank"


def test_blank_noisy_gray_paper():
    rng = np.random.default_rng(0)
    paper = np.clip(150 + rng.normal(0, 3, (200, 400)), 0, 255).astype(np.uint8)
    assert _code(png_bytes(Image.fromarray(paper, "L"))) == "blank"


def test_unreadable_bytes_and_truncated_png(ink, tmp_path):
    assert _code(b"this is not an image at all " * 20) == "unreadable"
    assert _code(b"") == "unreadable"
    full = png_bytes(Image.fromarray(ink, "L"))
    assert _code(full[: len(full) // 2]) == "unreadable"
    assert _code(full[:60]) == "unreadable"
    assert _code(str(tmp_path / "missing.png")) == "unreadable"
    assert _code(Image.new("L", (4, 4), 0)) == "unreadable"  # too small to be a signature


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` 1-bit pixels, with almost no data."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_too_large_is_refused_before_decoding():
    # over ml's cap (40 MP) but under Pillow's bomb limit: ml's own check must refuse it
    assert _code(_png_header_only(9000, 6000)) == "too_large"
    # far over Pillow's limit: Pillow's DecompressionBombError is mapped to the same code
    assert _code(_png_header_only(100_000, 100_000)) == "too_large"


def test_real_decompression_bomb(monkeypatch):
    # a genuine, fully valid 1-bit PNG: about 17 kB on disk, 48 MP when decoded
    bomb = png_bytes(Image.new("1", (8000, 6000), 1))
    assert len(bomb) < 100_000

    def no_decoding(self, *a, **k):
        raise AssertionError("the pixel cap must be checked before decoding")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert _code(bomb) == "too_large"


def test_pixel_cap_applies_to_arrays_and_small_caps(monkeypatch, ink):
    monkeypatch.setattr(pp, "MAX_PIXELS", 1_000_000)
    assert _code(np.zeros((1100, 1000), np.uint8)) == "too_large"
    assert _code(png_bytes(Image.new("L", (1001, 1000), 255))) == "too_large"
    _check_output(pp.prepare(png_bytes(Image.fromarray(ink, "L"))).image)  # under the cap: fine


def test_too_few_points():
    one_stroke = [{"points": [{"x": i, "y": i, "time": i, "pressure": 0.5} for i in range(5)]}]
    assert _code(one_stroke) == "too_few_points"
    assert _code([[[i, 0, 0, 0.5] for i in range(3)], [[i, 5] for i in range(6)]]) == "too_few_points"  # 9 points
    assert _code([[], []]) == "too_few_points"


@pytest.mark.parametrize(
    "bad",
    [
        [],
        ["abc"],
        [5, 6],
        [[1, 2], [3, 4]],  # points, not strokes of points
        [[["a", "b"]] * 20],
        [[{"x": 1}] * 20],
        [[[float("nan"), 1.0]] * 20],
        {"strokes": "x"},
    ],
)
def test_invalid_strokes(bad):
    assert _code(bad) == "invalid_strokes"


def test_strokes_with_no_extent_are_blank():
    assert _code([[[3, 3, i, 0.5] for i in range(20)]]) == "blank"
